import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .forms import ProfileForm
from .models import Team, User


def login_locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes answers a paused log-in with this page: the same whether or not the user exists."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME * 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def home(request: HttpRequest) -> HttpResponse:
    # The dashboard is the one place lab_portal reads the apps it hosts.
    from papers.models import Paper

    day = Paper.objects.latest_day()
    mine = Paper.objects.announced_on(day).for_person(request.user) if day else Paper.objects.none()
    context = {
        "day": day,
        "papers": mine.order_by("arxiv_id")[:8],
        "has_interests": bool(request.user.arxiv_names or request.user.research_interests.strip()),
    }
    return render(request, "lab_portal/home.html", context)


def people(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.prefetch_related("members")
    unassigned = User.objects.active().filter(team__isnull=True)
    return render(request, "lab_portal/people.html", {"teams": teams, "unassigned": unassigned})


def team(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    return render(request, "lab_portal/team.html", {"team": team, "members": team.members.active()})


def person(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User.objects.active().select_related("team"), username=username)
    return render(request, "lab_portal/person.html", {"person": person})


def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile is saved."))
        return redirect("profile")
    return render(request, "lab_portal/profile.html", {"form": form})


@login_not_required
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For the lab's monitoring: can the portal reach its database and its Redis?"""
    checks = {"database": _check_database()}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis()
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


def _check_redis() -> dict:
    try:
        cache.set("healthz", "ok", 10)
        return {"ok": cache.get("healthz") == "ok"}
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
