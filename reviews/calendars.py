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


def _add_deadlines(calendar: Calendar, deadlines: Iterable[Deadline]) -> None:
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


def _all_day(uid: str, *, day, summary: str, url: str, stamp) -> Event:
    # A due date is a day, not an instant: it ends at the close of that day wherever one is.
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("url", url)
    event.add("transp", "TRANSPARENT")
    return event


def person_calendar(person, *, now=None) -> bytes:
    """One person's subscribable calendar: every venue's deadlines of the last 30 days and ahead,
    the deadlines their drafts aim at and the day their drafts' reviews are due, and the reviews
    they still owe. Each read is bounded by an index (deadlines by date, drafts and assignments by
    person), never by the paper store."""
    now = now or timezone.now()
    calendar = _calendar(_("Deadlines and reviews of %(name)s") % {"name": person.name})
    recent = Deadline.objects.filter(paper_deadline__gte=now - timedelta(days=30)).select_related("venue")
    _add_deadlines(calendar, recent)
    drafts = Draft.objects.authored_by(person).heading_for_deadline(now).select_related("deadline__venue")
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
            )
        )
    return calendar.to_ical()
