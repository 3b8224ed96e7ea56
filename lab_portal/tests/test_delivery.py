"""Reliable delivery: retries as each service asks, failures shown, and nothing sent twice."""

import os
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lab_portal.celery import app
from lab_portal.models import Channel, Delivery
from lab_portal.notify import (
    LOST,
    Item,
    Message,
    deliver,
    notify,
    notify_each,
    notify_lab,
    notify_outside,
    requeue,
)
from lab_portal.tasks import dispatch_deliveries, send_delivery
from lab_portal.tests.stand_ins import (
    TOKEN,
    Reply,
    SilentServer,
    TelegramServer,
    accepted_late,
    hang,
    local_hosts,
    rate_limited,
    slack_error,
    telegram_error,
)

pytestmark = pytest.mark.django_db

START = "2026-11-27 09:00:00Z"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def chat(researcher) -> Channel:
    return Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target="4242")


@pytest.fixture
def send_now(django_capture_on_commit_callbacks):
    def send(recipient, message: Message) -> Delivery:
        with django_capture_on_commit_callbacks(execute=True):
            [delivery] = notify(recipient, message)
        delivery.refresh_from_db()
        return delivery

    return send


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a task in-process as a worker would, with what it enqueues on commit."""

    def run_task(task, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return task.delay(**kwargs).get()

    return run_task


def message(key: str = "match:1:2606.00042v1") -> Message:
    item = Item(
        title="Attention & retrieval",
        authors=["Jiwoo Park"],
        why="keyword “retrieval”",
        portal_url="/papers/2606.00042",
        external_url="https://arxiv.org/abs/2606.00042",
    )
    return Message(subject="New paper", dedupe_key=key, items=[item])


def attempt(delivery: Delivery) -> Delivery:
    """What the worker does when the task message arrives: one attempt, if it is due."""
    send_delivery.delay(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


# Retries ----------------------------------------------------------------------------------------


def _tell(people, key: str) -> tuple[int, list[Delivery]]:
    messages = [(p, Message(subject="Please review", dedupe_key=f"{key}:{p.pk}")) for p in people]
    with CaptureQueriesContext(connection) as captured:
        created = notify_each(messages)
    return len(captured), created


def test_telling_many_people_at_once_takes_as_many_statements_as_telling_two(make_person):
    few = [make_person(f"few{n}") for n in range(2)]
    many = [make_person(f"many{n}") for n in range(6)]
    Channel.objects.create(person=many[0], kind=Channel.Kind.TELEGRAM, target="77")

    few_queries, _created = _tell(few, "review")
    many_queries, created = _tell(many, "review")
    _queries, again = _tell(many, "review")

    assert few_queries == many_queries
    # The one with a chat gets it there; the others on the e-mail channel made for them.
    assert sorted((d.channel.person.username, d.channel.kind) for d in created) == [
        ("many0", "telegram"),
        *[(f"many{n}", "email") for n in range(1, 6)],
    ]
    assert again == []
    assert Delivery.objects.filter(dedupe_key__startswith="review:").count() == 8


def test_telegram_429_is_retried_after_the_retry_after_it_gives(researcher, chat, telegram, send_now, clock):
    telegram.script(rate_limited(7))

    delivery = send_now(researcher, message())

    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at == timezone.now() + timedelta(seconds=7)
    assert delivery.response == "Too Many Requests: retry after 7"
    clock.shift(6)
    assert attempt(delivery).state == "pending"  # early: the claim refuses, nothing is sent
    assert len(telegram.arrivals) == 1
    clock.shift(1)
    assert attempt(delivery).state == "sent"
    assert len(telegram.arrivals) == 2 and len(telegram.sent()) == 1
    assert telegram.arrivals[0].body == telegram.arrivals[1].body


def test_slack_429_is_retried_after_its_retry_after_header(researcher, slack, send_now, clock):
    Channel.objects.create(person=researcher, kind=Channel.Kind.SLACK, target=slack.url)
    slack.script(slack_error(429, "rate_limited", **{"Retry-After": "30"}))

    delivery = send_now(researcher, message())

    assert delivery.next_attempt_at == timezone.now() + timedelta(seconds=30)
    clock.shift(30)
    assert attempt(delivery).state == "sent"
    first, second = slack.arrivals
    assert first.body == second.body


def test_5xx_is_retried_with_exponential_backoff_then_given_up(
    researcher, chat, telegram, send_now, clock, settings
):
    settings.NOTIFY_MAX_ATTEMPTS, settings.NOTIFY_RETRY_BACKOFF = 4, 10
    telegram.script(*[telegram_error(502, "Bad Gateway")] * 4)

    delivery = send_now(researcher, message())
    waits = []
    while delivery.state == "pending":
        waits.append((delivery.next_attempt_at - timezone.now()).total_seconds())
        clock.shift(waits[-1])
        delivery = attempt(delivery)

    assert waits == [10, 20, 40]
    assert (delivery.state, delivery.attempts) == ("failed", 4)
    assert delivery.response == "Gave up after 4 attempts: Bad Gateway"
    chat.refresh_from_db()
    assert chat.last_error == "Gave up after 4 attempts: Bad Gateway"


def test_5xx_then_success_sends_once(researcher, chat, telegram, send_now, clock):
    telegram.script(telegram_error(500, "Internal Server Error"))

    delivery = send_now(researcher, message())
    clock.shift(30)
    delivery = attempt(delivery)

    assert (delivery.state, delivery.attempts) == ("sent", 2)
    assert len(telegram.sent()) == 1


def test_a_service_that_takes_the_message_and_answers_too_late_is_never_sent_again(
    researcher, chat, telegram, send_now, clock, run, settings
):
    settings.NOTIFY_HTTP_TIMEOUT = 0.3
    telegram.script(accepted_late(2))

    delivery = send_now(researcher, message())
    clock.shift(3600)
    run(dispatch_deliveries)
    run(send_delivery, delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("unknown", 1)
    assert delivery.response.startswith("Outcome unknown: no answer after the message was sent")
    assert "timed out" in delivery.response and TOKEN not in delivery.response
    assert len(telegram.arrivals) == 1 and len(telegram.sent()) == 1  # it did arrive, once


def test_a_connection_dropped_after_the_request_left_is_never_sent_again(
    researcher, chat, telegram, send_now, clock, run, settings
):
    with SilentServer(drop=True) as server:
        settings.TELEGRAM_API_BASE = server.base

        delivery = send_now(researcher, message())
        clock.shift(3600)
        run(dispatch_deliveries)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, server.requests) == ("unknown", 1, 1)
    assert delivery.response.startswith("Outcome unknown")


def test_a_slack_webhook_that_never_answers_is_never_sent_again(researcher, send_now, settings):
    with SilentServer(tls=True) as server, local_hosts("hooks.slack.test", port=server.port):
        settings.SLACK_WEBHOOK_HOSTS = ["hooks.slack.test"]
        settings.NOTIFY_HTTP_TIMEOUT = 0.3
        url = "https://hooks.slack.test/services/T0LAB/B0PORTAL/very-secret-path"
        Channel.objects.create(person=researcher, kind=Channel.Kind.SLACK, target=url)

        delivery = send_now(researcher, message())

    assert (delivery.state, server.requests) == ("unknown", 1)
    assert "very-secret-path" not in delivery.response


def test_a_proxy_that_takes_the_request_and_falls_silent_is_never_sent_again(
    researcher, chat, telegram, send_now, settings, monkeypatch
):
    with SilentServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        settings.TELEGRAM_API_BASE = "http://api.telegram.invalid"  # only the proxy on 127.0.0.1 is asked
        settings.NOTIFY_HTTP_TIMEOUT = 0.3

        delivery = send_now(researcher, message())

    assert (delivery.state, proxy.requests) == ("unknown", 1)


def test_a_tls_handshake_that_never_finishes_is_retried(researcher, chat, telegram, send_now, settings):
    with SilentServer(after_request=False) as server:
        settings.TELEGRAM_API_BASE = server.base.replace("http://", "https://")
        settings.NOTIFY_HTTP_TIMEOUT = 0.3

        delivery = send_now(researcher, message())

    # Nothing of the request left before the handshake: trying again cannot send it twice.
    assert (delivery.state, server.requests) == ("pending", 0)
    assert "timed out" in delivery.response


def test_a_mail_server_that_keeps_the_message_and_answers_too_late_is_never_mailed_again(
    researcher, smtp, send_now, settings, clock, run
):
    Channel.objects.create(person=researcher, kind=Channel.Kind.EMAIL)
    settings.MAILERS["default"]["OPTIONS"]["timeout"] = 0.5
    smtp.mailbox.answer_data_after = 2

    delivery = send_now(researcher, message())
    clock.shift(3600)
    run(dispatch_deliveries)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("unknown", 1)
    assert len(smtp.messages) == 1


def test_an_unreachable_service_is_retried_and_the_token_never_shown(
    researcher, chat, telegram, send_now, clock, settings
):
    settings.TELEGRAM_API_BASE = "http://127.0.0.1:9"  # the discard port: nothing listens

    delivery = send_now(researcher, message())

    assert delivery.state == "pending"
    assert "<token>" in delivery.response and TOKEN not in delivery.response


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (telegram_error(400, "Bad Request: chat not found"), "Bad Request: chat not found"),
        (
            telegram_error(403, "Forbidden: bot was blocked by the user"),
            "Forbidden: bot was blocked by the user",
        ),
        (telegram_error(401, "Unauthorized"), "Unauthorized"),
    ],
)
def test_4xx_fails_at_once_with_the_service_message(
    login, researcher, chat, telegram, send_now, clock, run, reply, shown
):
    telegram.script(reply)

    delivery = send_now(researcher, message())
    clock.shift(3600)
    run(dispatch_deliveries)

    assert (delivery.state, delivery.attempts, delivery.response) == ("failed", 1, shown)
    assert len(telegram.arrivals) == 1
    chat.refresh_from_db()
    assert (chat.last_error, chat.last_error_at) == (shown, timezone.now() - timedelta(seconds=3600))
    assert shown in login(researcher).get("/me/channels/").text


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (slack_error(404, "no_service"), "Slack refused the message (HTTP 404: no_service)."),
        # Anything but Slack's documented words is left out: the portal's own text only.
        (
            slack_error(400, "-ERR wrong number of arguments for 'get' command"),
            "Slack refused the message (HTTP 400).",
        ),
    ],
)
def test_slack_4xx_fails_with_a_fixed_text(researcher, slack, send_now, reply, shown):
    channel = Channel.objects.create(person=researcher, kind=Channel.Kind.SLACK, target=slack.url)
    slack.script(reply)

    delivery = send_now(researcher, message())

    assert (delivery.state, delivery.response) == ("failed", shown)
    channel.refresh_from_db()
    assert channel.last_error == shown


def test_a_success_clears_the_channel_error(researcher, chat, telegram, send_now):
    telegram.script(telegram_error(403, "Forbidden: bot was blocked by the user"))
    send_now(researcher, message("first"))

    send_now(researcher, message("second"))

    chat.refresh_from_db()
    assert (chat.last_error, chat.last_error_at) == ("", None)
    assert chat.last_sent_at is not None


def test_a_group_that_became_a_supergroup_is_followed(researcher, chat, telegram, send_now):
    telegram.script(telegram_error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                                   migrate_to_chat_id=-1009876543210))  # fmt: skip

    with_retry = send_now(researcher, message())

    chat.refresh_from_db()
    assert chat.target == "-1009876543210"
    assert attempt(with_retry).state == "sent"
    assert [a.body["chat_id"] for a in telegram.arrivals] == ["4242", "-1009876543210"]


def test_mail_refused_for_good_fails_and_for_now_is_retried(
    researcher, smtp, django_capture_on_commit_callbacks
):
    gone = Channel.objects.create(person=researcher, kind=Channel.Kind.EMAIL, target="gone@example.org")
    busy = Channel.objects.create(person=researcher, kind=Channel.Kind.EMAIL, target="busy@example.org")
    smtp.refuse("gone@example.org", "550 5.1.1 No such user")
    smtp.refuse("busy@example.org", "451 4.3.0 Mailbox busy, try later")

    with django_capture_on_commit_callbacks(execute=True):
        notify(researcher, message())

    outcome = {d.channel_id: (d.state, d.response) for d in Delivery.objects.all()}
    assert outcome[gone.pk] == ("failed", "550 5.1.1 No such user")
    assert outcome[busy.pk] == ("pending", "451 4.3.0 Mailbox busy, try later")
    assert smtp.messages == []


def test_an_unreachable_mail_server_is_retried(researcher, send_now, settings):
    Channel.objects.create(person=researcher, kind=Channel.Kind.EMAIL)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 1},
        }
    }

    delivery = send_now(researcher, message())

    assert delivery.state == "pending"
    assert delivery.response.startswith("The mail server could not be reached")


# Nothing twice ----------------------------------------------------------------------------------


def test_a_sent_delivery_is_never_sent_again(researcher, chat, telegram, send_now, clock, run):
    delivery = send_now(researcher, message())

    clock.shift(3600)
    for _run in range(3):
        run(send_delivery, delivery_id=delivery.pk)
        run(dispatch_deliveries)

    assert len(telegram.arrivals) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("sent", 1)


def test_two_workers_claiming_one_delivery_send_it_once(transactional_db, researcher, chat, telegram):
    delivery = Delivery.objects.create(channel=chat, dedupe_key="race", payload=message().as_payload())
    start = threading.Barrier(6)
    results = []

    def worker():
        start.wait()
        try:
            won = deliver(delivery.pk)  # what each worker's task does
            results.append(won.state if won else None)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results, key=str) == [None] * 5 + ["sent"]
    assert len(telegram.arrivals) == 1


def test_a_batch_run_again_after_a_killed_worker_sends_nothing_twice(chat, telegram, clock, run):
    now = timezone.now()
    payload = message().as_payload()

    def row(key, state, **fields):
        return Delivery.objects.create(channel=chat, dedupe_key=key, payload=payload, state=state, **fields)

    # What a batch looks like after its worker was killed half-way through it.
    sent = [row(f"sent-{n}", "sent", attempts=1, sent_at=now - timedelta(minutes=9)) for n in range(2)]
    in_flight = row("in-flight", "sending", attempts=1, leased_until=now - timedelta(minutes=1))
    live = row("live", "sending", attempts=1, leased_until=now + timedelta(minutes=4))
    left = [row(f"left-{n}", "pending", next_attempt_at=now - timedelta(minutes=10)) for n in range(3)]
    later = row("later", "pending", attempts=1, next_attempt_at=now + timedelta(minutes=10))

    first = run(dispatch_deliveries)
    second = run(dispatch_deliveries)
    clock.shift(timedelta(minutes=3))
    third = run(dispatch_deliveries)

    assert (first, second, third) == (
        {"lost": 1, "dispatched": 3},
        {"lost": 0, "dispatched": 0},
        {"lost": 0, "dispatched": 0},
    )
    states = dict(Delivery.objects.values_list("dedupe_key", "state"))
    assert [states[d.dedupe_key] for d in left] == ["sent"] * 3
    assert [states[d.dedupe_key] for d in sent] == ["sent"] * 2
    assert (states["in-flight"], states["live"], states["later"]) == ("unknown", "sending", "pending")
    assert Delivery.objects.get(pk=in_flight.pk).response == LOST
    assert len(telegram.arrivals) == 3
    assert live.pk and later.pk


def test_the_beat_sends_a_pending_delivery_whose_task_was_lost(chat, telegram, clock, run):
    delivery = Delivery.objects.create(
        channel=chat, dedupe_key="lost-message", payload=message().as_payload()
    )

    early = run(dispatch_deliveries)
    clock.shift(timedelta(minutes=2))
    due = run(dispatch_deliveries)

    assert (early["dispatched"], due["dispatched"]) == (0, 1)
    delivery.refresh_from_db()
    assert delivery.state == "sent" and len(telegram.arrivals) == 1


def test_an_admin_sends_a_delivery_of_unknown_outcome_again_once(
    portal_admin, researcher, chat, telegram, client, django_capture_on_commit_callbacks
):
    lost = Delivery.objects.create(
        channel=chat,
        dedupe_key="unknown",
        payload=message().as_payload(),
        state="unknown",
        attempts=1,
        response=LOST,
    )
    client.force_login(portal_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/lab_portal/delivery/",
            {"action": "send_again", "_selected_action": [lost.pk]},
            follow=True,
        )

    assert "1 delivery queued again." in response.text
    lost.refresh_from_db()
    assert (lost.state, lost.attempts) == ("sent", 2)
    assert requeue(Delivery.objects.filter(pk=lost.pk)) == 0
    assert len(telegram.arrivals) == 1


def test_the_channel_page_shows_what_may_not_have_arrived(
    login, researcher, other_researcher, chat, telegram, send_now, clock, settings
):
    settings.NOTIFY_HTTP_TIMEOUT = 0.3
    telegram.script(accepted_late(2))
    send_now(researcher, Message(subject="Your talk is tomorrow", dedupe_key="talk"))
    old = Delivery.objects.create(
        channel=chat, dedupe_key="old", payload={"subject": "A month ago"}, state="unknown"
    )
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    Channel.objects.create(person=other_researcher, kind=Channel.Kind.TELEGRAM, target="77")

    mine = login(researcher).get("/me/channels/").text
    theirs = login(other_researcher).get("/me/channels/").text

    assert "may not have arrived" in mine and "Your talk is tomorrow" in mine
    assert "A month ago" not in mine
    assert "may not have arrived" not in theirs and "Your talk is tomorrow" not in theirs


def test_the_test_button_says_when_the_test_message_may_have_arrived(
    login, researcher, chat, telegram, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_HTTP_TIMEOUT = 0.3
    telegram.script(accepted_late(2))
    client = login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/me/channels/{chat.pk}/test", headers={"HX-Request": "true"})

    row = client.get(f"/me/channels/{chat.pk}/status", headers={"HX-Request": "true"}).text

    assert "The test message may have arrived:" in row
    assert "Outcome unknown: no answer after the message was sent" in row
    assert Delivery.objects.get().state == "unknown"


def test_the_admin_lists_deliveries_of_unknown_outcome_as_such(portal_admin, chat, client):
    Delivery.objects.create(channel=chat, dedupe_key="lost", payload={"subject": "x"}, state="unknown")
    Delivery.objects.create(channel=chat, dedupe_key="fine", payload={"subject": "y"}, state="sent")
    client.force_login(portal_admin)

    page = client.get("/admin/lab_portal/delivery/?state__exact=unknown").text

    assert "outcome unknown" in page
    assert ">lost<" in page and ">fine<" not in page


def test_the_beat_runs_the_dispatch_every_minute():
    entry = app.conf.beat_schedule["dispatch-deliveries"]

    assert entry["task"] == dispatch_deliveries.name and entry["task"] in app.tasks
    assert entry["schedule"] == 60


# On a real worker -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def worker_telegram():
    """One stand-in for the module's workers: they read its address from the environment."""
    with TelegramServer() as server:
        yield server


