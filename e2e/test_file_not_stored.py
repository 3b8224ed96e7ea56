"""A file storage that refuses a write, seen in a real browser at desktop and phone width, in English
and Korean: the draft form answers that the file could not be stored, beside the file field, keeps
what was typed and saves nothing; once the storage works again the same form goes through."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import use_local_files
from e2e.test_speakers import WIDTHS, log_in, words
from lab_portal import files
from reviews.models import Draft
from reviews.tests.factories import make_deadline, make_venue, pdf_bytes

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
