"""Papers in a real browser: search, open a paper, see its math typeset, save it with htmx."""

import pytest
from playwright.sync_api import expect

from e2e.test_dashboard import demo_lab, log_in  # noqa: F401 - the fixture is used by name
from lab_portal.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_researcher_searches_opens_a_paper_and_sees_rendered_math(page, live_server, demo_lab):  # noqa: F811
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)

    page.goto(f"{base}/papers/search/")
    page.get_by_role("searchbox", name="Search").fill(
        '"Unified Spatial Control for Satellite Image Synthesis"'
    )
    page.get_by_role("button", name="Search").click()
    result = page.locator("article.paper").first
    expect(result).to_contain_text("TerraDiT")
    result.get_by_role("link", name="TerraDiT").click()

    expect(page).to_have_url(f"{base}/papers/2606.31029")
    title = page.get_by_role("heading", level=1)
    # KaTeX, served by the portal, replaced the $Ω$ source with typeset math.
    expect(title.locator(".katex")).to_have_count(1)
    expect(title).not_to_contain_text("$")

    save = page.locator("main form.bookmark button")
    save.click()
    expect(page.locator("main form.bookmark button")).to_have_attribute("aria-pressed", "true")
    page.goto(f"{base}/papers/library/")
    expect(page.locator("article.library-row", has_text="TerraDiT")).to_have_count(1)
