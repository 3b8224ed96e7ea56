import zoneinfo

from django.conf import settings
from django.contrib import auth
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from . import sso
from .models import SignOnPolicy


class PersonPreferencesMiddleware:
    """Show every page in the viewer's own time zone and language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        else:
            timezone.deactivate()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


# Browser features no page of the portal uses, off for it and for anything it could be framed in.
# (The clipboard stays: "Copy link" buttons write to it.)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in [
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
        "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer", "microphone", "midi",
        "payment", "picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "serial",
        "sync-xhr", "usb", "xr-spatial-tracking",
    ]
)  # fmt: skip


def permissions_policy(get_response):
    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response

    return middleware


def _holds_nul(values) -> bool:
    return any("\x00" in key or any("\x00" in value for value in items) for key, items in values.lists())


def refuse_nul_bytes(get_response):
    """Answer 400 to a NUL character anywhere in the path, the query, a posted field or a cookie.

    No text the portal keeps or looks up may hold one (PostgreSQL refuses it in every text
    column), and no browser sends one: refusing it here, before any view, answers every URL the
    same way instead of each lookup failing with a server error.
    """

    def middleware(request):
        posted = request.method == "POST" and request.content_type in FORM_TYPES
        if (
            "\x00" in request.path_info
            or _holds_nul(request.GET)
            or (posted and _holds_nul(request.POST))
            or any("\x00" in key + value for key, value in request.COOKIES.items())
        ):
            return HttpResponseBadRequest(
                gettext("The request holds a NUL character, which no address or form field may contain."),
                content_type="text/plain; charset=utf-8",
            )
        return get_response(request)

    return middleware


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


class SignOnSessionCheck:
    """Sessions opened through single sign-on are re-checked with the provider every few minutes
    (the admins choose how many), so a person deactivated there is out of the portal within
    that time. The check happens on the person's next request after the interval."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.OIDC_ENABLED and request.user.is_authenticated and sso.session_is_sso(request):
            interval = SignOnPolicy.current().recheck_minutes * 60
            if sso.check_due(request, interval) and not sso.recheck(request):
                auth.logout(request)
                request.session["sso_session_ended"] = True
                if request.headers.get("HX-Request"):
                    # htmx would swap the log-in page into a fragment: send the whole page there.
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse("login")
                    return response
        return self.get_response(request)
