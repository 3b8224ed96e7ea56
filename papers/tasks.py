"""What follows what in the paper feed: the watcher starts the daily fetch, a fetch is followed
by matching, training and matching again (`after_fetch`), the digest runs on its own clock."""

import logging

from celery import chain, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from . import announcement, chat, digest, services, watch
from .fetching import FetchError, Lease, fetch, start_daily_run
from .models import FetchRun
from .recommend import train_recommendations

logger = logging.getLogger(__name__)

MATCH_AGAIN_AFTER = 5  # seconds a matching waits while another matches the same run


def _queue(task) -> str | None:
    # Follow-ups go where their task came from: the queue the fetch pipeline runs on.
    return (task.request.delivery_info or {}).get("routing_key")


@shared_task(name="papers.watch_announcement", bind=True)
def watch_announcement(self) -> dict:
    """The beat's round every half minute: start the daily fetch the moment arXiv's announcement
    is visible, or retry a failed one after its backoff (papers/announcement.py)."""
    decision = announcement.watch(task_id=self.request.id or "")
    if decision.run is not None:
        run_id, queue = decision.run.pk, _queue(self)
        transaction.on_commit(lambda: fetch_new_papers.apply_async(kwargs={"run_id": run_id}, queue=queue))
    return {"decision": decision.what, "run_id": decision.run.pk if decision.run else None}


@shared_task(name="papers.fetch_new_papers", bind=True)
def fetch_new_papers(self, *, run_id: int | None = None) -> dict | None:
    """The daily fetch (without arguments), or the prepared run `run_id`."""
    task_id = self.request.id or ""
    if run_id is None:
        run = start_daily_run(task_id=task_id)
        if run is None:
            logger.info("A daily arXiv fetch is already running; this one is skipped.")
            return None
    else:
        run = FetchRun.objects.filter(pk=run_id, status=FetchRun.Status.RUNNING).first()
        if run is None:
            logger.info("Fetch run %s is gone or already finished; nothing to do.", run_id)
            return None
        run.task_id = task_id
        run.save(update_fields=["task_id"])
    with Lease(run.pk):
        run = fetch_run(run, queue=_queue(self))
    if run.status == FetchRun.Status.FAILED:
        # Raised so the failure reaches the worker's log and monitoring; the run keeps what it
        # stored, and the watcher starts the next daily run after a backoff.
        raise FetchError(f"Fetch run {run.pk} failed after storing {run.stored} papers: {run.error}")
    logger.info(
        "Fetch run %s: %d new, %d updated, %d unchanged in %d pages",
        run.pk, run.new_count, run.updated_count, run.unchanged_count, run.pages,
    )  # fmt: skip
    return {
        "run_id": run.pk,
        "pages": run.pages,
        "new": run.new_count,
        "updated": run.updated_count,
        "unchanged": run.unchanged_count,
    }


def fetch_run(run: FetchRun, *, queue: str | None = None, **options) -> FetchRun:
    """Fetch `run`'s window, then queue what follows. A daily run's new announcement is matched
    the moment it is stored, while the overlap before it is still being read."""

    def match_fresh(run: FetchRun) -> None:
        _enqueue(match_watch_rules.si(run_id=run.pk), queue)

    run = fetch(
        categories=run.categories, since=run.since, until=run.until, run=run,
        on_fresh=match_fresh if run.pushes else None, **options,
    )  # fmt: skip
    after_fetch(run, queue=queue)
    return run


def after_fetch(run: FetchRun, *, queue: str | None = None) -> None:
    """Queue what follows a run that stored something, failed or not (what it stored is kept).

    For the daily run, in this order: its papers are matched and pushed (a new announcement was
    already, as soon as it was stored; this matching waits for that one, then adds the overlap's
    late papers); recommendations are trained, for "For you" and the digest, once the pushes are
    out of the way; the papers are matched again, so "like my library" rules read the new
    scores. Matching is idempotent: nothing is sent twice.

    Other runs (backfills, harvests, papers added by id) bring history, not news: they retrain
    and are never matched, so nobody is pushed or mailed an old paper as if it were new.
    """
    if not (run.new_count or run.updated_count):
        return
    train = train_recommendations.si(run_id=run.pk).set(queue=queue)
    if not run.pushes:
        _enqueue(train, queue)
        return
    match = match_watch_rules.si(run_id=run.pk).set(queue=queue)
    _enqueue(chain(match, train, match.clone()), queue)


def _enqueue(signature, queue: str | None) -> None:
    transaction.on_commit(lambda: signature.apply_async(queue=queue))


@shared_task(name="papers.match_watch_rules", bind=True, max_retries=None)
def match_watch_rules(self, *, run_id: int) -> dict | None:
    """Match what daily fetch run `run_id` stored against every watch rule; safe to run again."""
    run = FetchRun.objects.filter(pk=run_id).first()
    if run is None:
        logger.info("Fetch run %s is gone; no watch rules to match.", run_id)
        return None
    if not run.pushes:
        logger.info("Fetch run %s is a %s: only daily runs are matched and pushed.", run.pk, run.kind)
        return None
    # One matching of a run at a time: the one queued when the fetch ended waits for the one that
    # started when the new papers were stored, rather than racing it over the same messages.
    lock = f"papers:matching-run:{run.pk}"
    if not cache.add(lock, self.request.id or "-", timeout=settings.CELERY_TASK_TIME_LIMIT):
        raise self.retry(countdown=MATCH_AGAIN_AFTER)
    try:
        created = watch.notify_matches(watch.papers_of_run(run))
        # The morning chat post follows each matching of a daily run: the first brings the new
        # announcement's papers, a later one (after the overlap, or after training for "like my
        # library" rules) only what each channel has not carried yet. The task's id keys the post,
        # so a redelivered task never posts twice.
        posted = chat.post_run_matches(run, batch=self.request.id or "")
    finally:
        cache.delete(lock)
    logger.info("Fetch run %s: %d watch-rule notifications, %d chat posts", run.pk, created, posted)
    return {"run_id": run.pk, "notifications": created, "chat_posts": posted}


@shared_task(name="papers.send_digests")
def send_digests() -> dict:
    """The morning e-mail of everyone whose morning has come; the beat runs it every 15 minutes."""
    sent = digest.send_due_digests()
    return {"sent": sent}


@shared_task(name="papers.forget_run_papers")
def forget_run_papers() -> dict:
    """Daily: drop which papers the runs of more than two weeks ago stored; safe to run twice."""
    return {"forgotten": services.forget_run_papers()}
