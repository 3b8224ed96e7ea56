"""Sharing in a real browser: from the feed in one click plus the note, to chosen people, and
following a paper's thread."""

import pytest
from playwright.sync_api import expect

from e2e.test_dashboard import demo_lab, log_in  # noqa: F401 - the fixture is used by name
from lab_portal.management.commands.seed_demo import DEMO_PASSWORD
from papers.models import Follower, Notification, Share

pytestmark = pytest.mark.browser

PAPER = "2606.31029"


def test_researcher_shares_a_paper_from_the_feed_with_one_click_and_a_note(page, live_server, demo_lab):  # noqa: F811
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/papers/")
    page.evaluate("window.stillTheSamePage = true")
    card = page.locator("article.paper").first
    arxiv_id = card.locator(".arxiv-id").inner_text().split("v")[0]

    card.get_by_role("link", name="Share").click()
    note = card.get_by_label("Why they should read it")
    expect(note).to_be_focused()
    expect(card.locator(".share-to summary")).to_have_text("To: the lab")
    note.fill("Must read: it beats our baseline")
    card.get_by_role("button", name="Share").click()

    expect(card.locator(".share-done")).to_have_text("Shared with the lab.")
    assert page.evaluate("window.stillTheSamePage") is True
    share = Share.objects.get(paper__arxiv_id=arxiv_id)
    assert (share.person.username, share.note, share.to_lab) == (
        "minji",
        "Must read: it beats our baseline",
        True,
    )


def test_researcher_shares_with_two_people_and_follows_the_thread(page, live_server, demo_lab):  # noqa: F811
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/papers/{PAPER}")
    box = page.locator(".share-box")

    box.get_by_label("Why they should read it").fill("@hana the benchmark you wanted")
    box.locator(".share-to summary").click()
    box.get_by_label("The whole lab (its chat and the Lab page)").uncheck()
    box.get_by_label("Seojun Lee").check()
    box.get_by_label("Jiwoo Park").check()
    box.get_by_role("button", name="Share").click()

    expect(box.locator(".share-done")).to_have_text("Shared with Jiwoo Park, Seojun Lee.")
    share = Share.objects.get(paper__arxiv_id=PAPER)
    assert sorted(share.recipients.values_list("username", flat=True)) == ["jiwoo", "seojun"]
    told = Notification.objects.filter(share=share).values_list("person__username", flat=True)
    assert sorted(told) == ["hana", "jiwoo", "seojun"]  # Hana through the @mention

    thread = page.locator("#thread")
    thread.get_by_role("button", name="Follow").click()
    expect(thread.get_by_role("button", name="Unfollow")).to_be_visible()
    expect(thread).to_contain_text("You follow this thread: every new comment reaches you.")
    assert Follower.objects.filter(paper__arxiv_id=PAPER, person__username="minji").exists()

    # The next page keeps the choice: the form starts with the people chosen last time.
    page.goto(f"{base}/papers/")
    page.locator("article.paper").first.get_by_role("link", name="Share").click()
    expect(page.locator(".share-to summary").first).to_have_text("To: Jiwoo Park, Seojun Lee")
