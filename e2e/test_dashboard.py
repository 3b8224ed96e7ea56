"""The portal in a real browser: log in as the demo researcher and walk the main pages."""

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import dateformat
from playwright.sync_api import expect

from lab_portal.management.commands.seed_demo import DEMO_PASSWORD
from papers.demo import latest_listing_day

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def demo_lab(transactional_db):
    # pytest-django runs tests with DEBUG off, where seed_demo asks for --force.
    call_command("seed_demo", force=True, verbosity=0)


def log_in(page, base_url: str, username: str, password: str):
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/accounts/login/?next=/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to Lab Portal")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.locator("main form").get_by_role("button", name="Log in").click()


def test_researcher_logs_in_and_walks_the_portal(page, live_server, demo_lab):
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)

    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today for Minji Kim")
    for panel in ("Papers for me today", "Talks this week", "Reviews I owe"):
        expect(page.get_by_role("region", name=panel)).to_be_visible()
    # Today's papers (the demo is dated so), not an empty list or one from months ago.
    today = page.get_by_role("region", name="Papers for me today")
    listing = dateformat.format(latest_listing_day(), "j F")
    expect(today).to_contain_text(f"From the announcement of {listing}")
    expect(today.locator("li.math a").first).to_be_visible()

    # htmx comes from the portal itself, never from a CDN.
    assert page.evaluate("typeof window.htmx") == "object"
    sources = page.eval_on_selector_all("script[src]", "scripts => scripts.map(s => s.src)")
    assert sources, "expected the htmx <script src> in the page"
    assert [src for src in sources if urlsplit(src).hostname not in LOCAL_HOSTS] == []

    nav = page.get_by_role("navigation", name="Main")
    for link, heading in [
        # The demo's papers are announced up to today's listing, whatever day the test runs.
        ("Papers", f"Latest announcement: {dateformat.format(latest_listing_day(), 'l j F Y')}"),
        ("Seminars", "Seminars and Techtalks"),
        ("Reviews", "Pre-submission reviews"),
    ]:
        with page.expect_navigation() as navigation:
            nav.get_by_role("link", name=link, exact=True).click()
        assert navigation.value.status == 200, link
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(nav.get_by_role("link", name=link, exact=True)).to_have_attribute("aria-current", "page")


def test_wrong_password_shows_the_form_again(page, live_server, demo_lab):
    base = live_server.url
    log_in(page, base, "minji", "not-the-password")

    expect(page).to_have_url(f"{base}/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to Lab Portal")
    expect(page.locator(".errorlist")).to_contain_text("Please enter a correct username and password")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)

    # Still logged out: the dashboard sends us back to the log-in page.
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/")
