"""Celery: tasks run in-process without Redis, and on a real worker with it."""

import logging
import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from lab_portal.celery import app
from lab_portal.tasks import clear_expired_sessions
from lab_portal.tests.celery_tasks import boom


def make_sessions():
    Session.objects.create(session_key="old", session_data="", expire_date=timezone.now() - timedelta(days=1))
    Session.objects.create(session_key="new", session_data="", expire_date=timezone.now() + timedelta(days=1))


def test_task_runs_in_process_without_a_broker(db):
    make_sessions()

    result = clear_expired_sessions.delay()

    assert result.get() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == ["new"]


def test_task_enqueued_on_commit_does_not_run_when_the_transaction_rolls_back(db):
    make_sessions()

    with pytest.raises(RuntimeError), transaction.atomic():
        clear_expired_sessions.delay_on_commit()
        raise RuntimeError("the view failed after enqueuing")

    assert Session.objects.count() == 2


def test_task_failure_is_logged_with_its_arguments_and_traceback(caplog):
    # In-process runs raise into the caller by default; as on a worker, the failure is then logged.
    app.conf.task_eager_propagates = False
    try:
        with caplog.at_level(logging.ERROR, logger="lab_portal.tasks"):
            result = boom.delay(7, why="a test")
    finally:
        app.conf.task_eager_propagates = True

    [record] = [r.getMessage() for r in caplog.records if r.name == "lab_portal.tasks"]
    assert result.failed()
    assert f"Task lab_portal.tests.boom[{result.id}]" in record
    assert "args=[7]" in record or "args=(7,)" in record
    assert "'why': 'a test'" in record
    assert "Traceback (most recent call last)" in record
    assert "ValueError: boom 7: a test" in record


@pytest.mark.redis
def test_real_worker_runs_a_task_end_to_end(transactional_db, real_worker):
    queue, _ = real_worker
    make_sessions()

    result = clear_expired_sessions.apply_async(queue=queue)

    assert result.get(timeout=60) == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == ["new"]


@pytest.mark.redis
def test_real_worker_logs_a_failing_task(transactional_db, real_worker):
    queue, log = real_worker

    result = boom.apply_async(args=[42], kwargs={"why": "on the worker"}, queue=queue)

    with pytest.raises(ValueError, match="boom 42: on the worker"):
        result.get(timeout=60)
    deadline = time.monotonic() + 10
    while "failed with args" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    text = log.read_text()
    assert (
        f"Task lab_portal.tests.boom[{result.id}] failed with args=[42] kwargs={{'why': 'on the worker'}}"
        in text
    )
    assert "Traceback (most recent call last)" in text


def test_beat_schedule_names_its_entries():
    schedule = app.conf.beat_schedule

    assert "clear-expired-sessions" in schedule
    assert schedule["clear-expired-sessions"]["task"] in app.tasks
