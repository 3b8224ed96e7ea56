"""The lab bot listens: updates by webhook or long polling, each handled once; chats linked by
one-time codes ("Connect Telegram" for a person, /link for a team's or the lab's group)."""

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import ROOT, database_url
from lab_portal import chat, telegram
from lab_portal.models import Channel, ChatLinkCode, Delivery, TelegramUpdate
from lab_portal.tests.stand_ins import BOT_USERNAME, group_chat, person, private_chat

pytestmark = pytest.mark.django_db

MINJI = person(5551001, "Minji", username="minji_k")
TAEHO = person(5551002, "Taeho", language="ko")
HYUN = person(5551004, "Hyun")
GROUP = group_chat(-1009876543210, "Vision papers")


def connect(client, chat_kind: str = "person", team=None):
    """Press "Connect Telegram" (or a group's link button) and read the code off the page."""
    data = {"chat": chat_kind, **({"team": team.pk} if team is not None else {})}
    response = client.post("/me/telegram/", data)
    assert response.status_code == 200, response.text
    return response, response.context["code"]


def link_private(bot, login, who, sender=MINJI) -> Channel:
    _page, code = connect(login(who))
    bot.say(private_chat(sender), sender, f"/start {code}")
    bot.poll()
    return Channel.objects.get(person=who, kind=Channel.Kind.TELEGRAM, target=str(sender["id"]))


# Connect Telegram ------------------------------------------------------------------------------


def test_connect_telegram_gives_a_one_time_deep_link_stored_only_as_a_hash(login, researcher, bot):
    response, code = connect(login(researcher))

    assert f'href="https://t.me/{BOT_USERNAME}?start={code}"' in response.text
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    row = ChatLinkCode.objects.get()
    assert (row.person, row.scope, row.used_at) == (researcher, "person", None)
    assert code not in row.digest and len(code) >= 24
    assert row.expires_at == row.created_at + timedelta(minutes=30)


def test_start_with_the_code_links_that_private_chat(login, researcher, bot):
    channel = link_private(bot, login, researcher)

    assert (channel.linked_at is not None, channel.title, channel.enabled) == (True, "@minji_k", True)
    [answer] = bot.bot_messages(MINJI["id"])
    assert answer.text.startswith("Telegram is linked to your Lab Portal account, Minji Kim.")
    assert ChatLinkCode.objects.get().used_at is not None
    assert "@minji_k" in login(researcher).get("/me/").text


def test_a_code_works_once(login, researcher, other_researcher, bot):
    _page, code = connect(login(researcher))
    bot.say(private_chat(MINJI), MINJI, f"/start {code}")
    bot.say(private_chat(HYUN), HYUN, f"/start {code}")

    bot.poll()

    assert list(Channel.objects.values_list("target", flat=True)) == [str(MINJI["id"])]
    [refusal] = bot.bot_messages(HYUN["id"])
    assert refusal.text == "This code is unknown, used or expired: ask the portal for a new one."


def test_a_code_expires(login, researcher, bot, time_machine):
    time_machine.move_to("2026-11-27 09:00:00Z", tick=False)
    _page, code = connect(login(researcher))
    time_machine.shift(timedelta(minutes=31))

    bot.say(private_chat(MINJI), MINJI, f"/start {code}")
    bot.poll()

    assert not Channel.objects.exists()
    assert "expired" in bot.bot_messages(MINJI["id"])[0].text


def test_a_new_code_retires_the_last_one(login, researcher, bot):
    client = login(researcher)
    _page, first = connect(client)
    connect(client)

    bot.say(private_chat(MINJI), MINJI, f"/start {first}")
    bot.poll()

    assert not Channel.objects.exists()
    assert ChatLinkCode.objects.usable().count() == 1


def test_a_telegram_account_is_one_person(login, researcher, other_researcher, bot):
    link_private(bot, login, researcher)
    _page, code = connect(login(other_researcher))

    bot.say(private_chat(MINJI), MINJI, f"/start {code}")
    bot.poll()

    assert not Channel.objects.filter(person=other_researcher).exists()
    assert "linked to another portal account" in bot.bot_messages(MINJI["id"])[-1].text
    assert ChatLinkCode.objects.usable().filter(person=other_researcher).exists()  # not spent


