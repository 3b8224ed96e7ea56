"""The lab bot end to end: Telegram (the stand-in) posts each update to the portal's webhook on a
live server, a real Celery worker handles it and sends what the bot says back to Telegram."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from conftest import eventually, wait_until_idle
from lab_portal.celery import app
from lab_portal.models import Channel, TelegramUpdate
from lab_portal.tests.stand_ins import TelegramServer, group_chat, person, private_chat
from papers.models import Bookmark, Comment, FetchRun, WatchRule
from papers.sharing import share_paper
from papers.tasks import match_watch_rules
from papers.tests.factories import make_paper

pytestmark = pytest.mark.redis

MINJI = person(5551001, "Minji", username="minji_k")
LAB_GROUP = group_chat(-1001111111111, "The lab")
PAPER = {"arxiv_id": "2611.00001", "title": "Video diffusion with sparse attention"}


@pytest.fixture(scope="module")
def worker_telegram():
    """One stand-in for the module: the worker reads its address from the environment."""
    with TelegramServer() as server:
        yield server


@pytest.fixture(scope="module")
def worker_queue(start_celery_worker, worker_telegram, live_server) -> str:
    env = {
        "TELEGRAM_API_BASE": worker_telegram.base,
        "TELEGRAM_BOT_TOKEN": worker_telegram.token,
        "NOTIFY_HTTP_TIMEOUT": "20",
        "SITE_URL": live_server.url,
    }
    queue, _log = start_celery_worker(env=env, include=["lab_portal.tests.celery_tasks"])
    return queue


@pytest.fixture
def tg(worker_queue, worker_telegram, live_server, settings):
    """Telegram posts updates to the live server's webhook; every task goes to the real worker."""
    worker_telegram.reset()
    settings.TELEGRAM_API_BASE, settings.TELEGRAM_BOT_TOKEN = worker_telegram.base, worker_telegram.token
    call_command(
        "telegram_webhook", "set", "--url", f"{live_server.url}/telegram/webhook/", stdout=StringIO()
    )
    default_queue, app.conf.task_default_queue = app.conf.task_default_queue, worker_queue
    app.conf.task_always_eager = False
    yield worker_telegram
    app.conf.task_always_eager = True
    app.conf.task_default_queue = default_queue
    wait_until_idle(worker_queue)


def test_link_by_start_get_the_morning_post_and_save_a_paper_to_the_library(
    transactional_db, tg, researcher, client
):
    client.force_login(researcher)
    code = client.post("/me/telegram/", {"chat": "person"}).context["code"]

    tg.say(private_chat(MINJI), MINJI, f"/start {code}")

    eventually(lambda: tg.bot_messages(MINJI["id"]), "the bot to confirm the link")
    assert tg.webhook_answers == [200]
    assert Channel.objects.linked_account(MINJI["id"]).get().person == researcher

    WatchRule.objects.create(person=researcher, name="Video", query="video")
    run = FetchRun.objects.create(kind=FetchRun.Kind.DAILY, started_at=timezone.now() - timedelta(seconds=1))
    make_paper(run=run, **PAPER)
    FetchRun.objects.filter(pk=run.pk).update(status=FetchRun.Status.SUCCEEDED, finished_at=timezone.now())
    match_watch_rules.apply_async(kwargs={"run_id": run.pk}).get(timeout=60)
    post = eventually(lambda: tg.bot_messages(MINJI["id"])[1:], "the morning post")[0]
    assert post.text.startswith("Your papers for ") and PAPER["title"] in post.text

    tg.press(private_chat(MINJI), MINJI, post, "Save")

    eventually(lambda: tg.calls("answerCallbackQuery"), "the answer to the button")
    assert tg.calls("answerCallbackQuery")[0].body["text"] == "Saved to your library."
    assert Bookmark.objects.get(user=researcher).paper.arxiv_id == PAPER["arxiv_id"]
    assert PAPER["title"] in client.get("/papers/library/").text


def test_a_reply_in_the_group_is_a_comment_and_a_portal_comment_a_reply_in_the_group(
    transactional_db, tg, researcher, other_researcher, client
):
    Channel.objects.create(kind=Channel.Kind.TELEGRAM, target=str(LAB_GROUP["id"]), linked_at=timezone.now())
    Channel.objects.create(
        person=researcher, kind=Channel.Kind.TELEGRAM, target=str(MINJI["id"]), linked_at=timezone.now()
    )
    paper = make_paper(**PAPER)
    share_paper(paper, sharer=other_researcher, note="The ablations are worth it")
    [shared] = eventually(lambda: tg.bot_messages(LAB_GROUP["id"]), "the share in the lab group")

    tg.say(LAB_GROUP, MINJI, "We should try this on our dataset.", reply_to=shared)

    comment = eventually(lambda: Comment.objects.first(), "the reply to become a comment")
    assert (comment.author, comment.body) == (researcher, "We should try this on our dataset.")
    client.force_login(other_researcher)
    assert "We should try this on our dataset." in client.get(paper.get_absolute_url()).text

    client.post(f"/papers/comment/{paper.arxiv_id}", {"body": "Table 3 has the numbers."})

    mirrored = eventually(lambda: tg.bot_messages(LAB_GROUP["id"])[1:], "the portal comment in the group")[0]
    assert mirrored.reply_to == shared.message_id
    assert mirrored.text.startswith("Taeho Yoon on “Video diffusion with sparse attention”")
    assert "Table 3 has the numbers." in mirrored.text
    assert len(tg.bot_messages(LAB_GROUP["id"])) == 2  # the reply from the group was not echoed


def test_an_update_delivered_twice_is_handled_once(transactional_db, tg, researcher):
    Channel.objects.create(
        person=researcher, kind=Channel.Kind.TELEGRAM, target=str(MINJI["id"]), linked_at=timezone.now()
    )
    message = {"message_id": 9, "from": MINJI, "chat": private_chat(MINJI), "date": 0, "text": "/help"}

    tg.inject({"message": message}, update_id=800001)
    tg.inject({"message": message}, update_id=800001)  # Telegram did not hear our first answer

    eventually(lambda: tg.bot_messages(MINJI["id"]), "the answer")
    wait_until_idle(app.conf.task_default_queue)
    assert tg.webhook_answers == [200, 200]
    assert TelegramUpdate.objects.count() == 1
    [answer] = tg.bot_messages(MINJI["id"])
    assert "/today" in answer.text
