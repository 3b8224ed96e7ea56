"""The morning's feed in a real browser: abstracts folded and opened in place, the reader's choice
remembered, keyboard triage (j, k, o, x, s, ?), the same without JavaScript, LaTeX in abstracts,
and the feed at phone width in Korean."""

import re

import pytest
from django.utils import translation
from django.utils.formats import date_format
from playwright.sync_api import expect

from e2e.test_dashboard import demo_lab, log_in  # noqa: F401 - the fixture is used by name
from lab_portal.management.commands.seed_demo import DEMO_PASSWORD
from lab_portal.models import User
from papers.models import Bookmark, Paper

pytestmark = pytest.mark.browser

PAPER_LINK = re.compile(r"/papers/(\d{4}\.\d{4,5})$")


def arxiv_id(paper) -> str:
    return PAPER_LINK.search(paper.locator(".paper-title a").get_attribute("href")).group(1)


def test_researcher_triages_the_feed_from_the_keyboard(page, live_server, demo_lab):  # noqa: F811
    base = live_server.url
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/papers/")
    papers = page.locator("article.paper")
    first, second = papers.nth(0), papers.nth(1)

    page.get_by_label("Words").press("j")  # typing in a field is typing, not triage
    expect(page.get_by_label("Words")).to_have_value("j")
    expect(page.locator("article.paper.current")).to_have_count(0)
    page.get_by_role("heading", level=1).click()
    page.keyboard.press("j")
    expect(first).to_be_focused()
    page.keyboard.press("j")
    expect(second).to_be_focused()
    expect(first).not_to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("k")
    page.keyboard.press("j")
    expect(second).to_have_class(re.compile(r"\bcurrent\b"))

    abstract = second.locator("details.abstract-box")
    expect(abstract).not_to_have_attribute("open", "")
    page.keyboard.press("x")
    expect(abstract).to_have_attribute("open", "")
    page.keyboard.press("x")
    expect(abstract).not_to_have_attribute("open", "")

    saved = arxiv_id(second)
    page.keyboard.press("s")
    expect(second.locator("form.bookmark button")).to_have_attribute("aria-pressed", "true")
    assert Bookmark.objects.filter(user__username="minji", paper__arxiv_id=saved).exists()

    keys = page.locator("#keys-help")
    page.keyboard.press("?")
    expect(keys).to_be_visible()
    expect(keys.get_by_role("heading")).to_have_text("Keyboard shortcuts")
    page.keyboard.press("?")
    expect(keys).to_be_hidden()

    page.keyboard.press("o")
    expect(page).to_have_url(f"{base}/papers/{saved}")
    assert errors == []


def test_abstracts_open_in_place_and_the_choice_is_remembered(page, live_server, demo_lab):  # noqa: F811
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/papers/")
    first = page.locator("article.paper").first
    text = first.locator("details.abstract-box .abstract-text")
    folded = text.bounding_box()["height"]

    first.locator("details.abstract-box summary").click()
    expect(first.locator("details.abstract-box")).to_have_attribute("open", "")
    assert text.bounding_box()["height"] > folded  # the rest of the abstract, in place

    page.get_by_role("button", name="Show abstracts in full").click()
    expect(page.get_by_role("button", name="Show a few lines of each abstract")).to_be_visible()
    assert User.objects.get(username="minji").expand_abstracts is True
    expect(page.locator("details.abstract-box:not([open])")).to_have_count(0)
    page.goto(f"{base}/papers/all/")  # another list, the same choice
    expect(page.locator("details.abstract-box:not([open])")).to_have_count(0)