def test_a_chat_someone_else_typed_in_by_hand_stops_when_its_owner_links_it(
    login, researcher, other_researcher, bot
):
    typed = Channel.objects.create(
        person=other_researcher, kind=Channel.Kind.TELEGRAM, target=str(MINJI["id"])
    )

    link_private(bot, login, researcher)

    typed.refresh_from_db()
    assert typed.enabled is False
    assert typed.last_error.startswith("Switched off: the owner of this Telegram chat linked it")


def test_linking_again_the_chat_typed_in_before_keeps_the_channel(login, researcher, bot):
    typed = Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=str(MINJI["id"]))

    channel = link_private(bot, login, researcher)

    assert channel.pk == typed.pk and channel.linked_at is not None


def test_connect_telegram_without_a_bot_says_so(login, researcher, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    client = login(researcher)

    page = client.get("/me/")
    response = client.post("/me/telegram/", {"chat": "person"}, follow=True)

    assert "The portal has no Telegram bot yet" in page.text and "/me/telegram/" not in page.text
    assert "The portal has no Telegram bot yet" in response.text
    assert not ChatLinkCode.objects.exists()


def test_connect_telegram_needs_a_login_a_post_and_csrf(researcher, bot):
    anonymous = Client()
    assert anonymous.post("/me/telegram/", {"chat": "person"}).status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(researcher)

    assert strict.get("/me/telegram/").status_code == 405
    assert strict.post("/me/telegram/", {"chat": "person"}).status_code == 403
    assert not ChatLinkCode.objects.exists()


@pytest.mark.parametrize("chat_kind", ["", "anything", "team", "lab"])
def test_only_leads_link_team_groups_and_only_admins_the_lab_group(login, researcher, bot, chat_kind):
    response = login(researcher).post("/me/telegram/", {"chat": chat_kind})

    assert response.status_code == (403 if chat_kind in ("team", "lab") else 400)
    assert not ChatLinkCode.objects.exists()


# Groups -----------------------------------------------------------------------------------------


def test_a_lead_links_the_team_group_with_link_and_the_code(login, lead, team, bot):
    page, code = connect(login(lead), "team", team)
    bot.say(GROUP, MINJI, f"/link@{BOT_USERNAME} {code}")

    bot.poll()

    assert f"/link {code}" in page.text and f"?startgroup={code}" in page.text
    channel = Channel.objects.get()
    assert (channel.team, channel.person, channel.target, channel.title) == (
        team,
        None,
        str(GROUP["id"]),
        "Vision papers",
    )
    [answer] = bot.bot_messages(GROUP["id"])
    assert answer.text.startswith("This group is linked to the Lab Portal for Vision.")


def test_the_admin_links_the_lab_group_through_startgroup(login, portal_admin, bot):
    _page, code = connect(login(portal_admin), "lab")
    bot.say(GROUP, MINJI, f"/start@{BOT_USERNAME} {code}")

    bot.poll()

    channel = Channel.objects.get()
    assert (channel.team, channel.person, channel.linked_at is not None) == (None, None, True)
    assert Channel.objects.for_lab().get() == channel


def test_a_person_code_does_not_link_a_group_nor_a_group_code_a_private_chat(
    login, researcher, lead, team, bot
):
    _page, private_code = connect(login(researcher))
    _page, group_code = connect(login(lead), "team", team)
    bot.say(GROUP, MINJI, f"/link {private_code}")
    bot.say(private_chat(TAEHO), TAEHO, f"/start {group_code}")

    bot.poll()

    assert not Channel.objects.exists()
    assert "links a private chat" in bot.bot_messages(GROUP["id"])[0].text
    # In the language Telegram says the person uses, as they are not linked yet.
    assert bot.bot_messages(TAEHO["id"])[0].text.startswith("그룹을 연결하는 코드입니다.")
    assert ChatLinkCode.objects.usable().count() == 2


def test_a_lead_who_is_no_longer_one_cannot_use_their_code(login, lead, team, bot):
    _page, code = connect(login(lead), "team", team)
    lead.role = lead.Role.RESEARCHER
    lead.save()

    bot.say(GROUP, MINJI, f"/link {code}")
    bot.poll()

    assert not Channel.objects.exists()
    assert bot.bot_messages(GROUP["id"])[0].text == "Only a lead of the team can link its group."


def test_a_command_for_another_bot_in_the_group_is_not_ours(lead, team, bot):
    Channel.objects.create(
        team=team, kind=Channel.Kind.TELEGRAM, target=str(GROUP["id"]), linked_at=timezone.now()
    )

    bot.say(GROUP, MINJI, "/help@some_other_bot")
    bot.poll()

    assert bot.bot_messages(GROUP["id"]) == []


def test_a_group_that_becomes_a_supergroup_keeps_its_channel(team, bot):
    channel = Channel.objects.create(
        team=team, kind=Channel.Kind.TELEGRAM, target="-4455", linked_at=timezone.now()
    )

    bot.inject(
        {"message": {"message_id": 1, "chat": {"id": -4455, "type": "group"}, "migrate_to_chat_id": -1004455}}
    )
    bot.poll()

    channel.refresh_from_db()
    assert channel.target == "-1004455"


# Strangers and /help ----------------------------------------------------------------------------


def test_help_in_a_private_chat_lists_the_commands_in_the_senders_language(bot):
    bot.say(private_chat(TAEHO), TAEHO, "/help")
    bot.say(private_chat(MINJI), MINJI, "/start")

    bot.poll()

    [korean] = bot.bot_messages(TAEHO["id"])
    [english] = bot.bot_messages(MINJI["id"])
    assert "/today" in english.text and "/search" in english.text and "/help — this list" in english.text
    assert "Share (with those you shared with last time)" in english.text
    assert "/today" in korean.text and "/help — this list" not in korean.text
    assert not TelegramUpdate.objects.exclude(payload={}).exists()


def test_an_unlinked_person_asking_for_their_papers_is_told_how_to_link(bot, settings):
    bot.say(private_chat(MINJI), MINJI, "/today")

    bot.poll()

    [hint] = bot.bot_messages(MINJI["id"])
    assert hint.text.startswith("Your Telegram is not linked to the Lab Portal yet.")
    assert f"{settings.SITE_URL}/me/" in hint.text
    assert not Channel.objects.exists() and not Delivery.objects.exists()


def test_a_group_the_portal_does_not_post_to_hears_only_help_and_link(bot):
    bot.say(GROUP, MINJI, "/today")
    bot.say(GROUP, MINJI, "hello everyone")

    bot.poll()

    assert bot.bot_messages(GROUP["id"]) == []


# Webhook ------------------------------------------------------------------------------------------


def post_update(client, update: dict, secret: str | None) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post(
        "/telegram/webhook/", update, content_type="application/json", headers=headers
    ).status_code


def help_update(update_id: int = 900001) -> dict:
    message = {"message_id": 5, "from": MINJI, "chat": private_chat(MINJI), "date": 0, "text": "/help"}
    return {"update_id": update_id, "message": message}


def test_the_webhook_needs_the_secret_token(client, bot):
    assert post_update(client, help_update(), None) == 403
    assert post_update(client, help_update(), "wrong") == 403
    assert post_update(client, help_update(), telegram.webhook_secret()[:-1]) == 403

    assert not TelegramUpdate.objects.exists()
    assert bot.arrivals == []


def test_the_webhook_stores_and_handles_an_update_once(client, bot, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = post_update(client, help_update(), telegram.webhook_secret())
        again = post_update(client, help_update(), telegram.webhook_secret())  # Telegram retried

    assert (first, again) == (200, 200)
    [row] = TelegramUpdate.objects.all()
    assert (row.update_id, row.kind, row.handled_at is not None, row.payload) == (900001, "message", True, {})
    assert len(bot.bot_messages(MINJI["id"])) == 1


@pytest.mark.parametrize(
    "body", ["not json", "[]", '{"message": {}}', '{"update_id": "7"}', '{"update_id": true}']
)
def test_the_webhook_answers_400_to_what_is_not_an_update(client, bot, body):
    response = client.post(
        "/telegram/webhook/", body, content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": telegram.webhook_secret()},
    )  # fmt: skip

    assert response.status_code == 400
    assert not TelegramUpdate.objects.exists()


def test_the_webhook_takes_an_update_with_a_nul_character(client, bot, django_capture_on_commit_callbacks):
    update = help_update()
    update["message"]["text"] = "/help\u0000"
    update["message"]["chat"]["first_name"] = "Min\u0000ji"

    with django_capture_on_commit_callbacks(execute=True):
        assert post_update(client, update, telegram.webhook_secret()) == 200

    assert TelegramUpdate.objects.get().error == ""
    assert len(bot.bot_messages(MINJI["id"])) == 1


def test_the_webhook_is_404_without_a_bot_and_405_to_a_get(client, settings):
    assert client.get("/telegram/webhook/").status_code == 405
    settings.TELEGRAM_BOT_TOKEN = ""

    assert post_update(client, help_update(), "anything") == 404


def test_an_update_that_breaks_a_handler_is_recorded_and_the_next_one_still_handled(
    login, researcher, bot, monkeypatch
):
    def broken(person, words):
        raise RuntimeError("the handler broke")

    link_private(bot, login, researcher)
    monkeypatch.setitem(chat._commands, "today", chat._Command(help="", run=broken))
    bot.say(private_chat(MINJI), MINJI, "/today")
    bot.say(private_chat(MINJI), MINJI, "/help")

    bot.poll()

    broke, helped = TelegramUpdate.objects.order_by("update_id")[1:]
    assert (broke.error, broke.handled_at is not None) == ("RuntimeError: the handler broke", True)
    assert (helped.error, helped.handled_at is not None) == ("", True)
    assert "/help — this list" in bot.bot_messages(MINJI["id"])[-1].text


# Long polling ---------------------------------------------------------------------------------


def test_polling_again_after_a_restart_handles_nothing_twice(bot):
    bot.say(private_chat(MINJI), MINJI, "/help")

    bot.poll()
    bot.poll()  # a new process starts without an offset: Telegram sends the update again

    assert TelegramUpdate.objects.count() == 1
    assert len(bot.bot_messages(MINJI["id"])) == 1


def test_a_poll_confirms_what_it_handled_with_its_next_offset(bot):
    bot.say(private_chat(MINJI), MINJI, "/help")

    call_command("telegram_poll", "--once", stdout=StringIO())
    stored = TelegramUpdate.objects.get().update_id
    chat_offset = telegram.get_updates(offset=stored + 1, timeout=0)

    assert chat_offset == []


def test_an_update_delivered_twice_is_handled_once(bot):
    update = help_update()
    bot.inject({"message": update["message"]}, update_id=update["update_id"])
    bot.inject({"message": update["message"]}, update_id=update["update_id"])

    bot.poll()

    assert TelegramUpdate.objects.count() == 1
    assert len(bot.bot_messages(MINJI["id"])) == 1


def test_two_pollers_at_once_handle_each_update_once(transactional_db, telegram):
    for n in range(5):
        telegram.say(private_chat(MINJI), MINJI, f"/help {n}")
    errors = []

    def poll():
        try:
            call_command("telegram_poll", "--once", stdout=StringIO())
        except Exception as error:  # reported below, so a failure names its cause
            errors.append(error)
        finally:
            connection.close()

    pollers = [threading.Thread(target=poll) for _ in range(2)]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join()

    assert errors == []
    assert TelegramUpdate.objects.filter(handled_at__isnull=False).count() == 5
    assert Delivery.objects.count() == 0  # a stranger's chat: answered directly, once per update
    assert len(telegram.bot_messages(MINJI["id"])) == 5


def test_polling_while_a_webhook_is_set_says_how_to_switch(bot):
    telegram.set_webhook("https://portal.example.org/telegram/webhook/")

    with pytest.raises(CommandError, match="telegram_webhook delete"):
        call_command("telegram_poll", "--once", stdout=StringIO())


def test_polling_without_a_bot_stops_with_the_reason(settings):
    settings.TELEGRAM_BOT_TOKEN = ""

    with pytest.raises(CommandError, match="TELEGRAM_BOT_TOKEN is not set"):
        call_command("telegram_poll", "--once")


def test_updates_whose_task_was_lost_are_handled_by_the_beat(
    bot, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to("2026-11-27 09:00:00Z", tick=False)
    row = chat.receive(help_update())
    old = TelegramUpdate.objects.create(update_id=1, handled_at=timezone.now() - timedelta(days=8))

    time_machine.shift(timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=True):
        early = chat.handle_waiting()
    time_machine.shift(timedelta(seconds=31))
    with django_capture_on_commit_callbacks(execute=True):
        late = chat.handle_waiting()

    assert early == {"handled": 0, "forgotten": 1}
    assert late == {"handled": 1, "forgotten": 0}
    row.refresh_from_db()
    assert row.handled_at is not None
    assert not TelegramUpdate.objects.filter(pk=old.pk).exists()
    assert len(bot.bot_messages(MINJI["id"])) == 1


# The webhook command ------------------------------------------------------------------------------


def test_telegram_webhook_set_points_telegram_at_the_portal_with_the_secret(bot, settings):
    settings.SITE_URL = "https://portal.lab.example.org"
    out = StringIO()

    call_command("telegram_webhook", "set", stdout=out)
    call_command("telegram_webhook", "info", stdout=out)

    [call] = bot.calls("setWebhook")
    assert call.body["url"] == "https://portal.lab.example.org/telegram/webhook/"
    assert call.body["secret_token"] == telegram.webhook_secret()
    assert call.body["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert "Webhook: https://portal.lab.example.org/telegram/webhook/" in out.getvalue()
    call_command("telegram_webhook", "delete", stdout=out)
    assert bot.webhook_url == ""


def test_telegram_webhook_refuses_a_plain_http_address(bot, settings):
    settings.SITE_URL = "http://portal.lab.example.org"

    with pytest.raises(CommandError, match="only to HTTPS"):
        call_command("telegram_webhook", "set")

    assert bot.calls("setWebhook") == []


def test_the_webhook_secret_changes_with_the_token(settings):
    settings.TELEGRAM_BOT_TOKEN = "1:a"
    first = telegram.webhook_secret()
    settings.TELEGRAM_BOT_TOKEN = "1:b"

    assert first != telegram.webhook_secret()
    assert len(first) == 64 and first.isalnum()


def test_an_update_a_stopped_poller_stored_but_did_not_handle_is_handled_by_the_next(bot):
    update = help_update()
    chat.receive(update)  # the poller stopped right after storing it
    bot.inject({"message": update["message"]}, update_id=update["update_id"])

    bot.poll()

    assert TelegramUpdate.objects.get().handled_at is not None
    assert len(bot.bot_messages(MINJI["id"])) == 1


def test_the_poller_stops_at_once_when_told_to_while_it_waits_for_telegram(telegram, transactional_db):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TELEGRAM_API_BASE": telegram.base,
        "TELEGRAM_BOT_TOKEN": telegram.token,
    }
    poller = subprocess.Popen(
        [sys.executable, "manage.py", "telegram_poll", "--timeout", "600"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    telegram.wait_for(2)  # getMe, then the long poll it now waits on

    poller.send_signal(signal.SIGTERM)

    assert poller.wait(timeout=30) == 0
    assert [arrival.path.rsplit("/", 1)[1] for arrival in telegram.arrivals] == ["getMe", "getUpdates"]
