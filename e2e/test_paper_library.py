"""A researcher saves, tags and notes a paper from its own page in a real browser, at desktop and
phone width, in English and Korean; the library's tag filter follows a row's new tags in place."""

import pytest
from playwright.sync_api import expect

from e2e.test_speakers import WIDTHS, log_in, words
from papers.models import Bookmark
from papers.tests.factories import make_paper

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "language"), [("desktop", "en"), ("phone", "ko")])
def test_researcher_saves_tags_and_notes_a_paper_from_its_page(
    live_server, open_page, make_person, width, language
):
    base = live_server.url
    make_person("minji", display_name="Minji Kim", language=language)
    paper = make_paper(arxiv_id="2606.00077", title="Video diffusion at scale")
    page = open_page(WIDTHS[width], language)
    log_in(page, base, "minji")
    page.goto(f"{base}/papers/2606.00077")
    page.evaluate("window.stillTheSamePage = true")  # gone if anything reloads the page

    page.locator("main form.bookmark button").click()
    box = page.locator("section.library-box")
    expect(box.get_by_role("heading", level=2)).to_have_text(words(language, "In your library"))
    expect(page.locator("main form.bookmark button")).to_have_attribute("aria-pressed", "true")

    # A tag too long is refused, and what was typed stays.
    box.locator("[name$=note]").fill("Compare with our sampler, eq. 4.")
    box.locator("[name$=tag_names]").fill("video, " + "x" * 60)
    box.get_by_role("button", name=words(language, "Save"), exact=True).click()
    expect(box.locator(".errorlist")).to_contain_text(words(language, "A tag is at most 50 characters long."))
    expect(box.locator("[name$=note]")).to_have_value("Compare with our sampler, eq. 4.")
    assert not Bookmark.objects.get().tags.exists()

    box.locator("[name$=tag_names]").fill("video, to discuss")
    box.locator("[name$=state]").select_option("read")
    box.get_by_role("button", name=words(language, "Save"), exact=True).click()
    expect(box.get_by_role("status")).to_have_text(words(language, "Saved."))
    expect(box.locator("[name$=tag_names]")).to_have_value("to discuss, video")
    assert page.evaluate("window.stillTheSamePage") is True
    bookmark = Bookmark.objects.get(paper=paper)
    assert bookmark.state == Bookmark.State.READ
    assert bookmark.note == "Compare with our sampler, eq. 4."
    assert sorted(tag.name for tag in bookmark.tags.all()) == ["to discuss", "video"]

    # The library: a new tag on a row is a filter at once, without a reload.
    page.goto(f"{base}/papers/library/")
    page.evaluate("window.stillTheSamePage = true")
    tags = page.locator("#library-tags")
    expect(tags.locator("a.tag")).to_have_text(["to discuss (1)", "video (1)"])
    row = page.locator(f"#bookmark-{bookmark.pk}")
    row.locator("[name$=tag_names]").fill("video, reading group")
    row.get_by_role("button", name=words(language, "Save"), exact=True).click()
    expect(tags.locator("a.tag")).to_have_text(["reading group (1)", "video (1)"])
    assert page.evaluate("window.stillTheSamePage") is True
    tags.get_by_role("link", name="reading group (1)").click()
    expect(page.locator("article.library-row")).to_have_count(1)
