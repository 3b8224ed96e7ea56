"""`manage.py inventory`: what the portal holds, one line per kind, for comparing two portals.

Each line is a kind (people, papers, talks, ...), how many there are, and a digest of their
content in primary-key order, so a backup restored elsewhere prints exactly the same lines. The
files line reads every uploaded file back from the storage and checks it against its row's
SHA-256 (drafts) or its size (talks), so a restore that lost a file shows it.
"""

import hashlib

from django.core.management.base import BaseCommand, CommandError

from lab_portal.models import Team, User
from papers.models import Bookmark, FetchRun, Paper
from reviews.models import Draft, DraftVersion, Review, ReviewAssignment
from seminars.models import Registration, Talk

# The fields that make each kind what it is to the lab (not timestamps of their own rows' writes).
KINDS = {
    "people": (User, ["username", "email", "display_name", "role", "team_id", "password"]),
    "teams": (Team, ["slug", "name"]),
    "papers": (Paper, ["arxiv_id", "version", "title", "abstract", "authors", "categories", "updated"]),
    "fetch runs": (FetchRun, ["status", "started_at", "new_count", "updated_count"]),
    "bookmarks": (Bookmark, ["user_id", "paper_id"]),
    "talks": (
        Talk,
        ["uid", "sequence", "title", "starts_at", "ends_at", "status", "speaker_photo", "slides"],
    ),
    "registrations": (Registration, ["talk_id", "user_id", "status"]),
    "drafts": (Draft, ["title", "abstract", "status", "deadline_id"]),
    "draft versions": (DraftVersion, ["draft_id", "number", "file", "sha256", "size"]),
    "review assignments": (ReviewAssignment, ["draft_id", "reviewer_id"]),
    "reviews": (Review, ["assignment_id", "submitted_at"]),
}


def _digest(rows) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(row).encode())
    return digest.hexdigest()[:16]


def _files_line() -> str:
    digest, count, bad = hashlib.sha256(), 0, []
    for version in DraftVersion.objects.order_by("pk").iterator():
        data = _read(version.file)
        count += 1
        if data is None or hashlib.sha256(data).hexdigest() != version.sha256:
            bad.append(version.file.name)
        digest.update(hashlib.sha256(data or b"").digest())
    for talk in Talk.objects.order_by("pk").iterator():
        for field in (talk.speaker_photo, talk.slides):
            if field:
                data = _read(field)
                count += 1
                if data is None:
                    bad.append(field.name)
                digest.update(hashlib.sha256(data or b"").digest())
    if bad:
        raise CommandError(f"Files missing or changed in the storage: {', '.join(bad)}")
    return f"files {count} {digest.hexdigest()[:16]}"


def _read(field) -> bytes | None:
    try:
        with field.storage.open(field.name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


class Command(BaseCommand):
    help = "Print what the portal holds (counts and content digests) to compare a restored backup."

    def handle(self, *args, **options):
        for kind, (model, fields) in KINDS.items():
            rows = model.objects.order_by("pk").values_list("pk", *fields).iterator()
            count = model.objects.count()
            self.stdout.write(f"{kind} {count} {_digest(rows)}")
        self.stdout.write(_files_line())