def test_without_javascript_every_key_has_its_control(browser, live_server, demo_lab):  # noqa: F811
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/papers/")
    first = page.locator("article.paper").first
    paper = arxiv_id(first)

    page.get_by_role("button", name="Keyboard shortcuts").click()  # a popover: no script needed
    expect(page.locator("#keys-help")).to_be_visible()
    page.locator("#keys-help").get_by_role("button", name="Close").click()
    expect(page.locator("#keys-help")).to_be_hidden()
    first.locator("details.abstract-box summary").click()
    expect(first.locator("details.abstract-box")).to_have_attribute("open", "")
    first.get_by_role("button", name="Save").click()  # a plain POST that comes back to the feed
    expect(page.locator(".messages")).to_contain_text("Saved to your library.")
    assert Bookmark.objects.filter(user__username="minji", paper__arxiv_id=paper).exists()
    page.locator(f"article.paper .paper-title a[href$='{paper}']").click()
    expect(page).to_have_url(f"{base}/papers/{paper}")
    context.close()


def test_latex_in_real_abstracts_reads_as_text_and_math(page, live_server, demo_lab):  # noqa: F811
    base = live_server.url
    errors = []
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type in ("error", "warning") else None,
    )
    log_in(page, base, "minji", DEMO_PASSWORD)
    # "the \emph{Log-Domain Noisier2Inverse} framework … a mean PSNR of $21.41\db$ and SSIM of $0.8358$"
    page.goto(f"{base}/papers/all/?q=Noisier2Inverse")
    abstract = page.locator("article.paper .abstract-text")
    page.locator("article.paper details.abstract-box summary").click()

    expect(abstract.locator("em")).to_have_text("Log-Domain Noisier2Inverse")
    expect(abstract).not_to_contain_text("\\emph")
    expect(abstract.locator(".katex").first).to_be_visible()  # $0.8358$ is typeset
    expect(abstract.locator(".tex-source").first).to_have_text("$21.41\\db$")  # \db is no KaTeX macro
    expect(page.locator(".katex-error")).to_have_count(0)
    # "We propose \fullmethod (\method), which …": the author's own macros, as they wrote them.
    page.goto(f"{base}/papers/all/?q=fullmethod")
    expect(page.locator("article.paper .abstract-text")).to_contain_text("We propose \\fullmethod (\\method)")
    expect(page.locator(".katex-error")).to_have_count(0)
    assert errors == []


def test_feed_at_phone_width_in_korean_shows_the_first_paper_at_once(browser, live_server, demo_lab):  # noqa: F811
    User.objects.filter(username="minji").update(language="ko")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/papers/")

    # The demo's latest day is today's listing (seed_demo moves it), named the Korean way.
    with translation.override("ko"):
        latest = date_format(Paper.objects.latest_day(), "WEEKDAY_DATE_FORMAT")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"최신 공개: {latest}")
    assert re.fullmatch(r"\d{4}년 \d{1,2}월 \d{1,2}일 .요일", latest)
    title = page.locator("article.paper .paper-title").first
    box = title.bounding_box()
    assert box["y"] + box["height"] <= 844, "the first paper's title is below the first screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    nav = page.get_by_role("navigation", name="주 메뉴")
    expect(nav).to_be_hidden()
    page.locator("summary", has_text="메뉴").click()
    expect(nav.get_by_role("link", name="세미나")).to_be_visible()
    page.locator("summary", has_text="메뉴").click()
    expect(nav).to_be_hidden()
    expect(page.get_by_label("검색어")).to_be_hidden()  # the filters fold behind their button
    page.locator("summary", has_text="필터").click()
    expect(page.get_by_label("검색어")).to_be_visible()
    context.close()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_main_pages_never_scroll_sideways_at_phone_width(browser, live_server, demo_lab, language):  # noqa: F811
    from reviews.models import Draft

    User.objects.filter(username="minji").update(language=language)
    draft = Draft.objects.filter(authors__person__username="minji").first()
    pages = ["/", "/papers/", "/papers/all/", "/papers/search/?q=diffusion", "/papers/2606.31029",
             "/papers/library/", "/papers/lab/", "/papers/watch/", "/seminars/", "/seminars/month/",
             "/reviews/", "/reviews/venues/", "/people/", "/me/", "/me/channels/"]  # fmt: skip
    if draft:
        pages.append(draft.get_absolute_url())
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server.url, "minji", DEMO_PASSWORD)

    wide = {}
    for path in pages:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
    context.close()

    assert draft is not None and wide == {}
