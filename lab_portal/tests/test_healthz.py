from datetime import datetime, timedelta

import pytest
import time_machine
from django.db.models import Max
from django.utils import timezone

from conftest import eventually
from lab_portal.models import Heartbeat


@pytest.fixture
def background_alive(db):
    """A worker and beat that have just shown they are alive, as they do on a healthy portal."""
    Heartbeat.record("worker:celery@web-1")
    Heartbeat.record("beat")


def test_healthz_answers_json_to_anonymous_monitors(client, background_alive):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == {"ok": True}


def test_healthz_reports_a_reachable_redis(client, background_alive, redis_url):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["redis"] == {"ok": True}


def test_healthz_fails_when_redis_is_unreachable(client, db, settings):
    # Nothing listens on port 1: the check must say so rather than hang or crash.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "failing"
    assert response.json()["redis"]["ok"] is False
    assert response.json()["database"]["ok"] is True


def test_healthz_refuses_writes(client, db):
    assert client.post("/healthz").status_code == 405


def test_healthz_reports_the_age_of_the_last_successful_fetch(client, db):
    from datetime import timedelta

    from django.utils import timezone

    from papers.models import FetchRun

    assert client.get("/healthz").json()["last_fetch"] is None
    finished = timezone.now() - timedelta(hours=5)
    FetchRun.objects.create(status="succeeded", finished_at=finished, new_count=42)
    FetchRun.objects.create(status="failed", finished_at=timezone.now())

    last = client.get("/healthz").json()["last_fetch"]

    assert last["new"] == 42
    assert 5 * 3600 - 5 <= last["age_seconds"] <= 5 * 3600 + 60


def test_healthz_reports_when_a_worker_and_beat_were_last_seen(client, background_alive, redis_url):
    body = client.get("/healthz").json()

    assert body["worker"]["ok"] is True and body["beat"]["ok"] is True
    assert body["worker"]["age_seconds"] <= 5


def test_healthz_turns_red_when_the_scheduler_stops(client, background_alive, redis_url, settings):
    settings.BEAT_HEARTBEAT_MAX_AGE = 180
    # The worker keeps beating; beat has stopped since the fixture's heartbeat.
    with time_machine.travel(timezone.now() + timedelta(seconds=181), tick=False):
        Heartbeat.record("worker:celery@web-1")
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["worker"]["ok"] is True
    assert body["beat"] == {
        "ok": False,
        "last_seen": Heartbeat.objects.get(name="beat").seen_at.isoformat(),
        "age_seconds": 181,
        "error": "silent for more than 180 seconds",
    }


def test_healthz_turns_red_when_no_worker_runs(client, background_alive, redis_url, settings):
    Heartbeat.objects.filter(name__startswith="worker:").delete()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["worker"] == {"ok": False, "last_seen": None, "error": "never seen"}
    assert response.json()["beat"]["ok"] is True


def test_one_live_worker_of_two_is_enough(client, background_alive, redis_url):
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        Heartbeat.record("worker:celery@web-2")  # stopped an hour ago

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["worker"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_records_its_heartbeat(client, start_celery_worker):
    queue, _log = start_celery_worker()
    name = f"worker:{queue}@localhost"
    eventually(Heartbeat.objects.filter(name=name).exists, "the worker's first heartbeat", timeout=60)
    Heartbeat.record("beat")
    before = Heartbeat.objects.get(name=name).seen_at

    body = client.get("/healthz").json()

    # /healthz reports the newest beat of any worker: this one may beat again while it answers,
    # and under CI the suite's own Celery worker beats into the same database too.
    after = Heartbeat.objects.filter(name__startswith="worker:").aggregate(latest=Max("seen_at"))["latest"]
    assert body["worker"]["ok"] is True
    assert before <= datetime.fromisoformat(body["worker"]["last_seen"]) <= after
