import hmac
import json
import logging
import math
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from . import accounts, addresses, chat, heartbeats, sso, telegram
from .channels import DeliveryError
from .forms import ChannelForm, ConnectTelegramForm, DigestForm, LogInForm, ProfileForm, WelcomeForm
from .models import Channel, ChatLinkCode, Delivery, Heartbeat, SignOnPolicy, Team, User
from .notify import send_test_message
from .tasks import handle_telegram_update

logger = logging.getLogger(__name__)


def login_locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes answers a paused log-in with this page: the same whether or not the user exists."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME * 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def home(request: HttpRequest) -> HttpResponse:
    # The dashboard is the one place lab_portal reads the apps it hosts.
    from django.db.models import OuterRef, Subquery

    from papers.models import Paper, Recommendation
    from reviews.models import Draft
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
        "action_items": ActionItem.objects.open().filter(owner=user).select_related("talk", "owner"),
        # What others owe from the talks the viewer hosted and is now late: the host follows up.
        "hosted_overdue": ActionItem.objects.overdue(timezone.localdate())
        .filter(talk__host=user)
        .exclude(owner=user)
        .select_related("talk", "owner")[:DASHBOARD_ROWS],
        # A person owes a handful of reviews at most: read them all, show the next few.
        "owed_reviews": owed[:DASHBOARD_ROWS],
        "more_owed": max(0, len(owed) - DASHBOARD_ROWS),
        # The viewer's own drafts still heading for a deadline, the nearest first.
        "my_drafts": Draft.objects.authored_by(user)
        .heading_for_deadline()
        .select_related("deadline__venue")
        .order_by("deadline__paper_deadline", "pk")[:DASHBOARD_ROWS],
    }
    return render(request, "lab_portal/home.html", context)


