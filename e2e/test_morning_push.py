"""The morning push tried end to end as a new researcher would, with the stand-ins: link Telegram
with one tap, one readable morning post in the watcher's round that sees arXiv's announcement,
Save, Discuss and Share from the chat, a reply in the lab's group in the portal's thread and a
portal comment in the group, and an OAI backfill of last June that pushes nothing."""

# ruff: noqa: RUF001 - the expected texts are Unicode mathematics on purpose

import json
import re
from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from e2e.test_dashboard import log_in
from e2e.test_telegram import PASSWORD, code_of, poll
from lab_portal.models import Channel, User
from lab_portal.tests.stand_ins import group_chat, person, private_chat
from papers.models import Bookmark, Comment, FetchRun, Notification, Paper, Share, WatchRule
from papers.tasks import watch_announcement
from papers.tests.arxiv_server import (
    TESTING_PAGES,
    ArxivServer,
    Reply,
    categories_of,
    dated,
    entries,
    new_entry,
)

pytestmark = pytest.mark.browser

NEW_YORK = ZoneInfo("America/New_York")
MONDAY, TUESDAY = date(2026, 11, 23), date(2026, 11, 24)
MINJI = person(5551001, "Minji", username="minji_k")
JIWOO = person(5551003, "Jiwoo")
LAB_GROUP = group_chat(-1001111111111, "The lab")
SOFTWARE = [entry for entry in entries(*TESTING_PAGES) if "cs.SE" in categories_of(entry)]
BANDITS = "2611.99001"
READABLE = "Regret 𝒪(√(T)) for Schrödinger bandits"
OAI_PAGE = json.loads(
    (
        Path(__file__).resolve().parent.parent
        / "papers/tests/data/oai/oai-pmh__oaipmh-listrecords---should-list-identifiers-from-arxiv.json"
    ).read_text()
)[1]


def new_york(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=NEW_YORK)


def batch(day: date, recorded) -> list:
    return [dated(entry, new_york(day, 9, 0) + timedelta(minutes=5 * n)) for n, entry in enumerate(recorded)]


def watcher_round(moment: datetime) -> str:
    """One round of the announcement watcher as the beat sends it, at `moment` (tasks in-process)."""
    with time_machine.travel(moment, tick=False):
        return watch_announcement.delay().get()["decision"]


def bandits_title() -> str:
    return Paper.objects.get(arxiv_id=BANDITS).title


def number_of(message, title: str) -> int:
    [number] = [int(n) for n, shown in re.findall(r"^(\d+)\. (.+)$", message.text, re.M) if shown == title]
    return number


@pytest.fixture
def arxiv(settings):
    settings.ARXIV_CATEGORIES = ["cs.SE"]
    settings.CHAT_POST_PAPERS = 10
    with ArxivServer() as server:
        server.configure(settings)
        yield server


