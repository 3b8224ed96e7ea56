"""The task `papers.fetch_new_papers` and what follows it: in-process, and on a real worker."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from conftest import wait_until_idle
from lab_portal.celery import app
from papers import fetching
from papers.fetching import FetchError
from papers.models import FetchRun, Paper
from papers.tasks import fetch_new_papers
from papers.tests.arxiv_server import (
    ERROR_400,
    TESTING_PAGES,
    ArxivServer,
    Reply,
    categories_of,
    dated,
    entries,
    recording,
)

SOFTWARE = [entry for entry in entries(*TESTING_PAGES) if "cs.SE" in categories_of(entry)]


@pytest.fixture
def server(settings):
    with ArxivServer() as running:
        running.configure(settings)
        yield running


def test_fetch_new_papers_runs_the_daily_fetch_new_announcement_first(db, server, settings):
    settings.ARXIV_CATEGORIES = ["cs.SE"]
    now = timezone.now()
    # The first daily run reaches three days back, and the overlap four days before that.
    server.serve_entries(
        [dated(entry, now - timedelta(days=5, minutes=n)) for n, entry in enumerate(SOFTWARE[:20])]
        + [dated(entry, now - timedelta(days=1, minutes=n)) for n, entry in enumerate(SOFTWARE[20:])]
    )

    result = fetch_new_papers.delay()

    run = FetchRun.objects.get()
    assert result.get() == {"run_id": run.pk, "pages": 5, "new": 45, "updated": 0, "unchanged": 0}
    assert (run.kind, run.status, run.task_id) == (FetchRun.Kind.DAILY, FetchRun.Status.SUCCEEDED, result.id)
    assert run.categories == ["cs.SE"]
    assert run.fresh_since == run.since + timedelta(days=settings.ARXIV_OVERLAP_DAYS)
    windows = [arrival.query.rsplit("lastUpdatedDate:", 1)[1] for arrival in server.arrivals]
    fresh, overlap = (f"[{minute(a)} TO {minute(b)}]" for a, b in [
        (run.fresh_since, run.until), (run.since, run.fresh_since)
    ])  # fmt: skip
    assert windows == [fresh] * 3 + [overlap] * 2
    assert Paper.objects.count() == 45
    # The newest paper seen, not the window's end: what the watcher compares arXiv's newest with.
    assert run.checkpoint == max(Paper.objects.values_list("updated", flat=True))


def wait_for(condition, timeout: float = 60) -> None:
    """Poll the database until `condition()` holds: what a worker in another process decided."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Still not so after {timeout} s")
        time.sleep(0.1)


def minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M")


def test_fetch_new_papers_skips_while_a_recent_run_is_running(db, server):
    five_minutes_ago = timezone.now() - timedelta(minutes=5)
    running = FetchRun.objects.create(kind=FetchRun.Kind.DAILY, started_at=five_minutes_ago)

    result = fetch_new_papers.delay()

    assert result.get() is None
    assert list(FetchRun.objects.all()) == [running]
    assert server.arrivals == []


def test_fetch_new_papers_closes_a_run_its_worker_lost_and_resumes_from_it(db, server, settings):
    server.serve_pages(*TESTING_PAGES)
    lost = FetchRun.objects.create(
        kind=FetchRun.Kind.DAILY,
        started_at=timezone.now() - timedelta(hours=3),
        checkpoint=timezone.now() - timedelta(hours=27),
    )

    fetch_new_papers.delay()

    lost.refresh_from_db()
    run = FetchRun.objects.latest()
    assert lost.status == FetchRun.Status.FAILED
    assert "the worker was lost" in lost.error
    assert run.status == FetchRun.Status.SUCCEEDED
    assert run.since == lost.checkpoint - timedelta(days=settings.ARXIV_OVERLAP_DAYS)


@pytest.mark.django_db(transaction=True)
def test_a_fetch_under_way_keeps_its_run_alive_past_the_lease(settings):
    settings.FETCH_RUN_LEASE_SECONDS = 4
    run = fetching.start_daily_run()
    leases = [run.lease_until]

    with fetching.Lease(run.pk):
        # The lease thread moves the lease on every quarter of it while the fetch goes on.
        for _ in range(3):
            leases.append(wait_past(lambda: FetchRun.objects.get(pk=run.pk).lease_until, after=leases[-1]))
    run.refresh_from_db()

    assert leases == sorted(set(leases))
    # However long the fetch, the run was alive all along: the watcher closes nothing.
    assert fetching.close_lost_runs(now=leases[-1] - timedelta(seconds=1)) == 0
    assert run.status == FetchRun.Status.RUNNING


def wait_past(read, *, after, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := read()) > after:
            return value
        time.sleep(0.05)
    pytest.fail(f"Still not past {after} after {timeout} s")


def test_fetch_new_papers_runs_a_prepared_run(db, server):
    server.serve_pages(*TESTING_PAGES[:2])
    since = datetime(2026, 6, 1, tzinfo=UTC)
    prepared = FetchRun.objects.create(
        kind=FetchRun.Kind.BACKFILL, categories=["cs.SE"], since=since, until=since + timedelta(days=1)
    )

    result = fetch_new_papers.delay(run_id=prepared.pk)

    prepared.refresh_from_db()
    assert result.get()["new"] == 20
    assert (prepared.status, prepared.task_id) == (FetchRun.Status.SUCCEEDED, result.id)
    assert server.arrivals[0].query == "(cat:cs.SE) AND lastUpdatedDate:[202606010000 TO 202606020000]"


