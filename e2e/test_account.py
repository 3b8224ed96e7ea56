"""A person's account in a real browser: a new e-mail address through to the link mailed to it,
and a Slack channel with its test message, which a worker sends while the page follows it."""

import re

import pytest
from playwright.sync_api import expect

from e2e.test_dashboard import log_in
from lab_portal.celery import app as celery_app
from lab_portal.models import Channel, User
from lab_portal.tasks import send_delivery

pytestmark = pytest.mark.browser

PASSWORD = "a-long-password-1"
NEW = "minji.kim@new.example.org"


@pytest.fixture
def minji(transactional_db) -> User:
    return User.objects.create_user(
        "minji", password=PASSWORD, display_name="Minji Kim", email="minji@lab.example.org"
    )


def test_a_new_address_is_used_once_the_mailed_link_is_opened(page, live_server, minji, smtp):
    base = live_server.url
    log_in(page, base, "minji", PASSWORD)

    page.goto(f"{base}/me/")
    page.get_by_label("E-mail address").fill(NEW)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="Waiting for you to confirm")).to_contain_text(NEW)
    expect(page.get_by_label("E-mail address")).to_have_value("minji@lab.example.org")
    [mail] = smtp.messages
    assert mail["To"] == NEW
    link = re.search(
        r"http://127\.0\.0\.1:8000(/me/email/confirm/\S+/)", mail.get_body(("plain",)).get_content()
    )

    page.goto(base + link.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your e-mail address")
    page.get_by_role("button", name="Confirm this address").click()

    expect(page).to_have_url(f"{base}/me/")
    expect(page.locator(".messages")).to_contain_text(f"{NEW} is now your e-mail address.")
    expect(page.get_by_label("E-mail address")).to_have_value(NEW)
    minji.refresh_from_db()
    assert (minji.email, minji.pending_email) == (NEW, "")


@pytest.fixture
def no_worker_yet(settings):
    """Tasks go to the broker and wait there, as they do until a worker takes them; the test
    then runs the one it wants, as the worker would."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True
    celery_app.control.purge()


def test_a_slack_channel_and_its_test_message(page, live_server, minji, slack, no_worker_yet):
    base = live_server.url
    log_in(page, base, "minji", PASSWORD)
    page.goto(f"{base}/me/channels/")
    add = page.locator("section").filter(has=page.get_by_role("heading", name="Add a channel"))

    # A URL aimed at a port of the allowed host is refused with the reason.
    add.get_by_label("Kind").select_option("slack")
    add.get_by_label("Webhook URL or address").fill(f"https://{slack.host}:6379/services/T0/B0/x")
    add.get_by_role("button", name="Add").click()
    expect(page.locator(".errorlist")).to_contain_text("Paste the incoming webhook URL Slack gave you")
    assert not Channel.objects.exists()

    add = page.locator("section").filter(has=page.get_by_role("heading", name="Add a channel"))
    add.get_by_label("Kind").select_option("slack")
    add.get_by_label("Webhook URL or address").fill(slack.url)
    add.get_by_role("button", name="Add").click()
    expect(page.locator(".messages")).to_contain_text("Channel added: Slack.")
    channel = Channel.objects.get()
    row = page.locator(f"#channel-{channel.pk}")

    row.get_by_role("button", name="Send a test message").click()
    expect(row.get_by_role("status")).to_contain_text("Test message queued")
    assert slack.arrivals == []
    channel.refresh_from_db()
    send_delivery.apply(kwargs={"delivery_id": channel.last_test_id})  # the worker's turn

    # The row asks the portal again by itself and shows how it went.
    expect(row.get_by_role("status")).to_contain_text("Test message sent: Slack accepted the message.")
    [arrival] = slack.arrivals
    assert arrival.body["text"].startswith("*Test message from the Lab Portal*")


def test_a_researcher_profile_shows_the_team_but_does_not_offer_it(page, live_server, minji, team):
    minji.team = team
    minji.save()
    log_in(page, live_server.url, "minji", PASSWORD)

    page.goto(f"{live_server.url}/me/")

    expect(page.locator("dl.facts")).to_contain_text("Vision")
    expect(page.get_by_label("Team")).to_have_count(0)
