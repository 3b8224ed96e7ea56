"""Writes that touch several rows or a file: a new draft with its authors and first PDF, a new
version, a status change. A PDF is written before its row; if anything after that fails, the
file is removed again, so a failed upload leaves nothing behind."""

from collections.abc import Callable
from functools import partial

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .discussion import notify_new_version
from .models import Draft, DraftAuthor, DraftVersion
from .uploads import CheckedPdf


def _with_cleanup(write: Callable[[list[str]], object]):
    """Run `write(stored)` in a transaction; the files it lists in `stored` go if it fails."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            return write(stored)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


def _add_version(
    draft: Draft, *, upload: UploadedFile, checked: CheckedPdf, note: str, by, stored
) -> DraftVersion:
    # The draft's row lock makes two uploads at once take numbers one after the other.
    Draft.objects.select_for_update().filter(pk=draft.pk).first()
    number = (draft.versions.aggregate(last=Max("number"))["last"] or 0) + 1
    version = DraftVersion(
        draft=draft, number=number, sha256=checked.sha256, size=checked.size, note=note, uploaded_by=by
    )
    version.file.save("draft.pdf", upload, save=False)
    stored.append(version.file.name)
    version.save()
    return version


def create_draft(
    draft: Draft,
    *,
    by,
    coauthors=(),
    outside_authors: list[tuple[str, str]] = (),
    upload: UploadedFile,
    checked: CheckedPdf,
    note: str,
) -> Draft:
    """Save a new draft (its fields set by the form) with `by` among its authors and its first PDF."""

    def write(stored):
        draft.created_by = by
        draft.save()
        people = [by, *(person for person in coauthors if person.pk != by.pk)]
        rows = [DraftAuthor(draft=draft, person=person) for person in people]
        rows += [DraftAuthor(draft=draft, name=name, email=email) for name, email in outside_authors]
        # Who the authors are decides who reads the draft and who may not review it; their order
        # is the paper's, in its PDF, and changes until submission. A multiple choice cannot say
        # it, so the portal does not pretend to: authors are listed by name.
        rows.sort(key=lambda author: author.display_name.casefold())
        for order, author in enumerate(rows):
            author.order = order
        DraftAuthor.objects.bulk_create(rows)
        _add_version(draft, upload=upload, checked=checked, note=note, by=by, stored=stored)
        return draft

    return _with_cleanup(write)


def add_version(draft: Draft, *, upload: UploadedFile, checked: CheckedPdf, note: str, by) -> DraftVersion:
    """A new PDF version; its reviewers hear of it, with the note, once it is stored for good."""

    version = _with_cleanup(
        lambda stored: _add_version(draft, upload=upload, checked=checked, note=note, by=by, stored=stored)
    )
    # Registered after the cleanup's transaction: a notice that fails must never cost the stored
    # PDF (robust: it is logged, the upload stands). A rolled-back caller still tells nobody.
    transaction.on_commit(partial(notify_new_version, version), robust=True)
    return version


def set_status(draft: Draft, *, status: str) -> bool:
    """False when the draft already had that status (a double click)."""
    now = timezone.now()
    changed = (
        Draft.objects.filter(pk=draft.pk)
        .exclude(status=status)
        .update(status=status, updated_at=now, status_changed_at=now)
    )
    draft.refresh_from_db(fields=["status", "updated_at", "status_changed_at"])
    return bool(changed)


def set_open_to_lab(draft: Draft, *, open_to_lab: bool) -> None:
    Draft.objects.filter(pk=draft.pk).update(open_to_lab=open_to_lab, updated_at=timezone.now())
    draft.open_to_lab = open_to_lab
