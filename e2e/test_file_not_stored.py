"""A file storage that refuses a write, seen in a real browser at desktop and phone width, in English
and Korean: the draft form and the outside speaker's form answer that the file could not be stored,
beside the file field, keep what was typed and save nothing; once the storage works again the same
form goes through."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from conftest import use_local_files
from e2e.test_speakers import LINK, WIDTHS, log_in, words
from lab_portal import files
from reviews.models import Draft
from reviews.tests.factories import make_deadline, make_venue, pdf_bytes
from seminars import invitations
from seminars.models import Talk
from seminars.tests.factories import make_talk

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200

pytestmark = pytest.mark.browser


def _shot(page, name: str) -> None:
    # Screenshots for a person to look at, only when asked for: never in the repository.
    if folder := os.environ.get("E2E_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("width", ["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_draft_the_storage_refuses_is_kept_in_the_form_and_goes_through_later(
    live_server, open_page, make_person, settings, files_root, tmp_path, width, language
):
    base = live_server.url
    make_person("minji", display_name="Minji Kim", language=language)
    make_deadline(make_venue(short_name="NeurIPS"))
    author = open_page(WIDTHS[width], language)
    log_in(author, base, "minji")
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the upload directory should be")
    use_local_files(settings, blocked)

    author.goto(f"{base}/reviews/drafts/new/")
    form = author.locator("main form")
    form.locator("[name=title]").fill("Sparse attention at scale")
    form.locator("[name=abstract]").fill("Sparse attention for long contexts.")
    form.locator("select[name=deadline]").select_option(index=1)
    pdf = {"name": "draft.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    form.locator("[name=pdf]").set_input_files(pdf)
    with author.expect_response(f"{base}/reviews/drafts/new/") as answer:
        form.get_by_role("button", name=words(language, "Save the draft")).click()

    assert answer.value.status == 503
    not_stored = words(language, str(files.NOT_STORED))
    expect(author.locator("#id_pdf_error, .errorlist").filter(has_text=not_stored)).to_be_visible()
    expect(form.locator("[name=title]")).to_have_value("Sparse attention at scale")
    expect(form.locator("[name=abstract]")).to_have_value("Sparse attention for long contexts.")
    _shot(author, f"draft-not-stored-{WIDTHS[width]}-{language}")
    assert not Draft.objects.exists()

    use_local_files(settings, files_root)
    form.locator("[name=pdf]").set_input_files(pdf)  # a browser never sends a file back by itself
    form.get_by_role("button", name=words(language, "Save the draft")).click()

    expect(author.locator(".messages")).to_contain_text(
        words(language, "Your draft is saved with its first version.")
    )
    assert Draft.objects.get().title == "Sparse attention at scale"


@pytest.mark.parametrize("width", ["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_speaker_photo_the_storage_refuses_keeps_the_form_and_goes_through_later(
    live_server, open_page, make_person, settings, files_root, tmp_path, width, language
):
    settings.SITE_URL = live_server.url
    host = make_person("jiwoo", display_name="Jiwoo Park")
    talk = make_talk(
        kind=Talk.Kind.TECHTALK,
        title="TBA",
        speaker_name="Grace Hopper",
        host=host,
        starts_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=10),
    )
    invitations.invite_speaker(talk, email="grace@navy.example.org", by=host)
    link = LINK.search(mail.outbox[-1].body).group(0)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the upload directory should be")
    use_local_files(settings, blocked)
    speaker = open_page(WIDTHS[width], language)

    speaker.goto(link)
    form = speaker.locator("form.speaker-form")
    form.locator("[name=title]").fill("Compilers for everyone")
    form.locator("[name=speaker_timezone]").select_option("America/New_York")
    form.locator("[name=recording_consent][value=yes]").check()
    photo = {"name": "me.png", "mimeType": "image/png", "buffer": PNG}
    form.locator("[name=photo]").set_input_files(photo)
    confirm = form.get_by_role("button", name=words(language, "Confirm my talk"))
    with speaker.expect_response(link) as answer:
        confirm.click()

    assert answer.value.status == 503
    not_stored = words(language, str(files.NOT_STORED))
    expect(speaker.locator("#id_photo_error, .errorlist").filter(has_text=not_stored)).to_be_visible()
    expect(form.locator("[name=title]")).to_have_value("Compilers for everyone")
    _shot(speaker, f"speaker-photo-not-stored-{WIDTHS[width]}-{language}")
    talk.refresh_from_db()
    assert talk.title == "TBA" and talk.speaker_confirmed_at is None and not talk.speaker_photo

    use_local_files(settings, files_root)
    form.locator("[name=photo]").set_input_files(photo)
    form.locator("[name=recording_consent][value=yes]").check()
    confirm.click()

    expect(speaker.locator(".messages")).to_contain_text(
        words(language, "Thank you: your talk is confirmed and the host has been told.")
    )
    talk.refresh_from_db()
    assert talk.title == "Compilers for everyone" and talk.speaker_photo.name.endswith(".png")
