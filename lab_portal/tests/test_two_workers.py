"""Two Celery workers and a beat (two, by mistake, in one test) on one PostgreSQL, one Redis and one
bucket, as separate processes: arXiv's request spacing holds across the workers, a worker killed in
the middle of a task leaves nothing that the safety nets do not finish, and flushing Redis under
running processes loses queued work but nothing that the periodic safety nets do not pick up again.

Tests wait for what the code decides (rows, logs, messages at the stand-ins) with generous
timeouts: the beat's own intervals (30 seconds for the announcement watcher, a minute for the
deliveries and reminders) are part of what is tested.
"""

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from django.utils import timezone
from kombu import pools

from conftest import ROOT, database_url
from lab_portal.celery import app
from lab_portal.models import Channel, Delivery
from lab_portal.notify import LOST, notify
from lab_portal.tests.stand_ins import Reply, TelegramServer, hang
from lab_portal.tests.test_delivery import message
from papers.models import FetchRun, Paper
from papers.tasks import fetch_new_papers, watch_announcement
from papers.tests.arxiv_server import TESTING_PAGES, ArxivServer
from papers.tests.arxiv_server import Reply as ArxivReply
from seminars.models import Reminder, Talk
from seminars.tests.factories import make_talk

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

SLOT = re.compile(r"arXiv request slot (\d+) ms")
SPACING = 0.3


def wait_for(condition, *, timeout: float = 240, what: str = "", describe=None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            now = describe() if describe else ""
            pytest.fail(f"Still waiting after {timeout} s: {what or condition}; {now}")
        time.sleep(0.2)


class Lab:
    """Celery workers and beats started as the lab would run them, each in a directory of its own,
    all reading the one task queue of this test."""

    def __init__(self, folder: Path, queue: str, env: dict[str, str]):
        self.folder, self.queue, self.env = folder, queue, env
        self.processes: dict[str, subprocess.Popen] = {}

    def log(self, name: str) -> str:
        return (self.folder / name / "log").read_text(errors="replace")

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        home = self.folder / name
        home.mkdir()
        with (home / "log").open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", *command],
                cwd=home, env={**self.env, **env, "PYTHONPATH": str(ROOT)},
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.processes[name] = process
        return process

    def worker(self, name: str, **env: str) -> None:
        process = self._start(
            name,
            ["-A", "lab_portal", "worker", "--pool=solo", "-Q", self.queue, "-n", f"{name}@localhost",
             "--include", "lab_portal.tests.celery_tasks", "--without-gossip", "--without-mingle",
             "--loglevel=DEBUG"],
            env,
        )  # fmt: skip
        wait_for(
            lambda: " ready." in self.log(name) or process.poll() is not None,
            timeout=90,
            what=f"worker {name} to start",
        )
        if process.poll() is not None:
            pytest.fail(f"Worker {name} stopped:\n{self.log(name)}")

    def beat(self, name: str) -> None:
        # The test tasks' module sets this test's queue as the default one, for beat's tasks too.
        self._start(
            name,
            ["-A", "lab_portal.tests.celery_tasks", "beat", "-s", str(self.folder / name / "schedule"),
             "--loglevel=INFO"],
            {},
        )  # fmt: skip

    def running(self, task: str) -> str:
        """The worker that received `task` most recently."""
        taken = f"Task {task}["
        wait_for(lambda: any(taken in self.log(n) for n in self.workers()), what=f"a worker to take {task}")
        return max(self.workers(), key=lambda name: self.log(name).rfind(taken))

    def workers(self) -> list[str]:
        return [name for name in self.processes if name.startswith("worker")]

    def kill(self, name: str) -> None:
        os.kill(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


@pytest.fixture
def telegram(settings):
    with TelegramServer() as server:
        settings.TELEGRAM_API_BASE, settings.TELEGRAM_BOT_TOKEN = server.base, server.token
        yield server


@pytest.fixture
def arxiv(settings):
    with ArxivServer() as server:
        server.serve_pages(*TESTING_PAGES)
        yield server


@pytest.fixture
def lab(tmp_path, redis_url, s3_files, telegram, arxiv, settings, researcher):
    """The processes, each started by the test, all on this test's database, Redis, bucket and
    stand-ins; tasks the test queues go where they do."""
    queue = f"lab-{os.getpid()}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        **s3_files.env,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "lab_portal.settings",
        "TEST_WORKER_QUEUE": queue,
        "LOG_LEVEL": "DEBUG",
        "TELEGRAM_API_BASE": telegram.base,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "NOTIFY_RETRY_BACKOFF": "0.5",
        # A delivery pending this long lost its task: the beat's next dispatch queues it again.
        "NOTIFY_STUCK_AFTER_SECONDS": "3",
        "ARXIV_API_URL": arxiv.url,
        "ARXIV_CATEGORIES": "cs.SE",
        "ARXIV_REQUEST_SPACING": str(SPACING),
        "ARXIV_TIMEOUT": "30",
        "ARXIV_PAGE_SIZE": "10",
        "ARXIV_RETRIES": "1",
        "ARXIV_RETRY_BACKOFF": "0.01",
        "ARXIV_RUN_RETRY_BACKOFF": "0",
        "FETCH_RUN_LEASE_SECONDS": "4",
    }
    settings.ARXIV_CATEGORIES = ["cs.SE"]
    settings.FETCH_RUN_LEASE_SECONDS = 4
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target="4242")
    processes = Lab(tmp_path, queue, env)
    default_queue, app.conf.task_default_queue = app.conf.task_default_queue, queue
    app.conf.task_always_eager = False
    yield processes
    processes.stop()
    # A flushed Redis forgot the queues and bindings this process declared, and its connections
    # remember having declared them: fresh connections (as after a fork) declare them again.
    app.pool.force_close_all()
    pools.reset()
    app._after_fork()
    app.conf.task_always_eager = True
    app.conf.task_default_queue = default_queue


