"""Calendars: a talk's .ics, the feeds page, and the feeds themselves (the talks, and one of
deadlines and review due dates under the same key).

Who may see what: a talk's .ics and the feeds page need a logged-in person (the whole lab sees
every talk, cancelled ones included). The page shows and changes only the viewer's own secret
address; there is nothing to name someone else's. The feeds are read by calendar programs that
cannot log in, so they are open to whoever holds an active key (`@login_not_required`) and
answer 404 for an unknown or revoked one, exactly as for a feed that never existed.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from .. import calendars
from ..forms import CalendarAlarmsForm
from ..models import CalendarToken, Series, Talk


def _get_talk(pk: int) -> Talk:
    return get_object_or_404(Talk.objects.select_related("room", "speaker_user"), pk=pk)


def _get_token(key: str) -> CalendarToken:
    token = calendars.token_for_key(key)
    if token is None:
        raise Http404
    return token


def _ics(cal, *, filename: str = "") -> HttpResponse:
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    if filename:
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    # A feed is one person's secret: no shared cache may keep it.
    patch_cache_control(response, private=True, max_age=0)
    return response


@require_safe
def talk_ics(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk(pk)
    return _ics(calendars.talk_calendar(talk), filename=calendars.talk_filename(talk))


@login_not_required
@require_safe
def lab_feed(request: HttpRequest, key: str) -> HttpResponse:
    _get_token(key)
    return _ics(calendars.calendar(calendars.lab_talks(), name=_("Lab talks"), feed="lab"))


@login_not_required
@require_safe
def series_feed(request: HttpRequest, key: str, slug: str) -> HttpResponse:
    _get_token(key)
    series = get_object_or_404(Series, slug=slug)
    talks = calendars.series_talks(series)
    return _ics(calendars.calendar(talks, name=series.name, feed=f"series/{series.slug}"))


@login_not_required
@require_safe
def my_feed(request: HttpRequest, key: str) -> HttpResponse:
    token = _get_token(key)
    talks = calendars.person_talks(token.user)
    name = _("Talks of %(name)s") % {"name": token.user.name}
    ring = calendars.TALK_ALARM if token.user.calendar_alarms else None
    return _ics(calendars.calendar(talks, name=name, feed=f"people/{token.user.pk}", ring_before=ring))


@login_not_required
@require_safe
def deadlines_feed(request: HttpRequest, key: str) -> HttpResponse:
    """The venues' deadlines, the key holder's drafts' review dates and the reviews they owe."""
    from reviews.calendars import person_calendar

    token = _get_token(key)
    response = HttpResponse(person_calendar(token.user), content_type="text/calendar; charset=utf-8")
    patch_cache_control(response, private=True, max_age=0)
    return response


@dataclass(frozen=True)
class Feed:
    anchor: str
    name: str
    url: str
    note: str = ""

    @property
    def webcal(self) -> str:
        """The same address for the links calendar programs open when clicked."""
        return "webcal:" + self.url.split(":", 1)[1]


def _feeds(token: CalendarToken) -> list[Feed]:
    def absolute(name: str, *args) -> str:
        return f"{settings.SITE_URL}{reverse(f'seminars:{name}', args=[token.key, *args])}"

    feeds = [
        Feed("lab-feed", _("All talks of the lab"), absolute("lab-feed")),
        Feed(
            "my-feed",
            _("My talks"),
            absolute("my-feed"),
            _("Talks you host, give, or signed up for (waiting list included)."),
        ),
        Feed(
            "deadlines-feed",
            _("Deadlines and my reviews"),
            absolute("deadlines-feed"),
            _("Every venue's deadlines, the day your drafts' reviews are due, and the reviews you owe."),
        ),
    ]
    for series in Series.objects.all():
        feeds.append(Feed(f"series-{series.slug}", series.name, absolute("series-feed", series.slug)))
    return feeds


def _feeds_context(request: HttpRequest) -> dict:
    token = calendars.active_token(request.user)
    return {
        "token": token,
        "feeds": _feeds(token) if token else [],
        "alarms_form": CalendarAlarmsForm(instance=request.user),
    }


def calendar_feeds(request: HttpRequest) -> HttpResponse:
    """The viewer's feed addresses, with the buttons that renew or revoke them."""
    return render(request, "seminars/calendar_feeds.html", _feeds_context(request))


def _after_key_change(request: HttpRequest, message: str) -> HttpResponse:
    if request.htmx:
        return render(request, "seminars/calendar_feeds.html#feed-addresses", _feeds_context(request))
    messages.success(request, message)
    return redirect("seminars:calendar-feeds")


@require_POST
def new_calendar_key(request: HttpRequest) -> HttpResponse:
    had_one = calendars.active_token(request.user) is not None
    calendars.renew_token(user=request.user)
    message = (
        _("New feed addresses are ready; the old ones no longer work. Update your calendar subscriptions.")
        if had_one
        else _("Your feed addresses are ready.")
    )
    return _after_key_change(request, message)


@require_POST
def calendar_alarms(request: HttpRequest) -> HttpResponse:
    """Turn the alarms of the viewer's own feeds on or off (an unticked box is "off")."""
    form = CalendarAlarmsForm(request.POST, instance=request.user)
    form.save()  # a single checkbox: whatever was sent is a valid answer
    if request.htmx:
        context = {**_feeds_context(request), "alarms_saved": True}
        return render(request, "seminars/calendar_feeds.html#feed-alarms", context)
    messages.success(
        request,
        _("Your feeds now carry alarms.")
        if request.user.calendar_alarms
        else _("Your feeds no longer carry alarms."),
    )
    return redirect("seminars:calendar-feeds")


@require_POST
def revoke_calendar_key(request: HttpRequest) -> HttpResponse:
    calendars.revoke_tokens(user=request.user)
    return _after_key_change(request, _("Your feed addresses no longer work."))
