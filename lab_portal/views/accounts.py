"""Logging in and out: the password log-in, single sign-on, the lock-out page, the password
change and the first-visit welcome. Logging in needs no login; the rest is the person's own."""

import logging
import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import accounts, sso
from ..forms import LogInForm, WelcomeForm
from ..models import SignOnPolicy

logger = logging.getLogger(__name__)


def login_locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes answers a paused log-in with this page: the same whether or not the user exists."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME * 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


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
