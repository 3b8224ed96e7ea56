"""A paper's thread in a real browser: post a comment with htmx and see it appear, no reload."""

import pytest
from playwright.sync_api import expect

from e2e.test_dashboard import demo_lab, log_in  # noqa: F401 - the fixture is used by name
from lab_portal.management.commands.seed_demo import DEMO_PASSWORD
from papers.models import Comment

pytestmark = pytest.mark.browser

PAPER = "2606.31029"


def test_researcher_posts_a_comment_with_htmx_and_sees_it_without_a_reload(page, live_server, demo_lab):  # noqa: F811
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/papers/{PAPER}")
    # Survives only as long as the page is not reloaded.
    page.evaluate("window.stillTheSamePage = true")
    thread = page.locator("#thread")

    thread.get_by_label("Add to the discussion").fill(
        "Worth a look: the loss is $\\mathcal{L}_{sat}$, cc @jiwoo"
    )
    thread.get_by_role("button", name="Post comment").click()

    comment = thread.locator("li.comment").last
    expect(comment).to_contain_text("Worth a look")
    expect(comment.locator(".katex")).to_have_count(1)  # typeset after the swap
    expect(comment.get_by_role("link", name="@jiwoo")).to_have_attribute("href", "/people/jiwoo/")
    expect(thread.get_by_label("Add to the discussion")).to_have_value("")
    assert page.evaluate("window.stillTheSamePage") is True
    assert Comment.objects.filter(paper__arxiv_id=PAPER, author__username="minji").count() == 1

    comment.get_by_role("button", name="Thumbs up").click()
    expect(comment.get_by_role("button", name="Thumbs up (1)")).to_have_attribute("aria-pressed", "true")

    comment.locator("summary", has_text="Edit").click()
    comment.get_by_label("Comment").fill("Edited: $x^2$ and $y^2$")
    comment.get_by_role("button", name="Save").click()
    expect(comment).to_contain_text("(edited)")
    expect(comment.locator(".katex")).to_have_count(2)
    assert page.evaluate("window.stillTheSamePage") is True
