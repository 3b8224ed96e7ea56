"""Deadlines as iCalendar (RFC 5545): one event per abstract and paper deadline, and a person's
own calendar of deadlines and review due dates.

A deadline is an instant, so it is written in UTC with no end (an event that ends when it
starts); the summary names the venue's own wall-clock time ("23:59 AoE") because that is how
people quote it. UIDs come from the row and the kind of deadline, so a re-import updates the
event instead of adding a second one.
"""

from collections.abc import Iterable
from datetime import UTC, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from .models import Deadline, Draft, ReviewAssignment

PRODID = "-//Lab Portal//Deadlines//EN"
# How long before a deadline or a due date a personal feed rings, for those who asked for alarms.
DEADLINE_ALARM = timedelta(days=1)


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


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    return calendar


def deadlines_calendar(deadlines: Iterable[Deadline]) -> bytes:
    calendar = _calendar(_("Submission deadlines"))
    _add_deadlines(calendar, deadlines)
    return calendar.to_ical()


def _add_deadlines(calendar: Calendar, deadlines: Iterable[Deadline], *, ring_for=frozenset()) -> None:
    """Each deadline's events; those of the deadlines in `ring_for` (pks) with an alarm."""
    for deadline in deadlines:
        events = [_event(deadline, kind="paper", moment=deadline.paper_deadline, label=_("paper deadline"))]
        if deadline.abstract_deadline:
            abstract = _event(
                deadline, kind="abstract", moment=deadline.abstract_deadline, label=_("abstract deadline")
            )
            events.insert(0, abstract)
        for component in events:
            if deadline.pk in ring_for:
                _ring(component)
            calendar.add_component(component)


def _ring(component: Event) -> Event:
    from seminars.calendars import alarm

    component.add_component(alarm(DEADLINE_ALARM, str(component["summary"])))
    return component


def _all_day(uid: str, *, day, summary: str, url: str, stamp, ring: bool = False) -> Event:
    # A due date is a day, not an instant: it ends at the close of that day wherever one is.
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("url", url)
    event.add("transp", "TRANSPARENT")
    return _ring(event) if ring else event


def person_calendar(person, *, now=None) -> bytes:
    """One person's subscribable calendar: every venue's deadlines of the last 30 days and ahead,
    the deadlines their drafts aim at and the day their drafts' reviews are due, and the reviews
    they still owe. Each read is bounded by an index (deadlines by date, drafts and assignments by
    person), never by the paper store."""
    now = now or timezone.now()
    calendar = _calendar(_("Deadlines and reviews of %(name)s") % {"name": person.name})
    # Alarms, for those who asked, only on what is the person's own: the deadlines their drafts
    # aim at, their drafts' review days and the reviews they owe, never every venue's dates.
    ring = person.calendar_alarms
    drafts = list(
        Draft.objects.authored_by(person).heading_for_deadline(now).select_related("deadline__venue")
    )
    recent = Deadline.objects.filter(paper_deadline__gte=now - timedelta(days=30)).select_related("venue")
    _add_deadlines(
        calendar, recent, ring_for={draft.deadline_id for draft in drafts} if ring else frozenset()
    )
    for draft in drafts:
        url = settings.SITE_URL + draft.get_absolute_url()
        calendar.add_component(
            _all_day(
                f"draft-{draft.pk}-reviews-due@lab-portal",
                day=draft.review_by,
                summary=_("Reviews due for your draft “%(title)s” (%(venue)s)")
                % {"title": draft.title, "venue": draft.deadline},
                url=url,
                stamp=draft.created_at,
                ring=ring,
            )
        )
    owed = ReviewAssignment.objects.owed_by(person).select_related("draft")
    for assignment in owed:
        calendar.add_component(
            _all_day(
                f"review-{assignment.pk}-due@lab-portal",
                day=assignment.due,
                summary=_("Review due: “%(title)s”") % {"title": assignment.draft.title},
                url=settings.SITE_URL + reverse("reviews:review", args=[assignment.draft_id]),
                stamp=assignment.created_at,
                ring=ring,
            )
        )
    return calendar.to_ical()
