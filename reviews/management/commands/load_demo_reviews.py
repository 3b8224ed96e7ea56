"""Venues with their next deadlines, a few drafts with PDFs, and a published review round for the
demo lab; safe to run again (drafts are found by title, the round by name)."""

from datetime import date, datetime, time, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from lab_portal.models import User
from reviews import rounds, services
from reviews.models import (
    ANYWHERE_ON_EARTH,
    Deadline,
    Draft,
    DraftComment,
    Review,
    ReviewAssignment,
    ReviewRound,
    Venue,
)
from reviews.uploads import check_pdf

# short name, name, website, (month, day) of the usual paper deadline
VENUES = [
    (
        "CVPR",
        "IEEE/CVF Conference on Computer Vision and Pattern Recognition",
        "https://cvpr.thecvf.com",
        (11, 14),
    ),
    ("ICCV", "IEEE/CVF International Conference on Computer Vision", "https://iccv.thecvf.com", (3, 7)),
    ("ECCV", "European Conference on Computer Vision", "https://eccv.ecva.net", (3, 7)),
    ("NeurIPS", "Conference on Neural Information Processing Systems", "https://neurips.cc", (5, 15)),
    ("ICML", "International Conference on Machine Learning", "https://icml.cc", (1, 30)),
    ("ICLR", "International Conference on Learning Representations", "https://iclr.cc", (9, 27)),
    (
        "ACL",
        "Annual Meeting of the Association for Computational Linguistics",
        "https://www.aclweb.org",
        (2, 15),
    ),
    (
        "EMNLP",
        "Conference on Empirical Methods in Natural Language Processing",
        "https://www.aclweb.org",
        (5, 19),
    ),
    ("NAACL", "Annual Conference of the NAACL", "https://naacl.org", (10, 15)),
    ("Interspeech", "Interspeech", "https://www.isca-archive.org", (3, 1)),
    (
        "ICASSP",
        "IEEE International Conference on Acoustics, Speech and Signal Processing",
        "https://ieeeicassp.org",
        (9, 15),
    ),
]

# author, co-authors, venue, title, abstract, status, anonymous
DRAFTS = [
    (
        "taeho",
        ["jiwoo"],
        "ICML",
        "Self-verifying chains of thought",
        "Language models that check each step of their own reasoning. We train a verifier head that "
        "scores every step $s_t$ with $p(\\text{valid} \\mid s_{\\le t})$ and backtracks below a "
        "threshold, improving **GSM8K** accuracy without a larger model.",
        Draft.Status.IN_REVIEW,
        True,
    ),
    (
        "minji",
        ["hana"],
        "ICML",
        "Consistency distillation for long video diffusion",
        "Distilling a video diffusion model into a four-step sampler that keeps temporal consistency "
        "over 256 frames.",
        Draft.Status.IN_REVIEW,
        False,
    ),
    (
        "chaewon",
        [],
        "Interspeech",
        "Streaming speech recognition with chunked state-space models",
        "A streaming recogniser built from state-space layers that processes 80 ms chunks with a "
        "word error rate close to a full-context model.",
        Draft.Status.DRAFT,
        False,
    ),
    (
        "jaehyun",
        ["jiwoo"],
        "ACL",
        "Retrieval that knows when to stop",
        "A retriever that decides, per question, whether more passages would help, halving "
        "retrieval calls at equal answer accuracy.",
        Draft.Status.ACCEPTED,
        False,
    ),
]

REVIEW = {
    "summary": "The draft trains a verifier head that scores each reasoning step and backtracks.",
    "strengths": "- Simple idea, clearly motivated\n- Gains on GSM8K without a larger model",
    "weaknesses": "- Only one benchmark\n- The threshold is tuned on the test set (Table 2)",
    "questions": "How often does the model backtrack more than twice?",
    "experiments": "MATH and a held-out threshold; an ablation without the verifier's step context.",
    "soundness": 3,
    "novelty": 3,
    "clarity": 4,
    "overall": 4,
    "confidence": 4,
}


