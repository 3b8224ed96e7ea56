"""Tasks that exist only for the tests; the test worker loads them with --include."""

import os

from celery import shared_task

from lab_portal.celery import app

# What a task queues on this worker (a delivery after a chat update, say) goes back to the
# worker's own queue: Celery's default queue has no test worker reading it.
if queue := os.environ.get("TEST_WORKER_QUEUE"):
    app.conf.task_default_queue = queue


@shared_task(name="lab_portal.tests.boom")
def boom(number: int, *, why: str) -> None:
    raise ValueError(f"boom {number}: {why}")