@pytest.fixture(scope="module")
def worker_env(worker_telegram) -> dict[str, str]:
    return {
        "TELEGRAM_API_BASE": worker_telegram.base,
        "TELEGRAM_BOT_TOKEN": worker_telegram.token,
        "NOTIFY_HTTP_TIMEOUT": "20",
        "NOTIFY_RETRY_BACKOFF": "0.5",
    }


@pytest.fixture(scope="module")
def worker_queue(start_celery_worker, worker_env) -> str:
    queue, _log = start_celery_worker(env=worker_env)
    return queue


@pytest.fixture
def on_worker(worker_queue, worker_telegram, settings):
    """notify() and every task go to the module's real worker, which sends to the stand-in."""
    worker_telegram.reset()
    settings.TELEGRAM_API_BASE, settings.TELEGRAM_BOT_TOKEN = worker_telegram.base, worker_telegram.token
    default_queue, app.conf.task_default_queue = app.conf.task_default_queue, worker_queue
    app.conf.task_always_eager = False
    yield worker_queue
    app.conf.task_always_eager = True
    app.conf.task_default_queue = default_queue


def wait_for_state(delivery: Delivery, *states: str, timeout: float = 30) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.state in states:
            return delivery
        time.sleep(0.1)
    pytest.fail(f"Delivery stayed {delivery.state}: {delivery.response}")


