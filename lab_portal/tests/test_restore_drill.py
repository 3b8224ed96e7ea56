"""Backups that restore: ops/restore-drill dumps a seeded portal and its files, restores them into
a fresh database and directory, and finds the same people, papers, talks, drafts, PDFs and reviews."""

import os
import subprocess
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection

from conftest import ROOT, database_url
from lab_portal.models import User
from reviews.models import DraftVersion
from seminars.models import Talk
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def seeded(settings):
    if connection.vendor != "postgresql":
        pytest.skip("The drill backs up PostgreSQL (pg_dump and pg_restore): set DATABASE_URL")
    settings.DEBUG = True  # as under `make run`, where the demo is seeded
    call_command("seed_demo", stdout=StringIO())
    talk = make_talk(host=User.objects.get(username="jiwoo"), title="Restoring at noon")
    talk.slides.save("slides.pdf", ContentFile(PDF))


def _drill(files_root) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "FILE_STORAGE": "local",
        "FILES_ROOT": str(files_root),
    }
    return subprocess.run(
        [str(ROOT / "ops" / "restore-drill")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )


def test_a_backup_restores_to_a_portal_holding_the_same(seeded, files_root):
    result = _drill(files_root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "The restored portal holds exactly what the backup did." in result.stdout
    held = {line.rsplit(" ", 2)[0]: int(line.rsplit(" ", 2)[1]) for line in result.stdout.splitlines()
            if line.count(" ") >= 2 and line.rsplit(" ", 2)[1].isdigit()}  # fmt: skip
    for kind in ["people", "papers", "talks", "drafts", "draft versions", "reviews", "files"]:
        assert held[kind] > 0, kind
    assert held["files"] == DraftVersion.objects.count() + 1  # every PDF and the talk's slides
    restored = [line for line in result.stdout.splitlines() if "restore_drill" in line]
    assert restored  # it said which fresh database it restored into
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'lab_portal_restore_drill_%%'")
        assert cursor.fetchone()[0] == 0  # and dropped it


def test_the_drill_fails_when_a_file_is_missing_from_the_storage(seeded, files_root):
    slides = Talk.objects.get(title="Restoring at noon").slides.name
    default_storage.delete(slides)

    result = _drill(files_root)

    assert result.returncode != 0
    assert f"Files missing or changed in the storage: {slides}" in result.stderr


def test_inventory_names_a_changed_pdf(db, files_root, seeded):
    version = DraftVersion.objects.first()
    (files_root / version.file.name).write_bytes(PDF)

    with pytest.raises(CommandError, match=version.file.name):
        call_command("inventory", stdout=StringIO())
