"""Watching for arXiv's announcement, so the daily fetch starts the moment it can be fetched.

arXiv announces at 20:00 US Eastern on Sunday to Thursday evenings, and the new papers reach
the query API within minutes, some days later. The beat runs `papers.watch_announcement` every
half minute, and each round decides, in this order:

1. a daily run is under way: nothing to do;
2. the last daily run failed: the next one starts once a backoff has passed (doubling with each
   failure in a row, up to an hour), whatever the day or hour, until one succeeds;
3. outside an announcement evening's window, or with tonight's papers already stored: nothing
   (a few small queries, no request to arXiv);
4. otherwise one request of one result asks arXiv for the newest paper in the lab's categories;
   newer than anything the daily runs stored means the announcement is out: the run starts;
5. half an hour into the window with no daily run since 20:00, one starts anyway
   (`FALLBACK_AFTER`), so an announcement the one-result request cannot see still gets its run
   by 20:30.

Rounds hold a lock while they decide, and the database allows one running daily run, so two
beats or two workers start one run per announcement.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .fetching import FetchError, close_lost_runs, newest_visible, start_daily_run
from .models import ANNOUNCEMENT, ANNOUNCEMENT_WEEKDAYS, ARXIV_TZ, Category, FetchRun, announcement_day

logger = logging.getLogger(__name__)

# The beat's period: how late a visible announcement is noticed at worst.
WATCH_EVERY = timedelta(seconds=30)
# How long after 20:00 the watcher keeps asking (arXiv is late now and then, never by hours).
WATCH_FOR = timedelta(hours=3)
# When the watcher starts a run without seeing the announcement: the old fixed schedule's time.
FALLBACK_AFTER = timedelta(minutes=30)
# The longest wait between two tries of a failing daily run, so a day's papers are never more
# than this late once arXiv answers again.
MAX_RETRY_WAIT = timedelta(hours=1)
LOCK = "papers:watching-announcement"


@dataclass
class Decision:
    what: str  # one of the names below, for the task's result and the log
    run: FetchRun | None = None


def watch(*, now: datetime | None = None, task_id: str = "") -> Decision:
    """One round of the watcher; the run it opened, if any, is for the caller to fetch."""
    now = now or timezone.now()
    # Long enough for the one request to arXiv to time out inside it.
    if not cache.add(LOCK, task_id or "-", timeout=settings.ARXIV_TIMEOUT + 60):
        return Decision("busy")
    try:
        return _decide(now, task_id)
    finally:
        cache.delete(LOCK)


def _decide(now: datetime, task_id: str) -> Decision:
    close_lost_runs(now=now)
    daily = FetchRun.objects.daily()
    latest = daily.order_by("-started_at", "-pk").first()
    if latest and latest.status == FetchRun.Status.RUNNING:
        return Decision("running")
    if latest and latest.status == FetchRun.Status.FAILED:
        if now < retry_at(latest):
            return Decision("waiting to retry")
        return _start("retry", task_id)
    evening = watched_evening(now)
    if evening is None:
        return Decision("outside the window")
    newest = daily.newest_stored()
    if newest and announcement_day(newest) >= listing_day(evening):
        return Decision("stored")
    codes = Category.objects.lab_codes()
    try:
        visible = newest_visible(categories=codes) if codes else None
    except FetchError as exc:
        logger.warning("Could not ask arXiv for its newest paper: %s", exc)
        visible = None
    if visible and (newest is None or visible > newest):
        return _start("announced", task_id)
    if now >= evening + FALLBACK_AFTER and not daily.filter(started_at__gte=evening).exists():
        return _start("fallback", task_id)
    return Decision("not yet")


def _start(what: str, task_id: str) -> Decision:
    run = start_daily_run(task_id=task_id)
    if run is None:
        return Decision("busy")
    logger.info("Daily arXiv fetch %s starts (%s).", run.pk, what)
    return Decision(what, run)


def watched_evening(now: datetime) -> datetime | None:
    """Tonight's 20:00 US Eastern if `now` is in an announcement evening's window, else None.
    The moment is read on New York's own clock, so daylight saving moves it with New York."""
    local = now.astimezone(ARXIV_TZ)
    evening = datetime.combine(local.date(), ANNOUNCEMENT, tzinfo=ARXIV_TZ)
    if local.weekday() in ANNOUNCEMENT_WEEKDAYS and evening <= local < evening + WATCH_FOR:
        return evening
    return None


def listing_day(evening: datetime) -> date:
    """The date arXiv lists an evening's announcement under: the next weekday."""
    day = evening.astimezone(ARXIV_TZ).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def retry_at(failed: FetchRun) -> datetime:
    """When the daily run after `failed` may start: the backoff doubles with each failure since
    the last success."""
    daily = FetchRun.objects.daily()
    success = daily.filter(status=FetchRun.Status.SUCCEEDED).order_by("-started_at").first()
    failures = daily.filter(status=FetchRun.Status.FAILED)
    if success:
        failures = failures.filter(started_at__gt=success.started_at)
    doublings = min(max(failures.count() - 1, 0), 20)  # past the cap long before 2**20
    wait = timedelta(seconds=settings.ARXIV_RUN_RETRY_BACKOFF) * 2**doublings
    return (failed.finished_at or failed.started_at) + min(wait, MAX_RETRY_WAIT)
