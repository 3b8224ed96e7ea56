from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from lab_portal.models import Team, User

DEMO_PASSWORD = "labportal-demo"  # noqa: S105 (published on purpose: the demo lab)

TEAMS = [
    ("vision", "Vision", "Image and video understanding, generative vision models."),
    ("language", "Language", "Large language models, reasoning, retrieval and dialogue."),
    ("speech", "Speech", "Speech recognition, synthesis and audio understanding."),
    ("foundations", "ML Foundations", "Optimisation, learning theory and efficient training."),
]

# username, display name, team, role, time zone, names on arXiv, research interests
PEOPLE = [
    ("admin", "Portal Admin", None, User.Role.ADMIN, "Asia/Seoul", [], ""),
    (
        "jiwoo",
        "Jiwoo Park",
        "language",
        User.Role.LEAD,
        "Asia/Seoul",
        ["Jiwoo Park", "J. Park"],
        "large language models, reasoning, evaluation",
    ),
    (
        "minji",
        "Minji Kim",
        "vision",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Minji Kim", "M. Kim"],
        "diffusion models, image generation, video",
    ),
    (
        "seojun",
        "Seojun Lee",
        "vision",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Seojun Lee"],
        "3D reconstruction, neural rendering, gaussian splatting",
    ),
    (
        "hana",
        "Hana Choi",
        "vision",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Hana Choi"],
        "vision-language models, multimodal benchmarks",
    ),
    (
        "doyoon",
        "Doyoon Jung",
        "vision",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Doyoon Jung"],
        "object detection, segmentation, remote sensing",
    ),
    (
        "yuna",
        "Yuna Kang",
        "vision",
        User.Role.RESEARCHER,
        "Europe/London",
        ["Yuna Kang"],
        "medical imaging, self-supervised learning",
    ),
    (
        "taeho",
        "Taeho Yoon",
        "language",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Taeho Yoon", "T. Yoon"],
        "retrieval-augmented generation, information retrieval",
    ),
    (
        "sora",
        "Sora Han",
        "language",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Sora Han"],
        "agents, tool use, planning",
    ),
    (
        "jaehyun",
        "Jaehyun Lim",
        "language",
        User.Role.RESEARCHER,
        "America/Los_Angeles",
        ["Jaehyun Lim"],
        "alignment, reinforcement learning from human feedback, safety",
    ),
    (
        "eunbi",
        "Eunbi Shin",
        "language",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Eunbi Shin"],
        "multilingual models, Korean NLP, machine translation",
    ),
    (
        "woojin",
        "Woojin Oh",
        "language",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Woojin Oh"],
        "code generation, program synthesis",
    ),
    (
        "chaewon",
        "Chaewon Seo",
        "speech",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Chaewon Seo"],
        "speech recognition, spoken language understanding",
    ),
    (
        "hyunwoo",
        "Hyunwoo Kwon",
        "speech",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Hyunwoo Kwon"],
        "text-to-speech, voice conversion",
    ),
    (
        "jisoo",
        "Jisoo Hwang",
        "speech",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Jisoo Hwang"],
        "audio language models, music understanding",
    ),
    (
        "minho",
        "Minho Song",
        "foundations",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Minho Song"],
        "optimisation, scaling laws, efficient training",
    ),
    (
        "yerin",
        "Yerin Jeon",
        "foundations",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Yerin Jeon"],
        "learning theory, generalisation",
    ),
    (
        "dongha",
        "Dongha Ahn",
        "foundations",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Dongha Ahn"],
        "quantisation, model compression, inference efficiency",
    ),
    (
        "sunwoo",
        "Sunwoo Baek",
        "foundations",
        User.Role.RESEARCHER,
        "Asia/Seoul",
        ["Sunwoo Baek"],
        "graph neural networks, recommendation",
    ),
    (
        "alex",
        "Alex Moreau",
        "foundations",
        User.Role.RESEARCHER,
        "Europe/Paris",
        ["Alex Moreau", "A. Moreau"],
        "federated learning, privacy",
    ),
]


class Command(BaseCommand):
    help = "Create a demo lab (teams, about twenty people, 300 real papers). Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Seed even with DEBUG off (the demo password is public)."
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a published password; with DEBUG off, pass --force "
                "if this really is a demo machine."
            )
        # One hash for everyone: the demo password is public anyway, and hashing is slow on purpose.
        password = make_password(DEMO_PASSWORD)
        with transaction.atomic():
            teams = {
                slug: Team.objects.get_or_create(slug=slug, defaults={"name": name, "description": about})[0]
                for slug, name, about in TEAMS
            }
            created = 0
            for username, name, team, role, zone, arxiv_names, interests in PEOPLE:
                person, was_created = User.objects.get_or_create(
                    username=username,
                    defaults={
                        "display_name": name,
                        "email": f"{username}@lab.example.org",
                        "team": teams.get(team),
                        "role": role,
                        "is_staff": role == User.Role.ADMIN,
                        "is_superuser": role == User.Role.ADMIN,
                        "timezone": zone,
                        "arxiv_names": arxiv_names,
                        "research_interests": interests,
                        "password": password,
                    },
                )
                created += was_created
                if role == User.Role.LEAD and team:
                    teams[team].leads.add(person)

        # By name, not by import: lab_portal stays independent of the apps it hosts.
        # Dated as lately announced, so the demo is live whatever day it is seeded (again).
        call_command("load_demo_papers", recent=True, stdout=self.stdout)
        call_command("load_demo_talks", stdout=self.stdout)
        call_command("load_demo_library", stdout=self.stdout)
        call_command("load_demo_reviews", stdout=self.stdout)
        self.stdout.write(f"Demo lab: {len(teams)} teams, {len(PEOPLE)} people ({created} new this run).")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo logins (password “{DEMO_PASSWORD}”): researcher minji, lead jiwoo, admin admin"
            )
        )
