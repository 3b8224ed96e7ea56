"""The announcement watcher: the daily fetch starts as soon as arXiv's announcement is visible, a
failed one is retried with backoff until it succeeds, and one announcement makes one run.

Each round is `papers.watch_announcement` as the beat sends it, at a moment of New York time set
with time-machine; the stand-in arXiv shows each evening's papers from a chosen moment on.
"""

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from lab_portal.models import Channel
from papers import announcement
from papers.fetching import FetchError
from papers.models import FetchRun, Notification, Paper, WatchRule
from papers.tasks import watch_announcement
from papers.tests.arxiv_server import (
    TESTING_PAGES,
    ArxivServer,
    Reply,
    categories_of,
    dated,
    entries,
    recording,
    truncated,
)

NEW_YORK = ZoneInfo("America/New_York")
MONDAY, TUESDAY, THURSDAY, FRIDAY = date(2026, 6, 29), date(2026, 6, 30), date(2026, 7, 2), date(2026, 7, 3)
# Recorded cs.SE papers, as the batches of two evenings: submitted that day before arXiv's cutoff.
SOFTWARE = [entry for entry in entries(*TESTING_PAGES) if "cs.SE" in categories_of(entry)]


def new_york(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=NEW_YORK)


def batch(day: date, recorded) -> list:
    return [dated(entry, new_york(day, 9, 0) + timedelta(minutes=5 * n)) for n, entry in enumerate(recorded)]


MONDAYS, TUESDAYS = batch(MONDAY, SOFTWARE[:20]), batch(TUESDAY, SOFTWARE[20:35])


def minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M")


def is_probe(arrival) -> bool:
    return arrival.params.get("max_results") == "1"


@pytest.fixture
def server(settings):
    settings.ARXIV_CATEGORIES = ["cs.SE"]
    settings.ARXIV_RUN_RETRY_BACKOFF = 60
    with ArxivServer() as running:
        running.configure(settings)
        yield running


@pytest.fixture
def tick(time_machine, django_capture_on_commit_callbacks):
    """One round of the watcher at `moment`, with what it queues on commit (the fetch, then
    matching, training and the deliveries) run in-process."""

    def round_at(moment: datetime) -> str:
        time_machine.move_to(moment, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            result = watch_announcement.delay().get()
        return result["decision"]

    return round_at


@pytest.fixture
def watched(researcher, telegram, settings):
    """Minji watches cs.SE on Telegram: every new paper of the category reaches her there, in the
    morning posts (long enough here to show every paper, not "and N more")."""
    settings.CHAT_POST_PAPERS = 50
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target="4242")
    return WatchRule.objects.create(person=researcher, name="Software", categories=["cs.SE"])


def test_watcher_starts_the_daily_fetch_as_soon_as_the_announcement_is_visible(
    db, server, tick, telegram, watched
):
    server.serve_entries([])
    server.announce(MONDAYS, at=new_york(MONDAY, 20, 0))
    assert tick(new_york(MONDAY, 20, 0, 20)) == "announced"
    monday = FetchRun.objects.get()
    telegram.reset()
    server.arrivals.clear()
    server.announce(TUESDAYS, at=new_york(TUESDAY, 20, 1, 5))

    decisions = [
        tick(new_york(TUESDAY, 19, 59, 50)),
        tick(new_york(TUESDAY, 20, 0, 20)),
        tick(new_york(TUESDAY, 20, 0, 50)),
        tick(new_york(TUESDAY, 20, 1, 20)),
        tick(new_york(TUESDAY, 20, 1, 50)),
    ]

    assert decisions == ["outside the window", "not yet", "not yet", "announced", "stored"]
    run = FetchRun.objects.latest()
    assert (run.kind, run.status, run.started_at) == ("daily", "succeeded", new_york(TUESDAY, 20, 1, 20))
    assert run.fresh_since == monday.until
    assert (run.new_count, run.unchanged_count) == (15, 20)
    # Three probes of one result each (the third sees the announcement), then the new papers,
    # then the overlap; the round after the run asks nothing.
    probes, fetched = server.arrivals[:3], server.arrivals[3:]
    assert all(is_probe(a) for a in probes) and not any(is_probe(a) for a in fetched)
    assert {(a.query, a.params["sortBy"], a.params["sortOrder"]) for a in probes} == {
        ("cat:cs.SE", "lastUpdatedDate", "descending")
    }
    fresh = f"(cat:cs.SE) AND lastUpdatedDate:[{minute(run.fresh_since)} TO {minute(run.until)}]"
    overlap = f"(cat:cs.SE) AND lastUpdatedDate:[{minute(run.since)} TO {minute(run.fresh_since)}]"
    assert [a.query for a in fetched] == [fresh, fresh, overlap, overlap]
    # Tuesday's papers, and only they, reached Telegram.
    tuesdays = set(Paper.objects.filter(first_announced=date(2026, 7, 1)).values_list("title", flat=True))
    assert len(tuesdays) == 15
    sent = [arrival.text for arrival in telegram.sent()]
    assert all(sum(text.count(title) for text in sent) == 1 for title in tuesdays)
    assert sum(text.count("\nPortal · arXiv") for text in sent) == 15  # each once, nothing else


