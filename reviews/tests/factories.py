"""Venues, deadlines, drafts and PDF bytes for tests."""

from datetime import UTC, datetime, timedelta
from itertools import count

from django.core.files.uploadedfile import SimpleUploadedFile

from reviews import services
from reviews.models import ANYWHERE_ON_EARTH, Deadline, Draft, ReviewAssignment, Venue
from reviews.uploads import check_pdf

_numbers = count(1)


def pdf_bytes(body: bytes = b"", *, trailer: bytes = b"/Root 1 0 R") -> bytes:
    """A small PDF in the shape real ones have: header, an object, a trailer, %%EOF."""
    return (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        + body
        + b"\ntrailer\n<< /Size 3 "
        + trailer
        + b" >>\nstartxref\n9\n%%EOF\n"
    )


def pdf_upload(content: bytes | None = None, name: str = "draft.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes() if content is None else content, "application/pdf")


def make_venue(**fields) -> Venue:
    number = next(_numbers)
    fields.setdefault("short_name", f"VENUE{number}")
    fields.setdefault("name", f"Conference number {number}")
    return Venue.objects.create(**fields)


def make_deadline(venue: Venue | None = None, **fields) -> Deadline:
    """A deadline 60 days ahead at 23:59 Anywhere on Earth."""
    aoe = datetime.now(UTC) + timedelta(days=60)
    fields.setdefault("paper_deadline", aoe.replace(hour=11, minute=59, second=0, microsecond=0))
    fields.setdefault("year", fields["paper_deadline"].year)
    fields.setdefault("timezone", ANYWHERE_ON_EARTH)
    return Deadline.objects.create(venue=venue or make_venue(), **fields)


def make_draft(author, *, reviewers=(), coauthors=(), deadline=None, **fields) -> Draft:
    """A draft by `author` with one PDF version, saved through the service as the view does."""
    deadline = deadline or make_deadline()
    fields.setdefault("title", f"Draft number {next(_numbers)}")
    fields.setdefault("abstract", "We study $x^2$.")
    fields.setdefault("review_by", deadline.default_review_by())
    upload = pdf_upload()
    draft = services.create_draft(
        Draft(deadline=deadline, **fields),
        by=author,
        coauthors=coauthors,
        upload=upload,
        checked=check_pdf(upload),
        note="First version",
    )
    ReviewAssignment.objects.bulk_create(
        ReviewAssignment(draft=draft, reviewer=r, due=draft.review_by) for r in reviewers
    )
    return draft