def demo_pdf(title: str) -> bytes:
    """A real one-page PDF with the title on it (offsets computed, so viewers open it)."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def next_deadline(month: int, day: int, today: date) -> datetime:
    """23:59 Anywhere on Earth on the next (month, day) at least three weeks away."""
    year = today.year
    while date(year, month, day) < today + timedelta(days=21):
        year += 1
    return datetime.combine(
        date(year, month, day), time(23, 59), tzinfo=timezone.get_fixed_timezone(-12 * 60)
    )


class Command(BaseCommand):
    help = "Demo reviews: venues and deadlines, three drafts, a published ICML round with reviews."

    def handle(self, *args, **options):
        people = {u.username: u for u in User.objects.filter(is_active=True)}
        if "jiwoo" not in people or "taeho" not in people:
            self.stdout.write("No demo people yet: run seed_demo.")
            return
        today = timezone.localdate()
        with transaction.atomic():
            venues = {}
            for short, name, url, (month, day) in VENUES:
                venue, _ = Venue.objects.get_or_create(short_name=short, defaults={"name": name, "url": url})
                when = next_deadline(month, day, today)
                Deadline.objects.get_or_create(
                    venue=venue,
                    paper_deadline=when,
                    defaults={
                        "year": when.year,
                        "abstract_deadline": when - timedelta(days=7),
                        "timezone": ANYWHERE_ON_EARTH,
                    },
                )
                venues[short] = venue
            drafts = [self._draft(people, venues, *row) for row in DRAFTS]
            self._round(people, [d for d in drafts if d.status == Draft.Status.IN_REVIEW], today)
        self.stdout.write(f"Demo reviews: {len(venues)} venues, {len(drafts)} drafts.")

    def _draft(self, people, venues, author, coauthors, venue, title, abstract, status, anonymous) -> Draft:
        draft = Draft.objects.filter(title=title).first()
        if draft is not None:
            return draft
        deadline = venues[venue].deadlines.upcoming().first()
        if status == Draft.Status.ACCEPTED:
            # Accepted at last year's meeting: the start of the lab's publication record.
            last = deadline.paper_deadline.replace(year=deadline.paper_deadline.year - 1)
            deadline, _ = Deadline.objects.get_or_create(
                venue=deadline.venue, paper_deadline=last, defaults={"year": last.year}
            )
        upload = SimpleUploadedFile("draft.pdf", demo_pdf(title), "application/pdf")
        return services.create_draft(
            Draft(
                title=title,
                abstract=abstract,
                deadline=deadline,
                status=status,
                status_changed_at=timezone.now() if status == Draft.Status.ACCEPTED else None,
                anonymous=anonymous,
                review_by=deadline.default_review_by(),
            ),
            by=people[author],
            coauthors=[people[name] for name in coauthors if name in people],
            upload=upload,
            checked=check_pdf(upload),
            note="First full draft",
        )

    def _round(self, people, drafts, today) -> None:
        if not drafts or ReviewRound.objects.filter(name="ICML internal review").exists():
            return
        round = rounds.open_round(
            by=people["jiwoo"],
            drafts=drafts,
            name="ICML internal review",
            reviewers_per_draft=2,
            max_load=2,
            due=today + timedelta(days=5),
        )
        # The real solver plans it; the demo writes the rows itself so seeding e-mails nobody.
        plan = rounds.plan_round(round)
        now = timezone.now()
        ReviewAssignment.objects.bulk_create(
            ReviewAssignment(
                draft_id=d, reviewer_id=r, round=round, due=round.due, affinity=plan.scores.value(d, r)
            )
            for d, r in plan.pairs
        )
        round.status, round.published_at = ReviewRound.Status.PUBLISHED, now
        round.save(update_fields=["status", "published_at"])
        first = drafts[0]
        # One more by hand, so the demo researcher (minji) owes a review on her dashboard; due on
        # the draft's one date, its round's, like every review of it.
        if "minji" in people and not first.authors.filter(person=people["minji"]).exists():
            ReviewAssignment.objects.get_or_create(
                draft=first, reviewer=people["minji"], defaults={"due": round.due}
            )
        done = first.assignments.filter(round=round).order_by("pk").first()
        if done is not None:
            Review.objects.create(
                assignment=done,
                version=first.latest_version,
                status=Review.Status.SUBMITTED,
                submitted_at=now,
                revision=1,
                **REVIEW,
            )
            DraftComment.objects.create(
                draft=first,
                author=first.created_by,
                body="Thank you! We will add MATH and tune the threshold on a held-out split.",
            )
