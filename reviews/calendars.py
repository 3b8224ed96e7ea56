"""Deadlines as iCalendar (RFC 5545): one event per abstract and paper deadline.

A deadline is an instant, so it is written in UTC with no end (an event that ends when it
starts); the summary names the venue's own wall-clock time ("23:59 AoE") because that is how
people quote it. UIDs come from the row and the kind of deadline, so a re-import updates the
event instead of adding a second one.
"""

from collections.abc import Iterable
from datetime import UTC

from django.conf import settings
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from .models import Deadline

PRODID = "-//Lab Portal//Deadlines//EN"


def _event(deadline: Deadline, *, kind: str, moment, label: str) -> Event:
    local = moment.astimezone(deadline.zone)
    event = Event()
    event.add("uid", f"deadline-{deadline.pk}-{kind}@lab-portal")
    event.add("dtstamp", deadline.created_at.astimezone(UTC))
    event.add("dtstart", moment.astimezone(UTC))
    event.add(
        "summary",
        f"{deadline}: {label} ({local:%Y-%m-%d %H:%M} {deadline.zone_label})",
    )
    if deadline.venue.url:
        event.add("url", deadline.venue.url)
    event.add("transp", "TRANSPARENT")
    return event


def deadlines_calendar(deadlines: Iterable[Deadline]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _("Submission deadlines"))
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    for deadline in deadlines:
        if deadline.abstract_deadline:
            calendar.add_component(
                _event(
                    deadline, kind="abstract", moment=deadline.abstract_deadline, label=_("abstract deadline")
                )
            )
        calendar.add_component(
            _event(deadline, kind="paper", moment=deadline.paper_deadline, label=_("paper deadline"))
        )
    return calendar.to_ical()