def test_fetch_new_papers_leaves_a_finished_run_alone(db, server):
    done = FetchRun.objects.create(status=FetchRun.Status.SUCCEEDED, categories=["cs.SE"])

    result = fetch_new_papers.delay(run_id=done.pk)

    assert result.get() is None
    assert server.arrivals == []


def test_fetch_new_papers_failure_is_raised_after_the_run_is_recorded(db, server):
    server.serve_pages(*TESTING_PAGES)
    server.fail(10, recording(ERROR_400))

    with pytest.raises(FetchError, match=r"after storing 10 papers: page 2 .* incorrect id format for abc"):
        fetch_new_papers.delay()

    run = FetchRun.objects.get()
    assert run.status == FetchRun.Status.FAILED
    assert run.error == "page 2 (start=10) was refused by arXiv (HTTP 400): incorrect id format for abc"
    assert Paper.objects.count() == 10


def test_daily_run_queues_matching_when_its_new_papers_are_stored_then_the_rest_training_matching(
    transactional_db, server, settings, capture_task_messages
):
    # Committed as in production: each follow-up is queued the moment its run decides it.
    settings.ARXIV_CATEGORIES = ["cs.SE"]
    now = timezone.now()
    server.serve_entries(
        [dated(entry, now - timedelta(days=5, minutes=n)) for n, entry in enumerate(SOFTWARE[:20])]
        + [dated(entry, now - timedelta(hours=2, minutes=n)) for n, entry in enumerate(SOFTWARE[20:40])]
    )
    sent = capture_task_messages(server)

    fetch_new_papers.apply()

    run = FetchRun.objects.get()
    # The new papers' matching is queued before the overlap is read; once the run is over, a
    # matching of the rest carries training and the matching after it.
    assert [name for name, _follow in sent] == [
        "arxiv", "arxiv", "papers.match_watch_rules", "arxiv", "arxiv", "papers.match_watch_rules"
    ]  # fmt: skip
    assert sent[2][1] == []
    assert [(task["task"], task["kwargs"]) for task in reversed(sent[-1][1])] == [
        ("papers.train_recommendations", {"run_id": run.pk}),
        ("papers.match_watch_rules", {"run_id": run.pk}),
    ]


def test_backfill_is_followed_by_training_only(transactional_db, server, capture_task_messages):
    server.serve_entries(entries(*TESTING_PAGES))
    prepared = FetchRun.objects.create(
        kind=FetchRun.Kind.BACKFILL, categories=["cs.SE"], since=datetime(2000, 1, 1, tzinfo=UTC),
        until=timezone.now(),
    )  # fmt: skip
    sent = capture_task_messages(server)

    fetch_new_papers.apply(kwargs={"run_id": prepared.pk})

    assert [name for name, _follow in sent if name != "arxiv"] == ["papers.train_recommendations"]


@pytest.fixture
def capture_task_messages(monkeypatch):
    """Record, in order, the task messages sent instead of sending them (tasks are not eager
    here), and each request the stand-in arXiv receives, as ("arxiv", None)."""
    sent = []
    app.conf.task_always_eager = False  # the autouse fixture in conftest.py sets it back

    def record(producer, name, message, **options):
        sent.append((name, message.body[2].get("chain") or []))

    monkeypatch.setattr(app.amqp, "send_task_message", record)

    def start(server):
        original = server.reply

        def reply(params):
            sent.append(("arxiv", None))
            return original(params)

        monkeypatch.setattr(server, "reply", reply)
        return sent

    return start


@pytest.fixture(scope="module")
def worker_and_server(start_celery_worker):
    """A real worker whose environment points it at the local arXiv, with test-sized spacing and
    no wait before a failed daily run is retried."""
    with ArxivServer() as running:
        queue, _log = start_celery_worker(
            env={
                "ARXIV_API_URL": running.url,
                "ARXIV_CATEGORIES": "cs.SE",
                "ARXIV_REQUEST_SPACING": "0.05",
                "ARXIV_TIMEOUT": "5",
                "ARXIV_PAGE_SIZE": "10",
                "ARXIV_RETRIES": "1",
                "ARXIV_RETRY_BACKOFF": "0.01",
                "ARXIV_RUN_RETRY_BACKOFF": "0",
            }
        )
        yield queue, running


@pytest.fixture
def arxiv_worker(worker_and_server):
    app.conf.task_always_eager = False
    yield worker_and_server
    app.conf.task_always_eager = True
    wait_until_idle(worker_and_server[0])


@pytest.mark.redis
def test_watcher_on_a_real_worker_retries_a_failed_daily_run_until_it_succeeds(
    transactional_db, arxiv_worker, settings
):
    queue, server = arxiv_worker
    server.serve_pages(*TESTING_PAGES)
    server.arrivals.clear()
    server.fail(0, *[Reply(b"down", status=503)] * 2)
    task_name = settings.CELERY_BEAT_SCHEDULE["watch-arxiv-announcement"]["task"]
    hour_ago = timezone.now() - timedelta(hours=1)
    FetchRun.objects.create(
        status=FetchRun.Status.FAILED, started_at=hour_ago, finished_at=hour_ago, error="arXiv was down"
    )

    # Two rounds as the beat sends them: each retries the failed run on the worker.
    for count in (2, 3):
        decision = app.send_task(task_name, queue=queue).get(timeout=60)
        assert decision["decision"] == "retry"
        wait_for(lambda count=count: FetchRun.objects.exclude(status="running").count() == count)

    runs = list(FetchRun.objects.order_by("started_at").values_list("status", "new_count"))
    assert runs == [("failed", 0), ("failed", 0), ("succeeded", 60)]
    assert Paper.objects.count() == 60
    assert FetchRun.objects.latest().task_id != ""
