"""A draft's discussion in a real browser, through the comment partial it shares with a paper's
thread: a co-author posts, edits and deletes a comment with htmx, at desktop width in English and
at phone width in Korean, and the reviewer sees an anonymous draft's author as "An author"."""

import os
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import expect

from e2e.test_speakers import log_in
from reviews.models import DraftComment
from reviews.tests.factories import make_draft

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("SHOTS_DIR", "")  # screenshots for a person to look at, when asked for
WIDTHS = {"desktop": 1280, "phone": 390}


def shown(text: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.mark.parametrize(("width", "language"), [("desktop", "en"), ("phone", "ko")])
def test_an_author_posts_edits_and_deletes_a_comment_and_the_reviewer_reads_it_unsigned(
    live_server, open_page, make_person, width, language
):
    base = live_server.url
    author = make_person("minji", display_name="Minji Kim", language=language)
    reviewer = make_person("sora", display_name="Sora Han", language=language)
    draft = make_draft(author, reviewers=[reviewer], anonymous=True, title="Sparse attention at scale")
    url = f"{base}/reviews/drafts/{draft.pk}/"

    page = open_page(WIDTHS[width], language)
    log_in(page, base, "minji")
    page.goto(url)
    page.evaluate("window.stillTheSamePage = true")  # survives only while the page is not reloaded
    discussion = page.locator("#discussion")
    discussion.get_by_label(shown("Add to the discussion", language)).fill("Does $O(n)$ hold for @sora?")
    discussion.get_by_role("button", name=shown("Post comment", language)).click()

    comment = discussion.locator("li.comment").last
    expect(comment).to_contain_text("Does")
    expect(comment.locator(".katex")).to_have_count(1)
    expect(discussion.get_by_label(shown("Add to the discussion", language))).to_have_value("")

    comment.locator("summary").click()
    comment.get_by_label(shown("Comment", language)).fill("Edited: $x^2$ and $y^2$")
    comment.get_by_role("button", name=shown("Save", language)).click()
    expect(comment).to_contain_text(shown("(edited)", language))
    expect(comment.locator(".katex")).to_have_count(2)
    stored = DraftComment.objects.get(draft=draft)
    assert stored.body == "Edited: $x^2$ and $y^2$"
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"draft-discussion-{width}-{language}.png"), full_page=True)

    other = open_page(WIDTHS[width], language)
    log_in(other, base, "sora")
    other.goto(url)
    signed = other.locator(f"#comment-{stored.pk} .comment-author")
    expect(signed).to_have_text(shown("An author", language))
    expect(other.locator(f"#comment-{stored.pk} summary")).to_have_count(0)  # not hers to edit
    expect(other.locator("#discussion")).not_to_contain_text("Minji Kim")

    page.once("dialog", lambda dialog: dialog.accept())
    comment.get_by_role("button", name=shown("Delete", language)).click()
    expect(discussion.locator("li.comment")).to_have_count(0)
    assert not DraftComment.objects.filter(draft=draft).exists()
    assert page.evaluate("window.stillTheSamePage") is True
