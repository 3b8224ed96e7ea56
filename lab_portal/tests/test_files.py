"""Uploaded files in the configured storage: a local directory or an S3 bucket (moto's real server
on 127.0.0.1), private, read only through the views that check who asks, never left half-stored."""

import importlib
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from lab_portal import tasks
from reviews.models import Draft, DraftVersion
from reviews.tests.factories import make_deadline, make_draft, pdf_bytes, pdf_upload
from seminars.models import Talk
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.django_db

PDF = pdf_bytes(b"% the paper itself\n")


@pytest.fixture(params=["local", "s3"])
def storage_kind(request):
    """Each test runs on the local directory and on a bucket."""
    if request.param == "s3":
        request.getfixturevalue("s3_files")
    return request.param


def _new_draft(client, content: bytes = PDF):
    data = {
        "title": "Sparse attention at scale",
        "abstract": "We make attention sparse.",
        "deadline": make_deadline().pk,
        "pdf": SimpleUploadedFile("../../etc/passwd.pdf", content, "application/pdf"),
        "note": "First version",
    }
    return client.post(reverse("reviews:new-draft"), data)


def test_a_draft_is_stored_and_read_back_only_by_its_readers(
    storage_kind, login, researcher, other_researcher, client
):
    response = _new_draft(login(researcher))

    version = DraftVersion.objects.get()
    assert response.status_code == 302
    assert version.file.name == f"drafts/{version.draft_id}/v1.pdf"
    assert default_storage.exists(version.file.name)
    url = reverse("reviews:download", args=[version.draft_id, 1])
    assert b"".join(login(researcher).get(url).streaming_content) == PDF
    assert login(other_researcher).get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the log-in page


def test_the_bucket_holds_the_file_privately_under_its_prefix(s3_files, login, researcher):
    _new_draft(login(researcher))

    version = DraftVersion.objects.get()
    key = f"portal/drafts/{version.draft_id}/v1.pdf"
    assert s3_files.keys() == [key]
    grants = s3_files.client.get_object_acl(Bucket=s3_files.bucket, Key=key)["Grants"]
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers, no AuthenticatedUsers
    with pytest.raises(ValueError, match="no public URL"):
        version.file.url  # noqa: B018


def test_a_missing_bucket_stores_no_draft_and_says_so(s3_files, settings, login, researcher):
    settings.STORAGES["default"]["OPTIONS"]["bucket_name"] = "no-such-bucket"
    settings.STORAGES = dict(settings.STORAGES)  # tell Django the storage changed

    response = _new_draft(login(researcher))

    assert response.status_code == 503
    assert "could not be stored just now, so nothing was saved" in response.text
    assert not Draft.objects.exists()
    assert s3_files.keys() == []


def test_a_failed_row_leaves_its_stored_file_behind_for_the_sweep_only(storage_kind, login, researcher):
    draft = make_draft(researcher)
    # A file stored whose row never came: the write after it failed.
    orphan = default_storage.save(f"drafts/{draft.pk}/v9.pdf", ContentFile(PDF))

    fresh = tasks.sweep_orphan_files.delay().get()
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        later = tasks.sweep_orphan_files.delay().get()

    assert fresh == 0  # a file this young may still be getting its row
    assert later == 1
    assert not default_storage.exists(orphan)
    assert default_storage.exists(draft.versions.get().file.name)


def test_a_deleted_talk_leaves_no_files_for_long(storage_kind, researcher):
    talk = make_talk(host=researcher)
    talk.slides.save("slides.pdf", ContentFile(PDF))
    talk.speaker_photo.save("photo.png", ContentFile(b"\x89PNG\r\n\x1a\n"))
    names = [talk.slides.name, talk.speaker_photo.name]
    kept = make_talk(host=researcher)
    kept.slides.save("slides.pdf", ContentFile(PDF))

    talk.delete()
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        removed = tasks.sweep_orphan_files.delay().get()

    assert removed == 2
    assert not any(default_storage.exists(name) for name in names)
    assert default_storage.exists(kept.slides.name)


def test_the_sweep_leaves_files_outside_the_upload_folders(files_root):
    stranger = files_root / "notes" / "keep-me.txt"
    stranger.parent.mkdir(parents=True)
    stranger.write_text("someone else's")

    with time_machine.travel(timezone.now() + timedelta(days=30), tick=False):
        removed = tasks.sweep_orphan_files.delay().get()

    assert removed == 0
    assert stranger.exists()


def test_the_upgrade_copies_files_from_the_old_directories(storage_kind, settings, tmp_path, researcher):
    draft = make_draft(researcher)
    version = draft.versions.get()
    talk = make_talk(host=researcher)
    talk.slides.save("slides.pdf", ContentFile(PDF))
    # As the portal kept them before FILE_STORAGE: drafts in REVIEW_FILES_ROOT, talks in MEDIA_ROOT.
    old_reviews, old_media = tmp_path / "private" / "reviews", tmp_path / "media"
    for root, name, content in [
        (old_reviews, version.file.name, b"%PDF old draft"),
        (old_media, talk.slides.name, PDF),
    ]:
        (root / name).parent.mkdir(parents=True)
        (root / name).write_bytes(content)
    default_storage.delete(version.file.name)
    default_storage.delete(talk.slides.name)
    settings.LEGACY_FILE_ROOTS = [old_reviews, old_media]

    importlib.import_module("reviews.migrations.0005_draft_files_in_file_storage").copy_drafts(apps, None)
    importlib.import_module("seminars.migrations.0005_talk_files_in_file_storage").copy_talk_files(apps, None)

    with default_storage.open(version.file.name) as handle:
        assert handle.read() == b"%PDF old draft"
    assert Talk.objects.get(pk=talk.pk).slides.read() == PDF


def test_the_local_directory_is_never_served_as_media(client, login, researcher):
    make_draft(researcher)
    version = DraftVersion.objects.get()

    response = login(researcher).get(f"/media/{version.file.name}")

    assert response.status_code == 404


def test_an_unknown_storage_is_a_start_up_error(monkeypatch):
    import lab_portal.settings as portal_settings

    monkeypatch.setenv("FILE_STORAGE", "ftp")
    with pytest.raises(Exception, match="FILE_STORAGE='ftp': use local"):
        importlib.reload(portal_settings)
    monkeypatch.setenv("FILE_STORAGE", "s3")
    monkeypatch.delenv("S3_BUCKET", raising=False)
    with pytest.raises(Exception, match="S3_BUCKET is not set"):
        importlib.reload(portal_settings)
    monkeypatch.delenv("FILE_STORAGE")
    importlib.reload(portal_settings)


def test_backup_and_restore_commands_copy_every_file(storage_kind, tmp_path, researcher):
    draft = make_draft(researcher)
    backup = tmp_path / "backup"

    call_command("backup_files", str(backup), verbosity=0)
    default_storage.delete(draft.versions.get().file.name)
    call_command("restore_files", str(backup), verbosity=0)

    with draft.versions.get().file.open("rb") as handle:
        assert handle.read() == pdf_upload().read()