@pytest.mark.redis
def test_a_real_worker_delivers_to_telegram_and_waits_out_a_429(
    transactional_db, researcher, worker_telegram, on_worker
):
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target="4242")
    worker_telegram.script(rate_limited(2))

    [delivery] = notify(researcher, message())

    delivery = wait_for_state(delivery, "sent")
    _, second = worker_telegram.arrivals
    assert (delivery.attempts, second.text.splitlines()[0]) == (2, "New paper")
    # The worker put the second attempt off by the two seconds Telegram asked for, and made it
    # only once that moment had come.
    assert delivery.next_attempt_at >= delivery.created_at + timedelta(seconds=2)
    assert delivery.sent_at >= delivery.next_attempt_at


@pytest.mark.redis
def test_the_test_button_answers_while_a_real_worker_is_still_sending(
    transactional_db, researcher, worker_telegram, on_worker, login
):
    channel = Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target="4242")
    answer = threading.Event()
    worker_telegram.script(Reply(body={"ok": True, "result": {"message_id": 7}}, hold=answer))
    client = login(researcher)

    # Telegram does not answer until the page has: the request never waited for it.
    response = client.post(f"/me/channels/{channel.pk}/test", headers={"HX-Request": "true"})
    answer.set()
    channel.refresh_from_db()
    wait_for_state(channel.last_test, "sent")
    row = client.get(f"/me/channels/{channel.pk}/status", headers={"HX-Request": "true"})

    assert "Test message queued" in response.text and "Test message sent" not in response.text
    assert "Test message sent: Telegram message 7" in " ".join(row.text.split())
    assert [a.body["chat_id"] for a in worker_telegram.arrivals] == ["4242"]


