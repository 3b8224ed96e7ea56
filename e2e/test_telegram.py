"""Telegram in a real browser: "Connect Telegram" on the profile and /start in the chat, a lead
linking the team's group, "Not for me" on a paper's page, and an urgent watch rule."""

from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from e2e.test_dashboard import log_in
from lab_portal.models import Channel, Team, User
from lab_portal.tests.stand_ins import BOT_USERNAME, group_chat, person, private_chat
from papers.models import Dismissal, WatchRule
from papers.tests.factories import make_paper

pytestmark = pytest.mark.browser

PASSWORD = "a-long-password-1"
MINJI = person(5551001, "Minji", username="minji_k")
GROUP = group_chat(-1009876543210, "Vision papers")


def poll() -> None:
    """The portal's poller takes what happened in the chats (tasks run in-process here)."""
    call_command("telegram_poll", "--once", stdout=StringIO())


def code_of(link: str) -> str:
    [code] = parse_qs(urlsplit(link).query).get("start") or parse_qs(urlsplit(link).query)["startgroup"]
    return code


def test_connect_telegram_from_the_profile_and_start_the_bot(page, live_server, transactional_db, telegram):
    User.objects.create_user("minji", password=PASSWORD, display_name="Minji Kim")
    base = live_server.url
    log_in(page, base, "minji", PASSWORD)

    page.goto(f"{base}/me/")
    telegram_box = page.locator("#telegram")
    expect(telegram_box).to_contain_text("Connect Telegram to get your papers there each morning")
    telegram_box.get_by_role("button", name="Connect Telegram").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Connect Telegram")
    link = page.get_by_role("link", name="Open Telegram").get_attribute("href")
    assert link.startswith(f"https://t.me/{BOT_USERNAME}?start=")
    telegram.say(private_chat(MINJI), MINJI, f"/start {code_of(link)}")
    poll()

    page.get_by_role("link", name="Done? Back to the portal").click()
    expect(page.locator("#telegram")).to_contain_text("Linked to @minji_k since")
    expect(page.locator("#telegram").get_by_role("button")).to_have_text("Connect another Telegram")
    [welcome] = telegram.bot_messages(MINJI["id"])
    assert welcome.text.startswith("Telegram is linked to your Lab Portal account, Minji Kim.")


def test_a_lead_links_the_team_group(page, live_server, transactional_db, telegram):
    team = Team.objects.create(name="Vision", slug="vision")
    lead = User.objects.create_user(
        "jiwoo", password=PASSWORD, display_name="Jiwoo Park", role="lead", team=team
    )
    team.leads.add(lead)  # set by an admin
    base = live_server.url
    log_in(page, base, "jiwoo", PASSWORD)

    page.goto(f"{base}/me/channels/")
    page.get_by_role("button", name="Link a Telegram group for Vision").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Link the Telegram group of Vision")
    message = page.get_by_label("The message to send in the group").input_value()
    assert message.startswith("/link ")
    telegram.say(GROUP, MINJI, message)
    poll()

    page.goto(f"{base}/me/channels/")
    expect(page.locator("article.channel", has_text="Vision papers")).to_have_count(1)
    assert Channel.objects.get().team == team


def test_not_for_me_on_a_papers_page_and_undo(page, live_server, transactional_db):
    minji = User.objects.create_user("minji", password=PASSWORD, display_name="Minji Kim")
    paper = make_paper(title="Graph transformers for molecules")
    base = live_server.url
    log_in(page, base, "minji", PASSWORD)

    page.goto(f"{base}{paper.get_absolute_url()}")
    page.get_by_role("button", name="Not for me").click()

    expect(page.locator(".messages")).to_contain_text("Noted: fewer papers like this one.")
    assert Dismissal.objects.filter(person=minji, paper=paper).exists()
    page.get_by_role("button", name="Undo “not for me”").click()
    expect(page.locator(".messages")).to_contain_text("Marked as of interest again.")
    assert not Dismissal.objects.exists()


def test_an_urgent_watch_rule_saves_and_says_so(page, live_server, transactional_db):
    User.objects.create_user("minji", password=PASSWORD, display_name="Minji Kim")
    base = live_server.url
    log_in(page, base, "minji", PASSWORD)

    page.goto(f"{base}/papers/watch/new/")
    page.get_by_label("Name").fill("Hinton watch")
    page.get_by_label("Authors").fill("Geoffrey Hinton")
    expect(page.get_by_label("In the morning chat post")).to_be_checked()
    page.get_by_label("Urgent: send to chat at once").check()
    page.get_by_role("button", name="Save").click()

    rule = WatchRule.objects.get()
    assert (rule.urgent, rule.in_chat) == (True, True)
    expect(page.locator(f"#rule-{rule.pk}")).to_contain_text("Urgent: sent to chat at once.")
