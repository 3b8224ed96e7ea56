"""Single sign-on with the lab's OpenID Connect provider: the authorization-code flow with PKCE,
re-checking open sessions, and logging out at the provider.

mozilla-django-oidc's backend (lab_portal.auth) verifies ID tokens and matches people; this
module drives the flow itself so that every way a log-in can fail has a name, a status, a page
that says what to do and a log line for the admins, and so that a failure never reaches
django-axes (whose count is for passwords: an SSO failure has no username, and would pause
log-ins for everyone behind the lab's address).
"""

import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.http import url_has_allowed_host_and_scheme
from mozilla_django_oidc.utils import generate_code_challenge

logger = logging.getLogger(__name__)

BACKEND = "lab_portal.auth.LabOIDCBackend"
# Log-ins started but not finished, by state; a few tabs at most, the oldest dropped first.
PENDING_KEY = "sso_pending"
PENDING_LIMIT = 5
PENDING_SECONDS = 15 * 60
# The provider's tokens and when the session was last checked with it (see recheck()).
SESSION_KEY = "sso"


@dataclass
class SignOnError(Exception):
    """A log-in that did not happen: `reason` picks the page's text, `detail` is for the log."""

    reason: str
    detail: str = ""
    status: int = 403
    context: dict | None = None


class ProviderUnavailable(Exception):
    """The provider could not be asked: it is down, hangs, or answered something unusable."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def session_is_sso(request: HttpRequest) -> bool:
    return request.session.get(BACKEND_SESSION_KEY) == BACKEND


# The provider


def _http(method: str, url: str, **kwargs) -> requests.Response:
    try:
        return requests.request(method, url, timeout=settings.OIDC_TIMEOUT, **kwargs)
    except requests.Timeout:
        raise ProviderUnavailable(
            "timeout", f"{method} {url}: no answer in {settings.OIDC_TIMEOUT} s"
        ) from None
    except requests.RequestException as error:
        raise ProviderUnavailable("down", f"{method} {url}: {type(error).__name__}") from None


def provider() -> dict:
    """The provider's endpoints: its discovery document (kept for a while), or the OIDC_OP_*
    settings of a provider without one."""
    if not settings.OIDC_DISCOVERY_URL:
        return {
            "issuer": "",
            "authorization_endpoint": settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
            "token_endpoint": settings.OIDC_OP_TOKEN_ENDPOINT,
            "userinfo_endpoint": settings.OIDC_OP_USER_ENDPOINT,
            "jwks_uri": getattr(settings, "OIDC_OP_JWKS_ENDPOINT", None),
            "end_session_endpoint": getattr(settings, "OIDC_OP_LOGOUT_ENDPOINT", "") or "",
        }
    key = f"sso:discovery:{settings.OIDC_DISCOVERY_URL}"
    document = cache.get(key)
    if document is None:
        response = _http("GET", settings.OIDC_DISCOVERY_URL)
        try:
            response.raise_for_status()
            document = response.json()
            for name in (
                "issuer",
                "authorization_endpoint",
                "token_endpoint",
                "userinfo_endpoint",
                "jwks_uri",
            ):
                if not isinstance(document.get(name), str) or not document[name]:
                    raise ValueError(f"no {name}")
        except (requests.HTTPError, ValueError) as error:
            raise ProviderUnavailable(
                "bad_answer", f"discovery {settings.OIDC_DISCOVERY_URL}: {error}"
            ) from None
        cache.set(key, document, settings.OIDC_DISCOVERY_CACHE_SECONDS)
    return document


def _callback_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("oidc_authentication_callback"))


# Logging in


def authorization_url(request: HttpRequest, next_url: str | None) -> str:
    """Where the browser goes to log in. PKCE (S256) always: providers that require it (the
    default of many) refuse a request without it, and it binds the code to this browser."""
    endpoints = provider()
    state, nonce, verifier = get_random_string(32), get_random_string(32), get_random_string(64)
    pending = request.session.get(PENDING_KEY, {})
    now = time.time()
    pending = {key: value for key, value in pending.items() if value["at"] > now - PENDING_SECONDS}
    while len(pending) >= PENDING_LIMIT:
        pending.pop(min(pending, key=lambda key: pending[key]["at"]))
    safe_next = next_url if next_url and _is_safe(request, next_url) else None
    pending[state] = {"nonce": nonce, "verifier": verifier, "next": safe_next, "at": now}
    request.session[PENDING_KEY] = pending
    params = {
        "response_type": "code",
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "redirect_uri": _callback_url(request),
        "scope": settings.OIDC_RP_SCOPES,
        "state": state,
        "nonce": nonce,
        "code_challenge": generate_code_challenge(verifier, "S256"),
        "code_challenge_method": "S256",
    }
    return f"{endpoints['authorization_endpoint']}?{urlencode(params)}"


def _is_safe(request: HttpRequest, url: str) -> bool:
    return url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


# What the provider may send back in `error` (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6).
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


def finish(request: HttpRequest):
    """The browser is back from the provider: returns the person to log in and where to go,
    or raises SignOnError."""
    from .auth import LabOIDCBackend

    pending = request.session.get(PENDING_KEY, {})
    started = pending.pop(request.GET.get("state", ""), None)
    request.session[PENDING_KEY] = pending
    if started is None or started["at"] < time.time() - PENDING_SECONDS:
        raise SignOnError("state", "unknown or expired state", status=400)
    if error := request.GET.get("error"):
        code = error if _ERROR_CODE.fullmatch(error) else "invalid"
        if code == "access_denied":
            raise SignOnError("denied", "the person did not allow the portal at the provider")
        raise SignOnError(
            "provider_error", f"the provider answered {code}", status=502, context={"code": code}
        )
    if not request.GET.get("code"):
        raise SignOnError("state", "no code in the callback", status=400)
    backend = LabOIDCBackend()
    backend.request = request
    try:
        tokens = _exchange_code(request, started["verifier"])
        try:
            payload = backend.verify_token(tokens.get("id_token") or "", nonce=started["nonce"])
        except (SuspiciousOperation, ValueError) as error:
            # A bad signature, the wrong algorithm or nonce: what the portal cannot trust.
            raise SignOnError("bad_token", f"ID token refused: {error}", status=502) from None
        user = backend.sign_on(tokens["access_token"], payload)
    except ProviderUnavailable as error:
        raise SignOnError(error.reason, error.detail, status=_UNAVAILABLE_STATUS[error.reason]) from None
    request.sso_tokens = tokens
    return user, started["next"]


_UNAVAILABLE_STATUS = {"timeout": 504, "down": 503, "bad_answer": 502}


def _exchange_code(request: HttpRequest, verifier: str) -> dict:
    response = _http(
        "POST",
        provider()["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": request.GET["code"],
            "redirect_uri": _callback_url(request),
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "client_secret": settings.OIDC_RP_CLIENT_SECRET,
            "code_verifier": verifier,
        },
    )
    error = _token_error(response)
    if error in ("invalid_client", "unauthorized_client"):
        raise SignOnError("misconfigured", f"the token endpoint answered {error}", status=502)
    if error == "invalid_grant":
        # A code already used, expired, or not matching the PKCE verifier.
        raise SignOnError("state", "the token endpoint refused the code (invalid_grant)", status=400)
    if error:
        raise SignOnError(
            "provider_error", f"the token endpoint answered {error}", status=502, context={"code": error}
        )
    tokens = response.json()
    if not tokens.get("access_token") or not tokens.get("id_token"):
        raise SignOnError("bad_token", "the token answer has no access or ID token", status=502)
    return tokens


def _token_error(response: requests.Response) -> str:
    """The OAuth error code of a token endpoint's answer ('' when it succeeded), never its body
    (which may repeat what was sent)."""
    if response.status_code == 200:
        try:
            response.json()
        except ValueError:
            return "invalid_json"
        return ""
    try:
        code = response.json().get("error", "")
    except (ValueError, AttributeError):
        code = ""
    if not isinstance(code, str) or not _ERROR_CODE.fullmatch(code):
        code = "invalid_client" if response.status_code == 401 else f"http_{response.status_code}"
    return code


def remember_tokens(request: HttpRequest, tokens: dict) -> None:
    """Kept in the (server-side) session: the refresh token for re-checks, the ID token as the
    hint for logging out at the provider."""
    request.session[SESSION_KEY] = {
        "access_token": tokens.get("access_token", ""),
        "refresh_token": tokens.get("refresh_token", ""),
        "id_token": tokens.get("id_token", ""),
        "checked_at": time.time(),
    }


# Sessions


def check_due(request: HttpRequest, interval_seconds: float) -> bool:
    state = request.session.get(SESSION_KEY)
    return state is not None and time.time() >= state["checked_at"] + interval_seconds


def recheck(request: HttpRequest) -> bool:
    """Asks the provider whether the person may still be here: their refresh token still works
    (or, without one, their access token still reads their user info), and the claims still
    admit them. False ends the session. A provider that cannot be asked is asked again a minute
    later: a provider outage must not log the whole lab out."""
    from .auth import LabOIDCBackend

    state = request.session[SESSION_KEY]
    backend = LabOIDCBackend()
    try:
        if state["refresh_token"]:
            response = _http(
                "POST",
                provider()["token_endpoint"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": state["refresh_token"],
                    "client_id": settings.OIDC_RP_CLIENT_ID,
                    "client_secret": settings.OIDC_RP_CLIENT_SECRET,
                },
            )
            error = _token_error(response)
            if error == "invalid_grant":
                logger.info("SSO: %s's session ended: the provider refused the refresh token", request.user)
                return False
            if error:
                return _retry_soon(request, f"the token endpoint answered {error}")
            tokens = response.json()
            state.update(
                access_token=tokens.get("access_token", state["access_token"]),
                refresh_token=tokens.get("refresh_token", state["refresh_token"]),
                id_token=tokens.get("id_token", state["id_token"]),
            )
        claims = backend.user_info(state["access_token"])
    except ProviderUnavailable as error:
        return _retry_soon(request, error.detail)
    if claims is None:
        logger.info("SSO: %s's session ended: the provider no longer accepts their token", request.user)
        return False
    try:
        backend.check_still_admitted(request.user, claims)
    except SignOnError as error:
        logger.info("SSO: %s's session ended: %s", request.user, error.detail)
        return False
    state["checked_at"] = time.time()
    request.session[SESSION_KEY] = state
    return True


def _retry_soon(request: HttpRequest, detail: str) -> bool:
    logger.warning(
        "SSO: could not re-check %s's session with the provider (%s); trying again in a minute",
        request.user,
        detail,
    )
    state = request.session[SESSION_KEY]
    state["checked_at"] = state["checked_at"] + 60
    request.session[SESSION_KEY] = state
    return True


# Logging out


def end_session_url(request: HttpRequest, id_token: str) -> str:
    """Where to log out at the provider too (RP-initiated logout), or '' when it has no such
    endpoint or cannot be asked."""
    try:
        endpoint = provider().get("end_session_endpoint") or ""
    except ProviderUnavailable:
        return ""
    if not endpoint:
        return ""
    params = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
    }
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(params)}"


class HideSignOnCodes(logging.Filter):
    """Drops the query string (the one-time code and state) from request lines that log the
    sign-on callback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and "/oidc/callback/?" in str(record.args[0]):
            record.args = (re.sub(r"(/oidc/callback/)\?\S*", r"\1?…", str(record.args[0])), *record.args[1:])
        return True