@pytest.mark.redis
def test_a_worker_killed_while_sending_sends_nothing_twice_when_run_again(
    transactional_db, researcher, worker_telegram, on_worker, start_celery_worker, worker_env, settings
):
    chat = Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target="4242")
    doomed_queue, _log = start_celery_worker(env=worker_env)
    hostname = f"{doomed_queue}@localhost"
    pid = app.control.inspect(destination=[hostname], timeout=5).stats()[hostname]["pid"]
    worker_telegram.script(hang(60))
    batch = [
        Delivery.objects.create(channel=chat, dedupe_key=f"batch-{n}", payload=message().as_payload())
        for n in range(3)
    ]

    # The doomed worker takes the first delivery and is killed while Telegram sits on the request.
    send_delivery.apply_async(kwargs={"delivery_id": batch[0].pk}, queue=doomed_queue)
    worker_telegram.wait_for(1)
    os.kill(pid, signal.SIGKILL)
    # The batch runs again on a healthy worker: the killed one's delivery too, twice over.
    for delivery in [*batch, batch[0]]:
        send_delivery.apply_async(kwargs={"delivery_id": delivery.pk}).get(timeout=30)
    # Its lease runs out; the beat closes it rather than sending it a second time.
    Delivery.objects.filter(pk=batch[0].pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert dispatch_deliveries.apply_async().get(timeout=30) == {"lost": 1, "dispatched": 0}

    states = [wait_for_state(d, "sent", "unknown").state for d in batch]
    assert states == ["unknown", "sent", "sent"]
    assert [a.body["chat_id"] for a in worker_telegram.arrivals] == ["4242"] * 3
    assert len(worker_telegram.sent()) == 2


def test_a_delivery_our_code_cannot_send_is_closed_and_the_error_raised(chat, telegram, run):
    broken = Delivery.objects.create(
        channel=chat, dedupe_key="broken", payload={"subject": "x", "items": [{"name": "not an item"}]}
    )

    with pytest.raises(TypeError):
        run(send_delivery, delivery_id=broken.pk)

    broken.refresh_from_db()
    assert broken.state == "failed" and broken.response.startswith("Internal error: TypeError")
    assert telegram.arrivals == []


def test_a_slack_webhook_that_cannot_be_reached_keeps_its_secret_out_of_the_error(settings):
    import socket

    from lab_portal import channels

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.NOTIFY_HTTP_TIMEOUT, settings.SLACK_WEBHOOK_HOSTS = 1, ["hooks.slack.test"]
    url = "https://hooks.slack.test/services/T0LAB/B0PORTAL/very-secret-path"

    with local_hosts("hooks.slack.test", port=port), pytest.raises(channels.TemporaryError) as error:
        channels.send_slack(url, message())

    assert str(error.value) == "Slack could not be reached."


# Addresses outside the lab ------------------------------------------------------------------------


def test_outside_address_gets_one_recorded_mail_and_never_the_labs(
    smtp, settings, django_capture_on_commit_callbacks
):
    settings.SLACK_LAB_WEBHOOK_URL = ""
    settings.TELEGRAM_LAB_CHAT_ID = ""
    Channel.objects.create(kind=Channel.Kind.EMAIL, target="all@lab.example.org")  # the lab's list
    invitation = Message(subject="Your talk", dedupe_key="speaker:1", text="Please confirm <here>.")

    with django_capture_on_commit_callbacks(execute=True):
        first = notify_outside(" Grace@Navy.example.org ", invitation)
        second = notify_outside("grace@navy.example.org", invitation)
        notify_lab(Message(subject="Talks this week", dedupe_key="week:1", text="Three talks."))

    assert first is not None and second is None
    first.refresh_from_db()
    assert (first.state, first.channel.target, first.channel.outside) == (
        Delivery.State.SENT,
        "grace@navy.example.org",
        True,
    )
    assert sorted((m["To"], m["Subject"]) for m in smtp.messages) == [
        ("all@lab.example.org", "Talks this week"),
        ("grace@navy.example.org", "Your talk"),
    ]
    [mailed] = [m for m in smtp.messages if m["To"] == "grace@navy.example.org"]
    assert "Please confirm <here>." in mailed.get_body(("plain",)).get_content()


def test_outside_address_must_be_given(db):
    with pytest.raises(ValueError, match="address"):
        notify_outside("  ", Message(subject="x", dedupe_key="k"))
    assert not Channel.objects.exists()


def test_a_messages_secrets_leave_its_row_once_sent_and_the_service_got_them(
    researcher, chat, telegram, send_now
):
    secret = "k3Y-0nly-for-the-reader"
    sent = send_now(
        researcher,
        Message(subject="Your link", dedupe_key="link:1", text=f"Open /s/{secret}/ today", secrets=[secret]),
    )

    [arrival] = telegram.arrivals
    assert secret in arrival.text
    assert (sent.state, sent.redacted) == ("sent", True)
    assert sent.payload["text"] == f"Open /s/{Delivery.REDACTED}/ today"
    assert "secrets" not in sent.payload


def test_a_message_without_secrets_keeps_its_row_as_sent(researcher, chat, telegram, send_now):
    sent = send_now(researcher, message())

    assert sent.payload == message().as_payload()
    assert not sent.redacted


def test_a_lost_workers_row_is_closed_without_its_secrets(chat, clock, run):
    secret = "k3Y-0nly-for-the-reader"
    payload = Message(subject="Your link", dedupe_key="x", url=f"/s/{secret}/", secrets=[secret]).as_payload()
    lost = Delivery.objects.create(
        channel=chat,
        dedupe_key="link:2",
        payload=payload,
        state="sending",
        attempts=1,
        leased_until=timezone.now() - timedelta(minutes=1),
    )

    assert run(dispatch_deliveries) == {"lost": 1, "dispatched": 0}
    lost.refresh_from_db()
    assert (lost.state, lost.redacted, lost.payload["url"]) == ("unknown", True, f"/s/{Delivery.REDACTED}/")
    assert secret not in str(lost.payload)
    assert requeue(Delivery.objects.filter(pk=lost.pk)) == 0
