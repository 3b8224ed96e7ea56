import logging

from celery import shared_task

from .fetching import FetchError, fetch, start_daily_run
from .models import FetchRun

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