def test_a_new_researcher_gets_the_morning_push_and_discusses_in_both_places(
    page, live_server, transactional_db, telegram, arxiv
):
    base = live_server.url
    minji = User.objects.create_user("minji", password=PASSWORD, display_name="Minji Kim")
    jiwoo = User.objects.create_user("jiwoo", password=PASSWORD, display_name="Jiwoo Park")
    Channel.objects.create(
        person=jiwoo, kind=Channel.Kind.TELEGRAM, target=str(JIWOO["id"]), linked_at=timezone.now()
    )
    Channel.objects.create(kind=Channel.Kind.TELEGRAM, target=str(LAB_GROUP["id"]), linked_at=timezone.now())
    # Monday's announcement is stored already.
    arxiv.serve_entries([])
    arxiv.announce(batch(MONDAY, SOFTWARE[:5]), at=new_york(MONDAY, 20, 0))
    assert watcher_round(new_york(MONDAY, 20, 0, 20)) == "announced"

    # One tap: "Connect Telegram" on the profile opens the bot, which links the chat.
    log_in(page, base, "minji", PASSWORD)
    page.goto(f"{base}/me/")
    page.locator("#telegram").get_by_role("button", name="Connect Telegram").click()
    link = page.get_by_role("link", name="Open Telegram").get_attribute("href")
    telegram.say(private_chat(MINJI), MINJI, f"/start {code_of(link)}")
    poll()
    page.get_by_role("link", name="Done? Back to the portal").click()
    expect(page.locator("#telegram")).to_contain_text("Linked to @minji_k since")
    WatchRule.objects.create(person=minji, name="Software", categories=["cs.SE"])
    WatchRule.objects.create(person=minji, name="Discrete", categories=["cs.DM"])

    # Tuesday: arXiv announces at 20:01:05; the round after it fetches, matches and posts.
    bandits = new_entry(
        arxiv_id=BANDITS,
        title=r"Regret $\mathcal{O}(\sqrt{T})$ for \emph{Schr\"odinger} bandits",
        abstract=r"We bound the regret by $\mathcal{O}(\sqrt{T})$. It is tight. More follows.",
        authors=["Ada Lovelace"],
        categories=["cs.SE"],
        updated=new_york(TUESDAY, 10, 0),
    )
    tuesdays = [*batch(TUESDAY, SOFTWARE[5:8]), bandits]
    arxiv.announce(tuesdays, at=new_york(TUESDAY, 20, 1, 5))
    assert watcher_round(new_york(TUESDAY, 20, 0, 50)) == "not yet"
    assert len(telegram.bot_messages(MINJI["id"])) == 1  # the welcome only
    assert watcher_round(new_york(TUESDAY, 20, 1, 20)) == "announced"

    welcome, post = telegram.bot_messages(MINJI["id"])
    assert welcome.text.startswith("Telegram is linked to your Lab Portal account, Minji Kim.")
    titles = set(Paper.objects.filter(first_announced=date(2026, 11, 25)).values_list("title", flat=True))
    assert len(titles) == 4 and all(post.text.count(title) == 1 for title in titles - {bandits_title()})
    assert post.text.startswith("Your papers for 25 November 2026")
    assert f". {READABLE}\nWe bound the regret by 𝒪(√(T)). It is tight.\n" in post.text
    assert "\\mathcal" not in post.text and "More follows" not in post.text
    monday_titles = Paper.objects.filter(first_announced=date(2026, 11, 24)).values_list("title", flat=True)
    assert not any(title in post.text for title in monday_titles)
    n = number_of(post, READABLE)

    # Save and Discuss from the chat.
    telegram.press(private_chat(MINJI), MINJI, post, f"Save {n}")
    telegram.press(private_chat(MINJI), MINJI, post, f"Discuss {n}")
    poll()
    assert Bookmark.objects.filter(user=minji, paper__arxiv_id=BANDITS).exists()
    page.goto(f"{base}/papers/library/")
    expect(page.locator(f'main a[href="/papers/{BANDITS}"]').first).to_be_visible()
    thread_link = telegram.bot_messages(MINJI["id"])[-1]
    assert thread_link.reply_to == post.message_id
    assert f'/papers/{BANDITS}#thread"' in telegram.sent()[-1].body["text"]

    # Share from the chat: the first share goes to the lab, whose group gets the paper's message.
    telegram.press(private_chat(MINJI), MINJI, post, f"Share {n}")
    poll()
    assert Share.objects.get().to_lab
    [shared] = telegram.bot_messages(LAB_GROUP["id"])
    assert shared.text.startswith("Minji Kim shared a paper with the lab") and READABLE in shared.text

    # A reply in the group is a comment in the portal's thread.
    telegram.say(LAB_GROUP, JIWOO, "Table 2 says the bound is tight.", reply_to=shared)
    poll()
    page.goto(f"{base}/papers/{BANDITS}")
    thread = page.locator("#thread")
    expect(thread.locator("li.comment").first).to_contain_text("Table 2 says the bound is tight.")
    expect(thread.locator("li.comment").first).to_contain_text("Jiwoo Park")

    # A comment in the portal is a reply under the paper's message in the group.
    thread.get_by_label("Add to the discussion").fill("Does it hold for adaptive adversaries?")
    thread.get_by_role("button", name="Post comment").click()
    expect(thread.locator("li.comment").last).to_contain_text("Does it hold for adaptive adversaries?")
    mirrored = telegram.bot_messages(LAB_GROUP["id"])[-1]
    assert mirrored.reply_to == shared.message_id
    assert mirrored.text.startswith(f"Minji Kim on “{READABLE}”")
    assert "Does it hold for adaptive adversaries?" in mirrored.text
    assert Comment.objects.filter(author=minji).count() == 1

    # An OAI backfill of last June stores its papers and pushes nothing.
    sent_before = len(telegram.sent())
    arxiv.fail(0, Reply(OAI_PAGE["response"].encode()))
    call_command(
        "fetch_arxiv", "--oai", "--from", "2026-06-01", "--until", "2026-06-30", "--category", "cs.DM",
        stdout=StringIO(),
    )  # fmt: skip
    run = FetchRun.objects.latest()
    assert (run.kind, run.status, run.new_count) == (FetchRun.Kind.OAI, FetchRun.Status.SUCCEEDED, 1)
    assert not Notification.objects.filter(rule__name="Discrete").exists()
    assert len(telegram.sent()) == sent_before
