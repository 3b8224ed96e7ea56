import hmac
import json
import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from . import chat, telegram
from .channels import DeliveryError
from .forms import ChannelForm, ConnectTelegramForm, ProfileForm
from .models import Channel, ChatLinkCode, Delivery, Team, User
from .notify import send_test_message
from .tasks import handle_telegram_update


def login_locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes answers a paused log-in with this page: the same whether or not the user exists."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME * 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def home(request: HttpRequest) -> HttpResponse:
    # The dashboard is the one place lab_portal reads the apps it hosts.
    from django.db.models import OuterRef, Subquery

    from papers.models import Paper, Recommendation
    from reviews.queues import DASHBOARD_ROWS, owed_reviews
    from seminars.models import ActionItem, Registration, Talk

    user = request.user
    day = Paper.objects.latest_day()
    mine = Paper.objects.announced_on(day).for_person(user) if day else Paper.objects.none()
    # This week in the viewer's zone (the middleware activated it), one query however many talks:
    # each talk carries the viewer's place on its list, so sorting out "mine" costs nothing more.
    place = Registration.objects.filter(talk=OuterRef("pk"), user=user).exclude(
        status=Registration.Status.CANCELLED
    )
    week = list(
        Talk.objects.in_week(timezone.localdate())
        .select_related("speaker_user")
        .with_seat_counts()
        .annotate(my_place=Subquery(place.values("status")[:1]))
    )
    for talk in week:
        talk.is_mine = bool(talk.my_place) or user.pk in (talk.host_id, talk.speaker_user_id)
    owed = owed_reviews(user, authors=False)
    context = {
        "day": day,
        "papers": mine.order_by("arxiv_id")[:8],
        # Ranked by the recommender after the fetch; the page only reads the stored top.
        "for_you": Recommendation.objects.for_day(user, day).select_related("paper")[:5] if day else (),
        "has_interests": bool(user.arxiv_names or user.research_interests.strip()),
        "my_talks": [talk for talk in week if talk.is_mine],
        "lab_talks": [talk for talk in week if not talk.is_mine],
        # A person's open items are few: done ones leave the list.
        "action_items": ActionItem.objects.open().filter(owner=user).select_related("talk"),
        # A person owes a handful of reviews at most: read them all, show the next few.
        "owed_reviews": owed[:DASHBOARD_ROWS],
        "more_owed": max(0, len(owed) - DASHBOARD_ROWS),
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
    telegram_chats = Channel.objects.linked_account_of(request.user)
    context = {"form": form, "telegram_chats": telegram_chats, "telegram_bot": telegram.configured()}
    return render(request, "lab_portal/profile.html", context)


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


# Notification channels. Who may see what: a person manages their own channels, and a lead their
# team's as well; anyone else's channel answers 404, as if it did not exist. The lab's group
# channels are edited in the admin site.


def _get_channel_for_user(request: HttpRequest, pk: int) -> Channel:
    return get_object_or_404(Channel.objects.managed_by(request.user).select_related("person", "team"), pk=pk)


def _channel_row(request: HttpRequest, channel: Channel, **context) -> HttpResponse:
    return render(request, "lab_portal/channels.html#channel-row", {"channel": channel, **context})


def channels(request: HttpRequest) -> HttpResponse:
    """A person's channels (a lead's team's too), with a form to add one."""
    form = ChannelForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        channel = form.save()
        messages.success(request, _("Channel added: %(channel)s.") % {"channel": channel.get_kind_display()})
        return redirect("channels")
    return render(request, "lab_portal/channels.html", _channels_context(request, form=form))


def _channels_context(request: HttpRequest, **extra) -> dict:
    managed = list(Channel.objects.managed_by(request.user).select_related("person", "team"))
    leads_team = request.user.is_lead and request.user.team_id
    return {
        "own": [channel for channel in managed if channel.person_id == request.user.pk],
        "team_channels": [channel for channel in managed if channel.team_id],
        "team": request.user.team if leads_team else None,
        "form": ChannelForm(user=request.user),
        "telegram_bot": telegram.configured(),
        **extra,
    }


@vary_on_headers("HX-Request")
def edit_channel(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel_for_user(request, pk)
    form = ChannelForm(request.POST or None, instance=channel, user=request.user, prefix=f"c{channel.pk}")
    if request.method == "POST" and form.is_valid():
        channel = form.save()
        if request.htmx:
            return _channel_row(request, channel)
        messages.success(request, _("Channel saved."))
        return redirect("channels")
    if request.htmx:
        return _channel_row(request, channel, editing=channel, edit_form=form)
    return render(
        request, "lab_portal/channels.html", _channels_context(request, editing=channel, edit_form=form)
    )


@require_POST
def toggle_channel(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel_for_user(request, pk)
    channel.enabled = not channel.enabled
    channel.save(update_fields=["enabled"])
    if request.htmx:
        return _channel_row(request, channel)
    messages.success(request, _("Channel turned on.") if channel.enabled else _("Channel turned off."))
    return redirect("channels")


@require_POST
def delete_channel(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel_for_user(request, pk)
    channel.delete()
    if request.htmx:
        return HttpResponse("")  # the row swaps itself out for nothing
    messages.success(request, _("Channel deleted."))
    return redirect("channels")


@require_POST
def test_channel(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test message now and show what the service answered."""
    delivery = send_test_message(_get_channel_for_user(request, pk))
    channel = _get_channel_for_user(request, pk)  # the attempt wrote its outcome on the row
    if request.htmx:
        return _channel_row(request, channel, tested=delivery)
    if delivery.state == Delivery.State.SENT:
        messages.success(request, _("Test message sent."))
    elif delivery.state == Delivery.State.PENDING:
        messages.warning(
            request, _("Not sent yet: %(answer)s. It will be retried.") % {"answer": delivery.response}
        )
    else:
        messages.error(request, _("The test message failed: %(answer)s") % {"answer": delivery.response})
    return redirect("channels")


# Telegram. Who may see what: a person links their own private chat; a lead links their team's
# group and an admin the lab's (anyone else gets 403). The webhook needs no login: Telegram
# proves itself with the secret `manage.py telegram_webhook set` gave it (403 without it).


@require_POST
@never_cache
def connect_telegram(request: HttpRequest) -> HttpResponse:
    """A one-time link (and code) that connects a Telegram chat: shown once, never stored."""
    form = ConnectTelegramForm(request.POST)
    if not telegram.configured():
        messages.error(request, _("The portal has no Telegram bot yet; ask the portal's admin."))
        return redirect("profile")
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose which chat to connect."))
    scope = form.cleaned_data["chat"]
    team = None
    if scope == ChatLinkCode.Scope.TEAM:
        if not (request.user.is_lead and request.user.team_id):
            raise PermissionDenied(_("Only a lead links their team's group."))
        team = request.user.team
    elif scope == ChatLinkCode.Scope.LAB and not request.user.is_portal_admin:
        raise PermissionDenied(_("Only the portal's admin links the lab's group."))
    try:
        bot = telegram.bot_username()
    except DeliveryError as error:
        messages.error(request, _("Telegram could not be reached: %(error)s") % {"error": error})
        return redirect("profile" if scope == ChatLinkCode.Scope.PERSON else "channels")
    row, code = ChatLinkCode.issue(person=request.user, scope=scope, team=team)
    context = {
        "scope": scope,
        "team": team,
        "bot": bot,
        "code": code,
        "link": telegram.deep_link(code, group=scope != ChatLinkCode.Scope.PERSON),
        "expires_at": row.expires_at,
        "minutes": settings.TELEGRAM_LINK_MINUTES,
    }
    return render(request, "lab_portal/telegram_connect.html", context)


@csrf_exempt
@login_not_required
@require_POST
@never_cache
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    """Where Telegram posts the bot's updates. Stored at once and handled by a task, once."""
    if not telegram.configured():
        raise Http404
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), telegram.webhook_secret().encode()):
        return HttpResponse(status=403)
    try:
        stored = chat.receive(json.loads(request.body))
    except (ValueError, UnicodeDecodeError):
        return HttpResponseBadRequest("Not a Telegram update.")
    if stored is not None:
        handle_telegram_update.delay_on_commit(update_id=stored.update_id)
    return JsonResponse({"ok": True})
