"""/healthz for the lab's monitoring, without a login: whether each part of the portal is up and
when the arXiv feed last succeeded; nobody's data."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import heartbeats
from ..models import Heartbeat


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For the lab's monitoring: can the portal reach its database and its Redis, is a Celery
    worker running and is beat scheduling? A JSON field per part; 503 when one is down."""
    checks = {"database": _check_database()}
    if settings.REDIS_URL:
        # With a broker the work runs in workers on beat's schedule (without one, in-process).
        checks["redis"] = _check_redis()
        if checks["database"]["ok"]:
            checks["worker"] = _check_heartbeat(heartbeats.WORKER_PREFIX, settings.WORKER_HEARTBEAT_MAX_AGE)
            checks["beat"] = _check_heartbeat(heartbeats.BEAT, settings.BEAT_HEARTBEAT_MAX_AGE)
    healthy = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if healthy else "failing", **checks}
    if checks["database"]["ok"]:
        body["last_fetch"] = _last_fetch()
    return JsonResponse(body, status=200 if healthy else 503)


def _last_fetch() -> dict | None:
    """When the arXiv feed last succeeded, so monitoring can alert on a stale feed."""
    from papers.models import FetchRun

    run = FetchRun.objects.filter(status=FetchRun.Status.SUCCEEDED).order_by("-finished_at").first()
    if run is None or run.finished_at is None:
        return None
    age = (timezone.now() - run.finished_at).total_seconds()
    return {"finished_at": run.finished_at.isoformat(), "age_seconds": round(age), "new": run.new_count}


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure is a finding to report, not a crash
        return {"ok": False, "error": exc.__class__.__name__}


def _check_heartbeat(prefix: str, max_age: int) -> dict:
    last = Heartbeat.latest(prefix=prefix)
    if last is None:
        return {"ok": False, "last_seen": None, "error": "never seen"}
    age = round((timezone.now() - last.seen_at).total_seconds())
    check = {"ok": age <= max_age, "last_seen": last.seen_at.isoformat(), "age_seconds": age}
    if not check["ok"]:
        check["error"] = f"silent for more than {max_age} seconds"
    return check


def _check_redis() -> dict:
    try:
        cache.set("healthz", "ok", 10)
        return {"ok": cache.get("healthz") == "ok"}
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
