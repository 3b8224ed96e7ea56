"""Talks as iCalendar (RFC 5545): one talk's .ics and the subscribable feeds.

A subscribed calendar only ever sees the whole feed again, so everything it needs to recognise
an edit lives in each event: the UID is the talk's `uid` (fixed at creation), SEQUENCE is the
talk's `sequence` (bumped by every change of time, place or status) and DTSTAMP/LAST-MODIFIED
are its last change. A cancelled talk stays in the feed with STATUS:CANCELLED, which is how a
client learns to strike it out; a talk that just vanished would linger in some clients forever.

Times keep the zone the talk was planned in (DTSTART;TZID=Asia/Seoul:...) with a VTIMEZONE for
each zone used, so a client shows 16:00 Seoul whatever daylight saving does where it runs.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify
from icalendar import Alarm, Calendar, Event, Timezone, vDuration

from lab_portal.forms import one_line

from .models import CalendarToken, Series, Talk

PRODID = "-//Lab Portal//Seminars//EN"
# How far a feed reaches: enough history to look back at last month, a year of plans ahead.
WINDOW_BEFORE = timedelta(days=30)
WINDOW_AFTER = timedelta(days=365)
# Asked of clients that honour it (RFC 7986 and the older Microsoft extension).
REFRESH = timedelta(hours=1)
# How long before a talk a personal feed rings, for those who asked for alarms.
TALK_ALARM = timedelta(hours=1)


def alarm(before: timedelta, text: str) -> Alarm:
    """A VALARM that shows `text` `before` the event starts (RFC 5545 §3.6.6)."""
    component = Alarm()
    component.add("action", "DISPLAY")
    component.add("description", text)
    component.add("trigger", -before)
    return component


def window(now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    return now - WINDOW_BEFORE, now + WINDOW_AFTER


def _in_window(talks: QuerySet[Talk], now: datetime | None = None) -> QuerySet[Talk]:
    start, end = window(now)
    return talks.between(start, end).select_related("room", "speaker_user")


def lab_talks(now: datetime | None = None) -> QuerySet[Talk]:
    return _in_window(Talk.objects.all(), now)


def series_talks(series: Series, now: datetime | None = None) -> QuerySet[Talk]:
    return _in_window(Talk.objects.filter(series=series), now)


def person_talks(user, now: datetime | None = None) -> QuerySet[Talk]:
    return _in_window(Talk.objects.for_person(user), now)


def talk_url(talk: Talk) -> str:
    return f"{settings.SITE_URL}{talk.get_absolute_url()}"


def location(talk: Talk) -> str:
    """Where to go: the room (and where it is), and the online link when there is one."""
    parts = []
    if talk.room:
        parts.append(f"{talk.room.name}, {talk.room.location}" if talk.room.location else talk.room.name)
    online = talk.online_link or (talk.room.video_link if talk.room else "")
    if online:
        parts.append(online)
    return " · ".join(parts)


def description(talk: Talk) -> str:
    speaker = talk.speaker
    if speaker and talk.speaker_affiliation:
        speaker = f"{speaker} ({talk.speaker_affiliation})"
    # The abstract's Markdown source is the plain text: calendar clients show DESCRIPTION verbatim.
    parts = [speaker, talk.abstract.strip(), talk_url(talk)]
    return "\n\n".join(part for part in parts if part)


def event(talk: Talk, *, ring_before: timedelta | None = None) -> Event:
    """The talk as a VEVENT; with `ring_before`, it rings that long before it starts (a
    cancelled talk never does)."""
    component = Event.new(
        uid=str(talk.uid),
        sequence=talk.sequence,
        stamp=talk.updated_at,
        last_modified=talk.updated_at,
        created=talk.created_at,
        start=talk.local_start,
        end=talk.local_end,
        # Names are one line (a line break in a calendar's name made the whole file fail), and one
        # stored before forms said so is made one here.
        summary=one_line(talk.title),
        description=description(talk),
        location=one_line(location(talk)) or None,
        url=talk_url(talk),
        status="CANCELLED" if talk.is_cancelled else "CONFIRMED",
        categories=[str(talk.get_kind_display())],
    )
    if ring_before and not talk.is_cancelled:
        component.add_component(alarm(ring_before, one_line(talk.title)))
    return component


def calendar(
    talks: Iterable[Talk], *, name: str, feed: str, ring_before: timedelta | None = None
) -> Calendar:
    """A VCALENDAR of `talks`; `feed` names it for its stable UID ("lab", "series/<slug>", ...).
    `ring_before` gives each talk an alarm: only a person's own feed, when they asked for it."""
    cal = Calendar.new(
        prodid=PRODID,
        name=one_line(str(name)),
        method="PUBLISH",
        calscale="GREGORIAN",
        # The calendar's own UID stays the same on every fetch, unlike icalendar's random default.
        uid=uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.SITE_URL}/seminars/feeds/{feed}"),
    )
    cal.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})  # RFC 7986 wants VALUE
    cal.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    cal.add("X-WR-TIMEZONE", settings.TIME_ZONE)
    talks = list(talks)
    for talk in talks:
        cal.add_component(event(talk, ring_before=ring_before))
    if talks:
        # Definitions that cover the talks' dates (with a day's margin each side), not 1970 to 2038.
        first = min(talk.starts_at for talk in talks) - timedelta(days=1)
        last = max(talk.ends_at for talk in talks) + timedelta(days=1)
        cal.add_missing_timezones(first_date=first.date(), last_date=last.date())
    else:
        # RFC 5545 wants at least one component: an empty feed carries the lab's zone.
        start, end = window()
        cal.add_component(
            Timezone.from_tzid(settings.TIME_ZONE, first_date=start.date(), last_date=end.date())
        )
    return cal


def talk_filename(talk: Talk) -> str:
    return f"{slugify(talk.title)[:60] or 'talk'}-{talk.local_start:%Y%m%d}.ics"


def talk_calendar(talk: Talk) -> Calendar:
    """One talk's calendar: what its .ics link serves and what its invitations carry."""
    return calendar([talk], name=talk.title, feed=f"talks/{talk.uid}")


def talk_attachment(talk: Talk) -> list[str]:
    """The talk's .ics as a mail attachment (lab_portal.channels.Message.attachments)."""
    return [talk_filename(talk), talk_calendar(talk).to_ical().decode(), "text/calendar"]


# The secret address of a person's feeds. Every feed URL carries the key, the lab's and the
# series' too: the portal is closed to the outside, and internal seminars present unpublished
# work, yet a calendar program cannot log in. Revoking the key silences every copy of every URL.


def active_token(user) -> CalendarToken | None:
    return CalendarToken.current(user)


def renew_token(*, user) -> CalendarToken:
    """A new key for `user`; the old ones stop working in the same transaction."""
    return CalendarToken.renew(user)


def revoke_tokens(*, user) -> int:
    return CalendarToken.revoke_all(user)


def token_for_key(key: str) -> CalendarToken | None:
    return CalendarToken.for_key(key)