def failed_daily_run() -> FetchRun:
    """Last night's daily run failed an hour ago: the watcher retries it whatever the hour."""
    hour_ago = timezone.now() - timedelta(hours=1)
    return FetchRun.objects.create(
        status=FetchRun.Status.FAILED, started_at=hour_ago, finished_at=hour_ago, error="arXiv was down"
    )


def test_two_workers_take_turns_for_arxivs_request_slots(lab, arxiv):
    lab.worker("worker-1")
    lab.worker("worker-2")
    until = datetime.now(UTC)
    runs = [
        FetchRun.objects.create(
            kind=FetchRun.Kind.BACKFILL, categories=["cs.SE"], since=until - timedelta(days=days), until=until
        )
        for days in (3, 4)
    ]

    # Each worker takes one of the two fetches, and both read arXiv at the same time.
    for run in runs:
        fetch_new_papers.apply_async(kwargs={"run_id": run.pk})
    wait_for(lambda: not FetchRun.objects.filter(status=FetchRun.Status.RUNNING).exists())

    slots = sorted((int(slot), name) for name in lab.workers() for slot in SLOT.findall(lab.log(name)))
    assert list(FetchRun.objects.values_list("status", flat=True)) == ["succeeded", "succeeded"]
    assert len(slots) == len(arxiv.arrivals) == 12  # each of the 6 pages, read by each run
    assert {name for _slot, name in slots} == {"worker-1", "worker-2"}
    # On the clock both share, every request had a slot of its own, SPACING after the one before,
    # whichever worker asked; the workers' requests were interleaved, not one run after the other.
    assert all(later - earlier >= SPACING * 1000 for (earlier, _), (later, _) in itertools.pairwise(slots))
    assert sum(first != second for (_, first), (_, second) in itertools.pairwise(slots)) >= 2


def test_a_worker_killed_in_the_middle_of_the_daily_fetch_leaves_a_run_the_watcher_retries(lab, arxiv):
    failed_daily_run()
    # The second page does not come: the worker that asked for it is killed while it waits.
    arxiv.fail(10, ArxivReply(b"", status=503, delay=600))
    lab.worker("worker-1")
    lab.worker("worker-2")
    lab.beat("beat")

    wait_for(lambda: any(arrival.start == 10 for arrival in arxiv.arrivals), what="the second page")
    doomed = lab.running("papers.fetch_new_papers")
    lost = FetchRun.objects.get(status=FetchRun.Status.RUNNING)
    lab.kill(doomed)
    wait_for(lambda: FetchRun.objects.filter(status=FetchRun.Status.SUCCEEDED).exists())

    lost.refresh_from_db()
    runs = list(FetchRun.objects.order_by("started_at").values_list("status", flat=True))
    assert runs == ["failed", "failed", "succeeded"]
    assert lost.status == FetchRun.Status.FAILED and "the worker was lost" in lost.error
    assert lost.new_count == 10  # the page it stored before it died is kept
    retry = FetchRun.objects.get(status=FetchRun.Status.SUCCEEDED)
    assert (retry.new_count, Paper.objects.count()) == (50, 60)  # the rest, and each paper once


