import logging

from celery import shared_task

from . import chat, digest, watch
from .fetching import FetchError, fetch, start_daily_run
from .models import FetchRun
from .recommend import train_recommendations  # noqa: F401 - registers "papers.train_recommendations"

logger = logging.getLogger(__name__)


@shared_task(name="papers.fetch_new_papers", bind=True)
def fetch_new_papers(self, *, run_id: int | None = None) -> dict | None:
    """The daily fetch (beat sends no arguments), or the prepared run `run_id`."""
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
    run = fetch(categories=run.categories, since=run.since, until=run.until, run=run)
    if run.status == FetchRun.Status.FAILED:
        # Raised so the failure reaches the worker's log and monitoring; the run keeps what it stored.
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


@shared_task(name="papers.match_watch_rules")
def match_watch_rules(*, run_id: int) -> dict | None:
    """Match what fetch run `run_id` stored against every watch rule; safe to run again."""
    run = FetchRun.objects.filter(pk=run_id).first()
    if run is None:
        logger.info("Fetch run %s is gone; no watch rules to match.", run_id)
        return None
    created = watch.notify_matches(watch.papers_of_run(run))
    # The morning chat post follows a daily run's matching; a backfill never posts.
    posted = chat.post_run_matches(run) if run.kind == FetchRun.Kind.DAILY else 0
    logger.info("Fetch run %s: %d watch-rule notifications, %d chat posts", run.pk, created, posted)
    return {"run_id": run.pk, "notifications": created, "chat_posts": posted}


@shared_task(name="papers.send_digests")
def send_digests() -> dict:
    """The morning e-mail of everyone whose morning has come; the beat runs it every 15 minutes."""
    sent = digest.send_due_digests()
    return {"sent": sent}
