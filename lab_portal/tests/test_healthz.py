def test_healthz_answers_json_to_anonymous_monitors(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == {"ok": True}


def test_healthz_reports_a_reachable_redis(client, db, redis_url):
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
