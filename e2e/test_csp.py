"""The portal works under its Content-Security-Policy: htmx swaps, KaTeX's typeset math and fonts,
keyboard triage and the review form's autosave, with no violation reported by the browser."""

import pytest
from playwright.sync_api import expect

from e2e.test_dashboard import demo_lab, log_in  # noqa: F401 - the fixture is used by name
from lab_portal.management.commands.seed_demo import DEMO_PASSWORD
from papers.models import Bookmark, Paper
from reviews.models import Review, ReviewAssignment

pytestmark = pytest.mark.browser

# Violations are events in the page; recorded from the start of every document, before any script.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__violations.push(`${event.effectiveDirective} ${event.blockedURI} ${where}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, with every console error and warning and every CSP violation kept."""
    console = []
    page.add_init_script(RECORD_VIOLATIONS)

    def keep(message):
        # Django's admin names no icon, so Chromium asks for /favicon.ico: a 404 with no policy in it.
        if message.type in ("error", "warning") and not message.location["url"].endswith("/favicon.ico"):
            console.append(f"{message.text} ({message.location['url']})")

    page.on("console", keep)
    return page, console


def violations(page) -> list[str]:
    return page.evaluate("window.__violations")


def test_every_page_is_sent_with_the_policy(page, live_server, demo_lab):  # noqa: F811
    response = page.goto(f"{live_server.url}/accounts/login/")

    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "camera=()" in response.headers["permissions-policy"]


def test_the_feed_math_triage_and_htmx_work_under_the_policy(watched, live_server, demo_lab):  # noqa: F811
    page, console = watched
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    expect(page).to_have_url(f"{base}/")

    page.goto(f"{base}/papers/")
    papers = page.locator("article.paper")
    expect(papers.first).to_be_visible()
    page.get_by_role("heading", level=1).click()
    page.keyboard.press("j")  # triage keys come from static/js/triage.js
    expect(papers.first).to_be_focused()
    page.keyboard.press("s")  # saves with htmx
    expect(papers.first.locator("form.bookmark button")).to_have_attribute("aria-pressed", "true")
    assert Bookmark.objects.filter(user__username="minji").exists()
    with_math = Paper.objects.filter(title__contains="$").order_by("-pk").first()
    page.goto(f"{base}{with_math.get_absolute_url()}")
    title = page.get_by_role("heading", level=1)
    expect(title.locator(".katex")).not_to_have_count(0)
    expect(title).not_to_contain_text("$")
    # KaTeX's own fonts load from the portal (a blocked font would be a violation and no face).
    page.wait_for_function("document.fonts.status === 'loaded'")
    assert page.evaluate("[...document.fonts].some(f => f.family.includes('KaTeX') && f.status === 'loaded')")

    assert violations(page) == []
    assert console == []


def test_the_review_form_autosaves_under_the_policy(watched, live_server, demo_lab):  # noqa: F811
    page, console = watched
    base = live_server.url
    assignment = (
        ReviewAssignment.objects.exclude(review__status=Review.Status.SUBMITTED)
        .select_related("reviewer", "draft")
        .first()
    )
    log_in(page, base, assignment.reviewer.username, DEMO_PASSWORD)
    expect(page).to_have_url(f"{base}/")

    page.goto(f"{base}/reviews/drafts/{assignment.draft.pk}/review/")
    page.get_by_label("Summary").fill("Checked under the Content-Security-Policy.")

    expect(page.locator("#review-status")).to_contain_text("Saved", timeout=10_000)
    assert Review.objects.get(assignment=assignment).summary == "Checked under the Content-Security-Policy."
    assert violations(page) == []
    assert console == []


def test_a_lead_s_round_page_draws_its_load_bars_under_the_policy(watched, live_server, demo_lab):  # noqa: F811
    page, console = watched
    base = live_server.url
    round_ = ReviewAssignment.objects.select_related("round").first().round
    log_in(page, base, "jiwoo", DEMO_PASSWORD)
    expect(page).to_have_url(f"{base}/")

    page.goto(f"{base}{round_.get_absolute_url()}")

    bars = page.locator("svg.load-bar")
    expect(bars.first).to_be_visible()
    assert bars.first.bounding_box()["width"] > 50
    assert violations(page) == []
    assert console == []


def test_the_admin_s_team_page_works_under_the_policy(watched, live_server, demo_lab):  # noqa: F811
    from lab_portal.models import Team

    page, console = watched
    base = live_server.url
    team = Team.objects.order_by("pk").first()
    log_in(page, base, "admin", DEMO_PASSWORD)
    expect(page).to_have_url(f"{base}/")

    page.goto(f"{base}/admin/lab_portal/team/{team.pk}/change/")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert violations(page) == []
    assert console == []
