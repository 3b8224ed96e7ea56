import logging
import os

from celery import Celery
from celery.signals import task_failure

from .heartbeats import WorkerHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lab_portal.settings")

app = Celery("lab_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker records that it is alive, and beat that it is scheduling, for /healthz.
app.steps["worker"].add(WorkerHeartbeat)

logger = logging.getLogger("lab_portal.tasks")


@task_failure.connect
def log_task_failure(sender=None, task_id=None, exception=None, args=None, kwargs=None, einfo=None, **extra):
    # One line a monitor can alert on, then the traceback: which task, with what, and why.
    logger.error(
        "Task %s[%s] failed with args=%r kwargs=%r: %r\n%s",
        getattr(sender, "name", sender),
        task_id,
        args,
        kwargs,
        exception,
        einfo.traceback if einfo else "",
    )
