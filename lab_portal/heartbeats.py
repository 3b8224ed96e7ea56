"""Heartbeats of the background processes, for /healthz: is a worker running, is beat scheduling?

A worker records its heartbeat from its own timer every WORKER_HEARTBEAT_SECONDS, whether or not
it has tasks; beat records one whenever it sends a scheduled task (the announcement watcher is
due every 30 seconds, so a running beat is never quiet for long). A stopped process simply stops
recording, and /healthz turns red once its last heartbeat is older than the allowed age.
"""

import logging

from celery import bootsteps
from celery.signals import after_task_publish, beat_init
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

_in_beat = False


BEAT = "beat"
WORKER_PREFIX = "worker:"


def _record(name: str) -> None:
    # Imported here: Celery's app, which loads this module, is made before Django's models.
    from .models import Heartbeat

    try:
        Heartbeat.record(name)
    except Exception:  # a database that is down is /healthz's finding; the process goes on
        logger.exception("Could not record the heartbeat of %s", name)


class WorkerHeartbeat(bootsteps.StartStopStep):
    """A worker bootstep: its heartbeat at start and then on the worker's own timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_entry = None

    def start(self, worker):
        name = WORKER_PREFIX + worker.hostname
        self.beat(name)
        self.timer_entry = worker.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_SECONDS, self.beat, (name,), priority=10
        )

    def beat(self, name: str) -> None:
        _record(name)
        # The worker's main process forks the pool's children: it must not keep a connection open
        # for them to inherit.
        connection.close()

    def stop(self, worker):
        if self.timer_entry is not None:
            self.timer_entry.cancel()


@beat_init.connect
def _in_beat_process(sender=None, **kwargs) -> None:
    global _in_beat
    _in_beat = True


@after_task_publish.connect
def _beat_sent_a_task(sender=None, **kwargs) -> None:
    if _in_beat:
        _record(BEAT)