def people(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.prefetch_related("members")
    unassigned = User.objects.active().filter(team__isnull=True)
    return render(request, "lab_portal/people.html", {"teams": teams, "unassigned": unassigned})


def team(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    context = {"team": team, "members": team.members.active(), "leads": team.leads.active()}
    return render(request, "lab_portal/team.html", context)


def person(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User.objects.active().select_related("team"), username=username)
    return render(request, "lab_portal/person.html", {"person": person})


def profile(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own profile; nobody else's can be reached here."""
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        person = form.save()
        # Said in the language just chosen: the next page is already in it.
        with translation.override(person.language):
            messages.success(request, _("Your profile is saved."))
            if address := form.new_email:
                addresses.request_change(request.user, address=address)
                if old := request.user.email:
                    text = _("To use %(new)s, open the link we sent there. Until then mail goes to %(old)s.")
                else:
                    text = _("To use %(new)s, open the link we sent there.")
                messages.info(request, text % {"new": address, "old": old})
        return redirect("profile")
    context = {
        "form": form,
        "telegram_chats": Channel.objects.linked_account_of(request.user),
        "telegram_bot": telegram.configured(),
        "led_teams": Team.objects.filter(pk__in=request.user.led_team_ids),
        # An address shared by two accounts before addresses were unique waits, unconfirmable,
        # on all but one of them (see the migration); its owner is asked for one of their own.
        "pending_taken": bool(request.user.pending_email)
        and addresses.is_taken(request.user.pending_email, by_other_than=request.user),
    }
    return render(request, "lab_portal/profile.html", context)


@require_POST
def cancel_email_change(request: HttpRequest) -> HttpResponse:
    """The signed-in person drops their own pending address; the link sent to it stops working."""
    addresses.cancel_change(request.user)
    messages.success(request, _("The change of address is cancelled."))
    return redirect("profile")


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed to a new address. Only the signed-in person it was made for may use it
    (others are sent to log in first); any other account, an expired, replaced or forged link
    gets the same 400 page. GET shows a button, so a mail scanner that follows links confirms
    nothing; POST confirms. Under single sign-on addresses come from the provider: 404."""
    if settings.OIDC_ENABLED:
        raise Http404
    try:
        address = addresses.check_link(request.user, token)
    except addresses.LinkNotValid:
        return render(request, "lab_portal/confirm_email.html", {"invalid": True}, status=400)
    if request.method == "POST":
        try:
            addresses.confirm_change(request.user, token=token)
        except addresses.LinkNotValid:
            return render(request, "lab_portal/confirm_email.html", {"invalid": True}, status=400)
        except addresses.AddressTaken:
            return render(request, "lab_portal/confirm_email.html", {"taken": address}, status=409)
        messages.success(request, _("%(address)s is now your e-mail address.") % {"address": address})
        return redirect("profile")
    return render(request, "lab_portal/confirm_email.html", {"address": address})


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


# Notification channels. Who may see what: a person manages their own channels, and a lead those
# of the teams an admin made them lead; anyone else's channel answers 404, as if it did not exist.
# The lab's group channels are edited in the admin site.


# Messages of unknown outcome stay listed under their channel this long, the latest few of them.
UNKNOWN_SHOWN_FOR = timedelta(days=14)
UNKNOWN_SHOWN = 5


def _managed_channels(user: User):
    """The channels `user` manages, each with `unknown_deliveries`: what may not have arrived."""
    unknown = Delivery.objects.outcome_unknown().filter(created_at__gte=timezone.now() - UNKNOWN_SHOWN_FOR)
    return (
        Channel.objects.managed_by(user)
        .select_related("person", "team", "last_test")
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=unknown.order_by("-created_at", "-pk")[:UNKNOWN_SHOWN],
                to_attr="unknown_deliveries",
            )
        )
    )


def _get_channel_for_user(request: HttpRequest, pk: int) -> Channel:
    return get_object_or_404(_managed_channels(request.user), pk=pk)


def _channel_row(request: HttpRequest, channel: Channel, **context) -> HttpResponse:
    return render(request, "lab_portal/channels.html#channel-row", {"channel": channel, **context})


def channels(request: HttpRequest) -> HttpResponse:
    """A person's channels (and those of the teams they lead), with a form to add one."""
    form = ChannelForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        channel = form.save()
        messages.success(request, _("Channel added: %(channel)s.") % {"channel": channel.get_kind_display()})
        return redirect("channels")
    return render(request, "lab_portal/channels.html", _channels_context(request, form=form))


def _channels_context(request: HttpRequest, **extra) -> dict:
    managed = list(_managed_channels(request.user))
    own = [channel for channel in managed if channel.person_id == request.user.pk]
    teams = list(Team.objects.filter(pk__in=request.user.led_team_ids))
    for team in teams:
        team.managed_channels = [channel for channel in managed if channel.team_id == team.pk]
    return {
        "own": own,
        "teams": teams,
        "form": ChannelForm(user=request.user),
        **_digest_context(request.user, own),
        "telegram_bot": telegram.configured(),
        **extra,
    }


def _digest_context(user: User, own: list[Channel]) -> dict:
    email = [channel for channel in own if channel.kind == Channel.Kind.EMAIL]
    return {
        # No e-mail channel yet: the digest makes the one at the profile's address.
        "digest_reaches": not email or any(channel.enabled for channel in email),
        "digest_hour": settings.DIGEST_HOUR,
    }


@require_POST
@vary_on_headers("HX-Request")
def digest_setting(request: HttpRequest) -> HttpResponse:
    """Turn one's own morning e-mail digest on or off (nobody else's: there is no one to name)."""
    form = DigestForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Say on or off."))
    request.user.morning_digest = form.cleaned_data["morning_digest"]
    request.user.save(update_fields=["morning_digest"])
    if request.htmx:
        own = list(Channel.objects.filter(person=request.user))
        return render(request, "lab_portal/channels.html#digest-setting", _digest_context(request.user, own))
    if request.user.morning_digest:
        messages.success(request, _("The morning e-mail digest is on."))
    else:
        messages.success(request, _("The morning e-mail digest is off."))
    return redirect("channels")


@vary_on_headers("HX-Request")
def edit_channel(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel_for_user(request, pk)
    form = ChannelForm(request.POST or None, instance=channel, user=request.user, prefix=f"c{channel.pk}")
    if request.method == "POST" and form.is_valid():
        channel = form.save(commit=False)
        try:
            # An UPDATE only: a channel deleted meanwhile (in another tab) must stay deleted.
            with transaction.atomic():
                channel.save(force_update=True)
        except Channel.NotUpdated:
            messages.error(request, _("This channel was deleted meanwhile: nothing was saved."))
            return HttpResponseClientRedirect(reverse("channels")) if request.htmx else redirect("channels")
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
    """Queue a test message; the channel's row shows its state until it is sent or has failed."""
    send_test_message(_get_channel_for_user(request, pk))
    channel = _get_channel_for_user(request, pk)  # without a worker the task ran on commit
    if request.htmx:
        return _channel_row(request, channel)
    messages.info(request, _("Test message queued: its channel below shows how it goes."))
    return redirect(f"{reverse('channels')}#channel-{channel.pk}")


@require_GET
@vary_on_headers("HX-Request")
def channel_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The channel's row as it stands now, which a test message in progress asks for again; the
    channels page at that row without htmx. Same people as every channel view."""
    channel = _get_channel_for_user(request, pk)
    if request.htmx:
        return _channel_row(request, channel)
    return redirect(f"{reverse('channels')}#channel-{channel.pk}")


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
        team = Team.objects.filter(pk=form.cleaned_data["team"], pk__in=request.user.led_team_ids).first()
        if team is None:
            raise PermissionDenied(_("Only a lead links their team's group."))
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


# Logging in and out


def _sign_on_reasons() -> dict[str, tuple[str, str]]:
    """What each failed single sign-on tells the person: what happened, and what to do."""
    return {
        "denied": (
            _("You did not allow Lab Portal to use your %(provider)s account."),
            _("To log in, choose “Log in with %(provider)s” again and allow it."),
        ),
        "unverified": (
            _("%(provider)s has not verified your e-mail address %(email)s."),
            _("Verify the address at %(provider)s (look for its confirmation mail), then log in again."),
        ),
        "no_email": (
            _("%(provider)s did not tell the portal your e-mail address."),
            _("Ask the lab's administrators to let Lab Portal see your e-mail address at %(provider)s."),
        ),
        "taken": (
            _(
                "The address %(email)s belongs to a portal account that is linked to another "
                "%(provider)s account."
            ),
            _(
                "Log in with the %(provider)s account you used before, or ask the lab's "
                "administrators to sort it out."
            ),
        ),
        "not_admitted": (
            _("Lab Portal admits only the lab's members, and %(email)s is not among them."),
            _("If you are in the lab, ask its administrators to admit your address or group."),
        ),
        "awaiting_approval": (
            _("Your account (%(email)s) is waiting for an administrator's approval."),
            _("The lab's administrators have been told. Log in again once they have approved it."),
        ),
        "inactive": (
            _("Your portal account is deactivated."),
            _("If you are still in the lab, ask its administrators to reactivate it."),
        ),
        "state": (
            _("This log-in expired, was already used, or was started in another browser."),
            _("Start again with “Log in with %(provider)s”."),
        ),
        "provider_error": (
            _("%(provider)s could not log you in (it answered “%(code)s”)."),
            _("Try again in a moment; if it keeps happening, tell the lab's administrators."),
        ),
        "misconfigured": (
            _("%(provider)s refused the portal's own credentials, so nobody can log in with it right now."),
            _("This is not your doing: tell the lab's administrators (their log names the cause)."),
        ),
        "bad_token": (
            _("The portal could not verify %(provider)s's answer, so it did not log you in."),
            _("Try again in a moment; if it keeps happening, tell the lab's administrators."),
        ),
        "bad_answer": (
            _("%(provider)s answered something the portal could not use."),
            _("Try again in a moment; if it keeps happening, tell the lab's administrators."),
        ),
        "down": (
            _("%(provider)s cannot be reached right now."),
            _("Try again in a few minutes."),
        ),
        "timeout": (
            _("%(provider)s did not answer within %(seconds)s seconds."),
            _("Try again in a few minutes."),
        ),
    }


def _sign_on_failed(
    request: HttpRequest, reason: str, *, status: int, context: dict | None = None
) -> HttpResponse:
    values = {
        "provider": settings.OIDC_PROVIDER_NAME,
        "seconds": f"{settings.OIDC_TIMEOUT:g}",
        "email": "",
        "code": "",
        **(context or {}),
    }
    what, todo = _sign_on_reasons()[reason]
    page = {
        "what": what % values,
        "todo": todo % values,
        "reason": reason,
        "password_login": SignOnPolicy.current().password_login,
    }
    return render(request, "registration/sign_on_failed.html", page, status=status)


@login_not_required
@require_GET
@never_cache
def sso_start(request: HttpRequest) -> HttpResponse:
    """Sends the browser to the provider to log in (with PKCE), or says why it cannot."""
    try:
        return redirect(sso.authorization_url(request, request.GET.get("next")))
    except sso.ProviderUnavailable as error:
        logger.warning("SSO log-in not started (%s): %s", error.reason, error.detail)
        status = {"timeout": 504, "down": 503}.get(error.reason, 502)
        return _sign_on_failed(request, error.reason, status=status)


@login_not_required
@require_GET
@never_cache
def sso_callback(request: HttpRequest) -> HttpResponse:
    """The provider sends the browser back here. Failures are logged for the admins and shown
    with their reason, and never counted by the password lockout."""
    try:
        user, next_url = sso.finish(request)
    except sso.SignOnError as error:
        logger.warning("SSO log-in refused (%s): %s", error.reason, error.detail)
        return _sign_on_failed(request, error.reason, status=error.status, context=error.context)
    tokens = request.sso_tokens
    auth.login(request, user, backend=sso.BACKEND)
    sso.remember_tokens(request, tokens)
    logger.info("SSO: %s logged in", user)
    next_url = next_url or reverse(settings.LOGIN_REDIRECT_URL)
    if user.needs_welcome:
        return redirect(f"{reverse('welcome')}?{urlencode({'next': next_url})}")
    return redirect(next_url)


@login_not_required
@never_cache
def log_in(request: HttpRequest) -> HttpResponse:
    """The log-in page: the provider's button under single sign-on, and the password form
    unless the admins turned password log-in off (then behind a link for break-glass admins)."""
    policy = SignOnPolicy.current()
    password_form = not settings.OIDC_ENABLED or policy.password_login or "password" in request.GET
    context = {
        "password_form": password_form,
        "password_login": policy.password_login or not settings.OIDC_ENABLED,
        # Set when the portal's session just ended: log out at the provider too.
        "end_session_url": request.session.pop("sso_end_session_url", ""),
        "session_ended": request.session.pop("sso_session_ended", False),
    }
    view = LoginView.as_view(
        authentication_form=LogInForm, redirect_authenticated_user=True, extra_context=context
    )
    return view(request)


@require_POST
def log_out(request: HttpRequest) -> HttpResponse:
    """Ends the portal's session; after a single sign-on the log-in page then offers to log
    out at the provider too (RP-initiated logout), when the provider has an end-session
    endpoint."""
    state = request.session.get(sso.SESSION_KEY) if sso.session_is_sso(request) else None
    end_session_url = sso.end_session_url(request, state["id_token"]) if state else ""
    auth.logout(request)
    if end_session_url:
        request.session["sso_end_session_url"] = end_session_url
    messages.success(request, _("You are logged out of Lab Portal."))
    return redirect("login")


def password_change(request: HttpRequest) -> HttpResponse:
    """Only for people who log in with a portal password."""
    if not request.user.uses_password:
        raise Http404
    return PasswordChangeView.as_view()(request)


@require_http_methods(["GET", "POST"])
@never_cache
def welcome(request: HttpRequest) -> HttpResponse:
    """The first log-in's questions, asked of the signed-in person about themselves."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("home")
    form = WelcomeForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        person = form.save(commit=False)
        person.needs_welcome = False
        person.save()
        with translation.override(person.language):
            messages.success(request, _("Welcome to Lab Portal."))
            if person.requested_team:
                messages.info(
                    request,
                    _("The lab's administrators will put you in %(team)s.")
                    % {"team": person.requested_team.name},
                )
                logger.info("%s asked to join team %s", person, person.requested_team)
        if person.requested_team:
            accounts.tell_of_team_request(person)
        return redirect(next_url)
    return render(request, "lab_portal/welcome.html", {"form": form, "next": next_url})