def test_watcher_retries_a_truncated_page_before_it_fails_the_run(db, server, tick, watched):
    server.serve_entries(MONDAYS)
    server.fail(10, truncated(recording(TESTING_PAGES[1])), Reply(b"<feed", status=200))

    assert tick(new_york(MONDAY, 20, 0, 20)) == "announced"

    run = FetchRun.objects.get()
    assert (run.status, run.new_count) == ("succeeded", 20)
    assert [a.start for a in server.arrivals if not is_probe(a)][:4] == [0, 10, 10, 10]
    assert Notification.objects.filter(rule=watched).count() == 20


@pytest.mark.parametrize(
    "moment",
    [
        new_york(TUESDAY, 19, 59, 59),
        new_york(TUESDAY, 23, 0),
        new_york(FRIDAY, 20, 15),  # arXiv announces nothing on Friday and Saturday evenings
        new_york(date(2026, 7, 4), 20, 15),
        new_york(date(2026, 7, 1), 12, 0),
    ],
    ids=["before-eight", "after-the-window", "friday", "saturday", "noon"],
)
def test_watcher_outside_announcement_evenings_asks_arxiv_nothing(db, server, tick, moment):
    server.serve_entries(MONDAYS)

    assert tick(moment) == "outside the window"

    assert server.arrivals == []
    assert not FetchRun.objects.exists()


@pytest.mark.parametrize(
    ("moment", "evening"),
    [
        # Daylight saving starts on Sunday 8 March 2026: 20:00 in New York is 01:00 UTC before it,
        # and 00:00 UTC after it.
        (datetime(2026, 3, 6, 0, 30, tzinfo=UTC), None),  # Thursday 19:30 EST
        (datetime(2026, 3, 6, 1, 0, 5, tzinfo=UTC), datetime(2026, 3, 6, 1, 0, tzinfo=UTC)),
        (datetime(2026, 3, 9, 0, 0, 5, tzinfo=UTC), datetime(2026, 3, 9, 0, 0, tzinfo=UTC)),  # Sunday
        (datetime(2026, 3, 9, 3, 0, tzinfo=UTC), None),  # Sunday 23:00 EDT
        # It ends on Sunday 1 November 2026.
        (datetime(2026, 10, 30, 0, 0, 5, tzinfo=UTC), datetime(2026, 10, 30, 0, 0, tzinfo=UTC)),
        (datetime(2026, 11, 3, 0, 30, tzinfo=UTC), None),  # Monday 19:30 EST
        (datetime(2026, 11, 3, 1, 0, 5, tzinfo=UTC), datetime(2026, 11, 3, 1, 0, tzinfo=UTC)),
    ],
    ids=["thu-est-early", "thu-est", "sun-edt", "sun-edt-late", "thu-edt", "mon-est-early", "mon-est"],
)
def test_watched_evening_follows_new_york_daylight_saving(moment, evening):
    assert announcement.watched_evening(moment) == evening


@pytest.mark.parametrize(
    ("evening", "listed"),
    [(date(2026, 6, 28), date(2026, 6, 29)), (TUESDAY, date(2026, 7, 1)), (THURSDAY, FRIDAY)],
    ids=["sunday", "tuesday", "thursday"],
)
def test_listing_day_of_an_evening_is_the_next_weekday(evening, listed):
    assert announcement.listing_day(new_york(evening, 20, 0)) == listed


def test_watcher_starts_the_run_at_half_past_eight_when_arxiv_shows_nothing_new(db, server, tick):
    server.serve_entries(MONDAYS)
    assert tick(new_york(MONDAY, 20, 0, 20)) == "announced"
    server.arrivals.clear()

    decisions = [tick(new_york(TUESDAY, 20, 29, 50)), tick(new_york(TUESDAY, 20, 30, 20))]
    decisions.append(tick(new_york(TUESDAY, 20, 30, 50)))

    # The fixed schedule's half past eight, then back to watching: the papers are still to come.
    assert decisions == ["not yet", "fallback", "not yet"]
    fallback = FetchRun.objects.latest()
    assert (fallback.status, fallback.new_count, fallback.started_at) == (
        "succeeded", 0, new_york(TUESDAY, 20, 30, 20)
    )  # fmt: skip