def test_a_worker_killed_while_sending_leaves_a_delivery_the_beat_closes_as_unknown(
    lab, telegram, researcher
):
    telegram.script(hang(600))
    # The request outlives the worker (killed long before it would time out); the lease is longer.
    short = {"NOTIFY_HTTP_TIMEOUT": "20", "NOTIFY_LEASE_SECONDS": "25"}
    lab.worker("worker-1", **short)
    lab.worker("worker-2", **short)
    lab.beat("beat")

    [held] = notify(researcher, message("killed:1"))
    telegram.wait_for(1)
    lab.kill(lab.running("lab_portal.send_delivery"))
    [after] = notify(researcher, message("after:1"))
    wait_for(
        lambda: Delivery.objects.get(pk=held.pk).state == Delivery.State.UNKNOWN, what="the beat's dispatch"
    )
    wait_for(lambda: Delivery.objects.get(pk=after.pk).state == Delivery.State.SENT)

    held.refresh_from_db()
    # Telegram may have the message: it is closed, never sent again, and says why.
    assert (held.attempts, held.response) == (1, LOST)
    assert len(telegram.calls("sendMessage")) == 2  # the killed worker's request, and the next one


def test_flushing_redis_under_two_workers_and_two_beats_loses_nothing_and_doubles_nothing(
    lab, telegram, arxiv, researcher, redis_url
):
    failed_daily_run()
    # Both workers are busy, each held by Telegram with a message, while work queues up behind them.
    release = threading.Event()
    held = Reply(body={"ok": True, "result": {"message_id": 1}}, hold=release)
    telegram.script(held, held)
    slow = {"NOTIFY_HTTP_TIMEOUT": "120", "NOTIFY_LEASE_SECONDS": "180"}
    lab.worker("worker-1", **slow)
    lab.worker("worker-2", **slow)
    busy = [notify(researcher, message(f"busy:{n}"))[0] for n in (1, 2)]
    telegram.wait_for(2)
    # Behind them: the daily fetch the watcher has just started, two deliveries, and a talk whose
    # hour-before reminder is due.
    decision = watch_announcement.apply().get()
    queued = [notify(researcher, message(f"queued:{n}"))[0] for n in (1, 2)]
    talk = make_talk(host=researcher, starts_at=timezone.now().replace(microsecond=0) + timedelta(minutes=50))
    Talk.objects.filter(pk=talk.pk).update(created_at=talk.starts_at - timedelta(days=7))  # planned long ago
    broker = redis.Redis.from_url(redis_url)
    waiting = broker.llen(lab.queue)

    broker.flushdb()  # this test's Redis database only: others on the server keep theirs
    release.set()
    # The lab's beat, and a second one started by mistake.
    lab.beat("beat-1")
    lab.beat("beat-2")

    def done() -> bool:
        return (
            not Delivery.objects.exclude(state=Delivery.State.SENT).exists()
            and Reminder.objects.filter(talk=talk, sent_at__isnull=False).exists()
            and FetchRun.objects.filter(status=FetchRun.Status.SUCCEEDED).exists()
        )

    def state() -> str:
        return (
            f"deliveries {list(Delivery.objects.values_list('dedupe_key', 'state'))}, "
            f"reminders {list(Reminder.objects.values_list('kind', 'sent_at', 'skipped_at'))}, "
            f"runs {list(FetchRun.objects.values_list('status', 'error'))}"
        )

    wait_for(done, what=f"the safety nets ({state()} at the start)", describe=state)
    # A minute more: every beat task ran again on both beats, and nothing was sent a second time.
    sends = {name: lab.log(name).count("Scheduler: Sending due task") for name in ("beat-1", "beat-2")}
    wait_for(
        lambda: all(lab.log(name).count("Scheduler: Sending due task") > sends[name] + 2 for name in sends),
        what="another round of both beats",
    )

    assert decision["decision"] == "retry" and waiting == 3  # the fetch and the two deliveries
    for name in ("beat-1", "beat-2"):
        for entry in ("watch-arxiv-announcement", "seminar-reminders", "dispatch-deliveries"):
            assert f"Sending due task {entry} " in lab.log(name)
    runs = list(FetchRun.objects.order_by("started_at").values_list("status", "error"))
    assert [status for status, _error in runs] == ["failed", "failed", "succeeded"]
    assert "the worker was lost" in runs[1][1]  # its task went with Redis; its lease ran out
    assert Paper.objects.count() == 60
    texts = [arrival.body["text"] for arrival in telegram.calls("sendMessage")]
    assert len(texts) == len(busy) + len(queued) + 1
    reminders = [text for text in texts if "In one hour" in text]
    assert len(reminders) == 1 and talk.title in reminders[0]
    assert Reminder.objects.filter(talk=talk, sent_at__isnull=False).count() == 1
