"""The scheduled task `papers.fetch_new_papers`: in-process, on a real worker, and on the clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from lab_portal.celery import app
from papers.fetching import FetchError
from papers.models import FetchRun, Paper
from papers.tasks import fetch_new_papers
from papers.tests.arxiv_server import ERROR_400, TESTING_PAGES, ArxivServer, recording

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def server(settings):
    with ArxivServer() as running:
        running.configure(settings)
        yield running


def test_fetch_new_papers_runs_the_daily_fetch(db, server, settings):
    settings.ARXIV_CATEGORIES = ["cs.CV"]
    server.serve_pages(*TESTING_PAGES)

    result = fetch_new_papers.delay()

    run = FetchRun.objects.get()
    assert result.get() == {"run_id": run.pk, "pages": 6, "new": 60, "updated": 0, "unchanged": 0}
    assert (run.kind, run.status, run.task_id) == (FetchRun.Kind.DAILY, FetchRun.Status.SUCCEEDED, result.id)
    assert run.categories == ["cs.CV"]
    assert Paper.objects.count() == 60


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


@pytest.fixture(scope="module")
def worker_and_server(start_celery_worker):
    """A real worker whose environment points it at the local arXiv, with test-sized spacing."""
    with ArxivServer() as running:
        queue, _log = start_celery_worker(
            env={
                "ARXIV_API_URL": running.url,
                "ARXIV_CATEGORIES": "cs.SE",
                "ARXIV_REQUEST_SPACING": "0.05",
                "ARXIV_TIMEOUT": "5",
                "ARXIV_PAGE_SIZE": "10",
            }
        )
        yield queue, running


@pytest.fixture
def arxiv_worker(worker_and_server):
    app.conf.task_always_eager = False
    yield worker_and_server
    app.conf.task_always_eager = True


@pytest.mark.redis
def test_fetch_new_papers_on_a_real_worker_as_beat_sends_it(transactional_db, arxiv_worker, settings):
    queue, server = arxiv_worker
    server.serve_pages(*TESTING_PAGES)
    server.arrivals.clear()
    task_name = settings.CELERY_BEAT_SCHEDULE["fetch-arxiv-daily"]["task"]

    result = app.send_task(task_name, queue=queue)

    summary = result.get(timeout=60)
    run = FetchRun.objects.get()
    assert summary == {"run_id": run.pk, "pages": 6, "new": 60, "updated": 0, "unchanged": 0}
    assert (run.kind, run.status, run.task_id, run.categories) == (
        FetchRun.Kind.DAILY, FetchRun.Status.SUCCEEDED, result.id, ["cs.SE"]
    )  # fmt: skip
    assert Paper.objects.count() == 60
    assert min(server.gaps()) >= 0.04


@pytest.mark.parametrize(
    ("last_run", "expected"),
    [
        # Daylight saving starts on Sunday 8 March 2026: the same 20:30 is an hour earlier in UTC.
        (
            datetime(2026, 3, 5, 20, 30, tzinfo=NEW_YORK),
            ["03-09 00:30", "03-10 00:30", "03-11 00:30", "03-12 00:30", "03-13 00:30", "03-16 00:30"],
        ),
        # It ends on Sunday 1 November 2026: an hour later in UTC.
        (
            datetime(2026, 10, 29, 20, 30, tzinfo=NEW_YORK),
            ["11-02 01:30", "11-03 01:30", "11-04 01:30", "11-05 01:30", "11-06 01:30", "11-09 01:30"],
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_daily_fetch_schedule_fires_at_half_past_eight_new_york_time_sunday_to_thursday(
    settings, last_run, expected
):
    schedule = settings.CELERY_BEAT_SCHEDULE["fetch-arxiv-daily"]["schedule"]
    fired = []

    for _ in expected:
        start, delta, _now = schedule.remaining_delta(last_run)
        last_run = start + delta
        fired.append(last_run)

    assert [moment.astimezone(NEW_YORK).strftime("%a %H:%M") for moment in fired] == [
        "Sun 20:30", "Mon 20:30", "Tue 20:30", "Wed 20:30", "Thu 20:30", "Sun 20:30"
    ]  # fmt: skip
    assert [moment.astimezone(UTC).strftime("%m-%d %H:%M") for moment in fired] == expected