def test_watcher_keeps_watching_when_arxiv_does_not_answer(db, server, tick):
    server.serve_entries(MONDAYS)
    server.fail(0, Reply(b"busy", status=503))

    assert tick(new_york(MONDAY, 20, 0, 20)) == "not yet"
    assert tick(new_york(MONDAY, 20, 0, 50)) == "announced"

    assert [a.start for a in server.arrivals][:2] == [0, 0]  # one try a round, no retries
    assert FetchRun.objects.get().status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_watcher_retries_a_failed_daily_run_with_backoff_until_it_succeeds(server, tick, telegram, watched):
    # Committed as in production, so what a failing run stored is matched before its task raises.
    # Thursday's run starts just before the window closes and fails on its second page; the
    # retries carry on after it.
    server.serve_entries(batch(THURSDAY, SOFTWARE[:12]))
    down = Reply(b"Service Unavailable", status=503)
    server.fail(10, *[down] * 8)
    with pytest.raises(FetchError, match=r"page 2 \(start=10\) failed with HTTP 503 \(4 tries\)"):
        tick(new_york(THURSDAY, 22, 59, 30))
    first = FetchRun.objects.get()

    early = tick(first.finished_at + timedelta(seconds=59))
    with pytest.raises(FetchError):
        tick(first.finished_at + timedelta(seconds=61))
    second = FetchRun.objects.latest()
    waiting = tick(second.finished_at + timedelta(seconds=119))
    retried = tick(second.finished_at + timedelta(seconds=121))

    assert (early, waiting, retried) == ("waiting to retry", "waiting to retry", "retry")
    runs = list(FetchRun.objects.order_by("started_at").values_list("status", "new_count"))
    assert runs == [("failed", 10), ("failed", 0), ("succeeded", 2)]
    assert FetchRun.objects.latest().started_at > new_york(THURSDAY, 23, 0)  # past the window
    # Each paper reached the chat once: ten after the failed run, two after the one that succeeded.
    assert Notification.objects.filter(rule=watched).count() == 12
    sent = [arrival.text for arrival in telegram.sent()]
    titles = Paper.objects.values_list("title", flat=True)
    assert len(titles) == 12
    assert all(sum(text.count(title) for text in sent) == 1 for title in titles)


def test_watcher_starts_one_daily_run_however_many_rounds_decide(db, server, tick, time_machine):
    server.serve_entries(MONDAYS)
    time_machine.move_to(new_york(MONDAY, 20, 0, 20), tick=False)

    first = announcement.watch()  # the run it opens is for the caller to fetch; not fetched here
    again = announcement.watch()

    assert (first.what, again.what) == ("announced", "running")
    assert FetchRun.objects.get() == first.run
    with pytest.raises(IntegrityError), transaction.atomic():
        FetchRun.objects.create(kind=FetchRun.Kind.DAILY)


def test_a_run_whose_task_was_lost_is_closed_when_its_lease_runs_out_and_retried(
    db, server, tick, time_machine, settings
):
    server.serve_entries(MONDAYS)
    time_machine.move_to(new_york(MONDAY, 20, 0, 20), tick=False)
    # The round opens the run, and its task message is lost before a worker takes it (Redis was
    # flushed, or restarted without its data).
    lost = announcement.watch().run
    lease = timedelta(seconds=settings.FETCH_RUN_LEASE_SECONDS)

    within = tick(lost.started_at + lease - timedelta(seconds=1))
    closed = tick(lost.started_at + lease + timedelta(seconds=1))
    lost.refresh_from_db()
    retried = tick(lost.finished_at + timedelta(seconds=settings.ARXIV_RUN_RETRY_BACKOFF + 1))

    assert (within, closed, retried) == ("running", "waiting to retry", "retry")
    assert lost.status == FetchRun.Status.FAILED and "the worker was lost" in lost.error
    run = FetchRun.objects.latest()
    assert run.status == FetchRun.Status.SUCCEEDED
    assert run.new_count == Paper.objects.count() > 0  # the lost run stored nothing; this one all


def test_watcher_round_while_another_decides_does_nothing(db, server, time_machine):
    server.serve_entries(MONDAYS)
    time_machine.move_to(new_york(MONDAY, 20, 0, 20), tick=False)
    cache.add(announcement.LOCK, "another round", timeout=60)

    assert announcement.watch().what == "busy"

    assert server.arrivals == []
    assert not FetchRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_deciding_at_once_start_one_run(settings):
    settings.ARXIV_CATEGORIES = ["cs.SE"]
    with ArxivServer(page_delay=lambda: 0.3) as server:
        server.configure(settings)
        server.serve_entries(MONDAYS)
        start = threading.Barrier(2)
        decisions = []

        def round_at_once():
            start.wait()
            try:
                decisions.append(announcement.watch(now=new_york(MONDAY, 20, 0, 20)).what)
            finally:
                connection.close()

        workers = [threading.Thread(target=round_at_once) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    assert sorted(decisions) in (["announced", "busy"], ["announced", "running"])
    assert FetchRun.objects.count() == 1


def test_retry_backoff_doubles_with_each_failure_up_to_an_hour(db, settings):
    settings.ARXIV_RUN_RETRY_BACKOFF = 60
    now = timezone.now()
    FetchRun.objects.create(status="succeeded", started_at=now - timedelta(days=1))
    waits = []

    for n in range(8):
        moment = now + timedelta(hours=n)
        failed = FetchRun.objects.create(status="failed", started_at=moment, finished_at=moment)
        waits.append((announcement.retry_at(failed) - moment).total_seconds())

    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]
