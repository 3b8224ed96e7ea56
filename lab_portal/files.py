"""Uploaded files: draft PDFs, speakers' photos, talk slides.

They go through Django's default storage (STORAGES["default"]), chosen by FILE_STORAGE: a local
directory for one machine, or an S3-compatible bucket that every web host and worker shares. Both
are private: neither hands out a URL, so the only way to read a file is a view that has checked
who is asking and streams it.

A file is written before its row, so a failed upload can leave a file no row names, and a row
deleted by the admin or a cascade leaves its file behind: `sweep_orphans` (a periodic task)
removes such files once they are older than FILE_ORPHAN_GRACE_MINUTES, which leaves alone a file
whose row is still being committed.
"""

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import batched
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import models
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# The folders the portal's uploads are named under (see each FileField's upload_to). Only these
# are swept, so a bucket prefix or directory shared by mistake loses nothing else.
UPLOAD_FOLDERS = ("drafts/", "seminars/")


# Shown when the storage refused a write (a full disk, a bucket that is down or denies us): the
# upload's row rolled back with it, so the person only has to try again.
NOT_STORED = _("The file could not be stored just now, so nothing was saved. Please try again shortly.")


def store_errors() -> tuple[type[BaseException], ...]:
    """What a storage raises when it cannot write: OSError on a disk, botocore's errors on S3."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        return (OSError,)
    return (OSError, BotoCoreError, ClientError)


class NoPublicUrl(ValueError):
    pass


def no_url(name) -> str:
    raise NoPublicUrl(f"{name}: uploaded files have no public URL; a view streams them after its check.")


@deconstructible
class PrivateFileSystemStorage(FileSystemStorage):
    """A local directory with no URL: nothing serves it but the portal's own views."""

    def url(self, name):
        return no_url(name)


def walk(storage: Storage) -> Iterator[tuple[str, datetime]]:
    """Every file under the upload folders, with when it was last written: one listing per page
    of a bucket, one directory walk on a disk."""
    bucket = getattr(storage, "bucket", None)
    if bucket is not None:
        prefix = storage.location.strip("/") + "/" if storage.location else ""
        for folder in UPLOAD_FOLDERS:
            for entry in bucket.objects.filter(Prefix=prefix + folder):
                yield entry.key.removeprefix(prefix), entry.last_modified
        return
    root = Path(storage.location)
    for folder in UPLOAD_FOLDERS:
        for directory, _subdirs, names in os.walk(root / folder):
            for filename in names:
                path = Path(directory) / filename
                modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
                yield path.relative_to(root).as_posix(), modified


def _file_fields() -> list[tuple[type[models.Model], str]]:
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.FileField)
    ]


def referenced(names: list[str]) -> set[str]:
    """Which of `names` a row still points at (one query per file field, for a batch of names)."""
    found: set[str] = set()
    for model, field in _file_fields():
        found.update(model._default_manager.filter(**{f"{field}__in": names}).values_list(field, flat=True))
    return found


def sweep_orphans(storage: Storage | None = None) -> int:
    """Delete files no row names that are older than the grace period; return how many went."""
    storage = storage or default_storage
    cutoff = timezone.now() - timedelta(minutes=settings.FILE_ORPHAN_GRACE_MINUTES)
    old = (name for name, modified in walk(storage) if modified < cutoff)
    removed = 0
    for batch in batched(old, 500):
        kept = referenced(list(batch))
        for name in batch:
            if name not in kept:
                storage.delete(name)
                removed += 1
                logger.info("Removed %s: no row names it", name)
    return removed


def import_legacy_files(model: type[models.Model], fields: list[str], storage: Storage | None = None) -> int:
    """Copy the files `model`'s rows name from the directories uploads were kept in before
    FILE_STORAGE (LEGACY_FILE_ROOTS) into the storage, under the same names so the rows keep
    pointing at them; return how many were copied. Run by a migration of each app with uploads."""
    storage = storage or default_storage
    roots = [Path(root) for root in settings.LEGACY_FILE_ROOTS]
    copied = 0
    for field in fields:
        for name in model._default_manager.exclude(**{field: ""}).values_list(field, flat=True).iterator():
            source = next((root / name for root in roots if (root / name).is_file()), None)
            if source is None or storage.exists(name):
                continue
            with source.open("rb") as handle:
                stored = storage.save(name, handle)
            if stored != name:
                raise RuntimeError(f"{name} was stored as {stored}; its row would lose it.")
            copied += 1
    if copied:
        logger.info("Copied %d %s files into the file storage", copied, model._meta.label)
    return copied


def copy_storage(source: Storage, target: Storage) -> int:
    """Copy every uploaded file from one storage to another (a backup, or a restore), replacing a
    file of the same name; return how many."""
    copied = 0
    for name, _modified in walk(source):
        if target.exists(name):
            target.delete(name)
        with source.open(name, "rb") as handle:
            stored = target.save(name, handle)
        if stored != name:
            raise RuntimeError(f"{name} was stored as {stored}; its row would lose it.")
        copied += 1
    return copied
