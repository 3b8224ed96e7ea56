"""Rooms, two weekly series and their next talks for the demo lab; safe to run again."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from lab_portal.models import User
from papers.models import Paper
from seminars.models import Kind, Room, Series, Talk, TalkRequest
from seminars.services import cancel_talk, generate_series_talks

ABSTRACT = (
    "Diffusion models learn to reverse a noising process. We show that the training loss "
    "$\\mathcal{L} = \\mathbb{E}_{t, x_0, \\epsilon} "
    "\\lVert \\epsilon - \\epsilon_\\theta(x_t, t) \\rVert^2$ "
    "can be read as denoising score matching, and what follows for **sampling speed**."
)


class Command(BaseCommand):
    help = "Demo seminars: rooms, a weekly Techtalk and a team seminar, eight weeks ahead."

    def handle(self, *args, **options):
        lead = User.objects.filter(username="jiwoo").first()
        speaker = User.objects.filter(username="minji").first()
        if lead is None or speaker is None:
            self.stdout.write("No demo people yet: run seed_demo.")
            return
        with transaction.atomic():
            hall, _ = Room.objects.get_or_create(
                name="Hall A", defaults={"seats": 60, "location": "Building 2"}
            )
            small, _ = Room.objects.get_or_create(
                name="Seminar room 3",
                defaults={
                    "seats": 16,
                    "location": "Building 1",
                    "video_link": "https://meet.example.org/room3",
                },
            )
            techtalk, _ = Series.objects.get_or_create(
                slug="weekly-techtalk",
                defaults={
                    "name": "Weekly Techtalk",
                    "kind": Kind.TECHTALK,
                    "description": "Invited speakers from outside the lab, every Thursday.",
                    "host": lead,
                    "room": hall,
                    "weekday": 3,
                    "start_time": time(16, 0),
                    "duration_minutes": 90,
                    "timezone": "Asia/Seoul",
                    "capacity": 60,
                },
            )
            vision, _ = Series.objects.get_or_create(
                slug="vision-team-seminar",
                defaults={
                    "name": "Vision team seminar",
                    "kind": Kind.SEMINAR,
                    "description": "First results and nearly finished papers from the vision team.",
                    "host": lead,
                    "room": small,
                    "weekday": 1,
                    "start_time": time(10, 30),
                    "duration_minutes": 60,
                    "timezone": "Asia/Seoul",
                    "capacity": 16,
                },
            )
            until = timezone.localdate() + timedelta(weeks=8)
            created = len(generate_series_talks(techtalk, until=until).created)
            created += len(generate_series_talks(vision, until=until).created)
            talks = list(techtalk.talks.filter(status=Talk.Status.SCHEDULED).order_by("starts_at")[:3])
            if talks and talks[0].is_tba:
                first = talks[0]
                first.title = "Why diffusion models train well"
                first.abstract = ABSTRACT
                first.speaker_name = "Dana Whitfield"
                first.speaker_affiliation = "Example University"
                first.speaker_timezone = "America/Los_Angeles"
                first.speaker_bio = "Dana works on generative models and their theory."
                first.save()
                first.related_papers.set(Paper.objects.order_by("-first_announced", "arxiv_id")[:2])
            if len(talks) == 3 and talks[2].is_tba:
                cancel_talk(talks[2])
            first_seminar = vision.talks.filter(status=Talk.Status.SCHEDULED).order_by("starts_at").first()
            if first_seminar and first_seminar.is_tba:
                first_seminar.title = "First results: open-vocabulary segmentation of aerial images"
                first_seminar.speaker_user = speaker
                first_seminar.speaker_name = ""
                first_seminar.save()
            if not Talk.objects.filter(series=None).exists():
                # A one-off reading group at 17:00 Seoul time today, or tomorrow once that has
                # passed, so the demo's dashboard has a talk this week on almost any day.
                seoul = ZoneInfo("Asia/Seoul")
                starts = datetime.combine(timezone.now().astimezone(seoul).date(), time(17, 0), tzinfo=seoul)
                if starts <= timezone.now():
                    starts += timedelta(days=1)
                reading = Talk.objects.create(
                    kind=Kind.SEMINAR,
                    title="Reading group: this week's papers",
                    abstract="We read two papers from the feed; bring questions.",
                    speaker_user=speaker,
                    host=lead,
                    room=small,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                    timezone="Asia/Seoul",
                    capacity=small.seats,
                )
                reading.related_papers.set(Paper.objects.order_by("-first_announced", "arxiv_id")[2:4])
                created += 1
            if not TalkRequest.objects.exists():
                TalkRequest.objects.create(
                    requester=speaker,
                    kind=TalkRequest.Kind.OWN_WORK,
                    title="Nearly done: our CVPR submission on sparse attention",
                    notes="Would like feedback two weeks before the deadline.",
                )
                paper = Paper.objects.order_by("-first_announced", "arxiv_id").first()
                if paper:
                    TalkRequest.objects.create(
                        requester=speaker, kind=TalkRequest.Kind.PAPER, paper=paper, title=paper.title
                    )
        self.stdout.write(f"Demo seminars: 2 rooms, 2 series, {created} new talks.")
