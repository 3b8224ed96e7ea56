import zoneinfo

from django.http import HttpResponseBadRequest
from django.utils import timezone, translation
from django.utils.translation import gettext


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
