"""Notification settings in a real browser: the morning digest switch, with htmx and without."""

import pytest
from playwright.sync_api import expect

from e2e.test_dashboard import demo_lab, log_in  # noqa: F401 - the fixture is used by name
from lab_portal.management.commands.seed_demo import DEMO_PASSWORD
from lab_portal.models import User

pytestmark = pytest.mark.browser


def test_researcher_turns_the_morning_digest_off_and_on_again(page, live_server, demo_lab):  # noqa: F811
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/me/channels/")
    page.evaluate("window.stillTheSamePage = true")
    digest = page.locator("#digest-setting")
    expect(digest).to_contain_text("Every morning after 8:00 your time")

    digest.get_by_role("button", name="Turn the digest off").click()

    expect(digest).to_contain_text("Off: what your watch rules find reaches you only in chat")
    assert page.evaluate("window.stillTheSamePage") is True
    assert User.objects.get(username="minji").morning_digest is False

    # As a plain form (what a browser without JavaScript sends) it posts and comes back with a message:
    # form.submit() skips the submit event htmx listens for.
    page.locator("#digest-setting form").evaluate("form => form.submit()")
    expect(page.locator(".messages")).to_contain_text("The morning e-mail digest is on.")
    expect(page.locator("#digest-setting")).to_contain_text("Every morning after 8:00 your time")
    assert User.objects.get(username="minji").morning_digest is True
