"""Reminders to reviewers: one before a review is due, and a few once it is overdue.

Each message is a `ReviewReminder` row for one assignment, written by the periodic task
`reviews.send_reminders` at the moment it falls due and sent by the same task, as seminar
reminders are (seminars/reminders.py): a worker claims a row with a conditional UPDATE
(claimed_at NULL -> now) before sending, so of two workers only one sends it, and a row whose
worker died mid-send is given up, never sent a second time.

The moments are wall-clock times in the reviewer's own zone: REVIEW_REMINDER_DAYS_BEFORE days
before the due date at REVIEW_REMINDER_HOUR, then at the same hour on the day after the due date
and every REVIEW_OVERDUE_EVERY_DAYS days after that, REVIEW_OVERDUE_REMINDERS times at most. Each
reminder is worth sending until the next one falls due (the one before, until the due date is
over); after that it is skipped, not sent late. An assignment made after its "before" moment gets
no "before" reminder: it was just announced with its due date.

When an overdue reminder goes out, the lead who opened the review's round (for an assignment
made by hand, the leads of the authors' teams) is told too, once per review: the message is
keyed by the assignment, so later reminders, and a second worker, add nothing.

A row names the due date it was computed for. When a lead moves the date, rows of the old date
still unsent are skipped at send time and the new date's rows are written as they fall due.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lab_portal import claims
from lab_portal.channels import clip
from lab_portal.models import User
from lab_portal.notify import Message, notify

from .models import DraftAuthor, Review, ReviewAssignment, ReviewReminder

log = logging.getLogger(__name__)

Kind = ReviewReminder.Kind

# Why a row was not sent, for whoever reads it in the admin (not translated: it is a log).
MOVED = "The due date moved; the new date has its own reminders."
SUBMITTED = "The review is submitted."
INACTIVE = "The reviewer's account is inactive."
TOO_LATE = "Too late: the moment for this message has passed."
LOST = "Its worker stopped while sending; not retried."


@dataclass(frozen=True)
class Slot:
    kind: str
    number: int
    at: datetime
    until: datetime


def _at(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(settings.REVIEW_REMINDER_HOUR), tzinfo=zone)


def _overdue_day(due: date, number: int) -> date:
    return due + timedelta(days=1 + (number - 1) * settings.REVIEW_OVERDUE_EVERY_DAYS)


def slot(kind: str, number: int, *, due: date, zone: ZoneInfo) -> Slot:
    """When a reminder falls due, and until when it is still worth sending."""
    if kind == Kind.BEFORE:
        # Until the due date is over: midnight after it, in the reviewer's zone (ReviewAssignment.due_at).
        end = datetime.combine(due + timedelta(days=1), time.min, tzinfo=zone)
        return Slot(kind, 1, _at(due - timedelta(days=settings.REVIEW_REMINDER_DAYS_BEFORE), zone), end)
    return Slot(kind, number, _at(_overdue_day(due, number), zone), _at(_overdue_day(due, number + 1), zone))


def schedule(assignment: ReviewAssignment) -> list[Slot]:
    zone = ZoneInfo(assignment.reviewer.timezone)
    slots = [slot(Kind.BEFORE, 1, due=assignment.due, zone=zone)]
    for number in range(1, settings.REVIEW_OVERDUE_REMINDERS + 1):
        slots.append(slot(Kind.OVERDUE, number, due=assignment.due, zone=zone))
    return slots


def _is_open(assignment: ReviewAssignment, planned: Slot, now: datetime) -> bool:
    if not planned.at <= now < planned.until:
        return False
    return planned.kind != Kind.BEFORE or assignment.created_at <= planned.at


def owed():
    """Assignments whose reviewer may still be reminded: not submitted, reviewer active."""
    return ReviewAssignment.objects.filter(reviewer__is_active=True).exclude(
        review__status=Review.Status.SUBMITTED
    )


def plan_reminders(*, now: datetime | None = None) -> None:
    """Write the rows of every reminder that has fallen due (those already written stay as they are)."""
    now = now or timezone.now()
    # A day of slack on each side covers every zone's idea of today.
    today = now.date()
    reach = 1 + settings.REVIEW_OVERDUE_REMINDERS * settings.REVIEW_OVERDUE_EVERY_DAYS
    near = owed().filter(
        due__gte=today - timedelta(days=reach + 1),
        due__lte=today + timedelta(days=settings.REVIEW_REMINDER_DAYS_BEFORE + 1),
    )
    rows = [
        ReviewReminder(
            assignment=assignment,
            kind=planned.kind,
            due=assignment.due,
            number=planned.number,
            due_at=planned.at,
        )
        for assignment in near.select_related("reviewer")
        for planned in schedule(assignment)
        if _is_open(assignment, planned, now)
    ]
    # The unique constraint (assignment, kind, due, number) makes a second write a no-op.
    ReviewReminder.objects.bulk_create(rows, ignore_conflicts=True)


def _why_not(reminder: ReviewReminder, now: datetime) -> str:
    """Why this reminder must not go out now, or "" when it should."""
    assignment = reminder.assignment
    if reminder.due != assignment.due:
        return MOVED
    if getattr(assignment, "review", None) is not None and assignment.review.is_submitted:
        return SUBMITTED
    if not assignment.reviewer.is_active:
        return INACTIVE
    zone = ZoneInfo(assignment.reviewer.timezone)
    if now >= slot(reminder.kind, reminder.number, due=reminder.due, zone=zone).until:
        return TOO_LATE
    return ""


def message(reminder: ReviewReminder, now: datetime) -> Message:
    assignment = reminder.assignment
    draft, reviewer = assignment.draft, assignment.reviewer
    values = {"title": draft.title, "due": formats.date_format(reminder.due, "DATE_FORMAT")}
    if reminder.kind == Kind.BEFORE:
        subject = _("Review due on %(due)s: %(title)s") % values
        text = _("Your review of “%(title)s” is due on %(due)s.") % values
    else:
        late = (now.astimezone(ZoneInfo(reviewer.timezone)).date() - reminder.due).days
        subject = _("Review overdue: %(title)s") % values
        text = ngettext(
            "Your review of “%(title)s” was due on %(due)s: it is %(days)d day late.",
            "Your review of “%(title)s” was due on %(due)s: it is %(days)d days late.",
            late,
        ) % {**values, "days": late}
    return Message(
        subject=clip(subject, 250),
        dedupe_key=f"review-reminder:{reminder.pk}",
        text=text,
        url=reverse("reviews:review", args=[draft.pk]),
    )


def leads_of(assignment: ReviewAssignment) -> list:
    """Who answers for a review: the lead who opened its round, or for an assignment made by hand
    the leads of the authors' teams; never the reviewer themself."""
    round_ = assignment.round
    if round_ is not None and round_.opened_by is not None and round_.opened_by.is_active:
        leads = [round_.opened_by]
    else:
        teams = DraftAuthor.objects.filter(draft=assignment.draft_id, person__team__isnull=False)
        leads = list(
            User.objects.active().filter(led_teams__in=teams.values("person__team")).distinct().order_by("pk")
        )
    return [lead for lead in leads if lead.pk != assignment.reviewer_id]


def tell_leads_overdue(assignment: ReviewAssignment) -> int:
    """Tell the review's leads it is overdue; once per review, whatever calls this again."""
    draft, reviewer = assignment.draft, assignment.reviewer
    url = assignment.round.get_absolute_url() if assignment.round_id else draft.get_absolute_url()
    leads = leads_of(assignment)
    for lead in leads:
        with translation.override(lead.language):
            values = {
                "reviewer": reviewer.name,
                "title": draft.title,
                "due": formats.date_format(assignment.due, "DATE_FORMAT"),
            }
            notify(
                lead,
                Message(
                    subject=clip(_("Overdue review: %(reviewer)s on “%(title)s”") % values, 250),
                    dedupe_key=f"review-overdue:{assignment.pk}",
                    text=_("%(reviewer)s's review of “%(title)s” was due on %(due)s and is not in yet.")
                    % values,
                    url=url,
                ),
            )
    return len(leads)


def _finish(reminder: ReviewReminder, **fields) -> None:
    ReviewReminder.objects.filter(pk=reminder.pk).update(**fields)


def _send(reminder: ReviewReminder, now: datetime) -> bool:
    """Send one claimed reminder; True when it went out."""
    if reason := _why_not(reminder, now):
        _finish(reminder, skipped_at=now, error=reason)
        return False
    reviewer = reminder.assignment.reviewer
    try:
        with transaction.atomic():
            with translation.override(reviewer.language):
                notify(reviewer, message(reminder, now))
            if reminder.kind == Kind.OVERDUE:
                tell_leads_overdue(reminder.assignment)
            _finish(reminder, sent_at=now, error="")
    except Exception as error:
        # Nothing was queued (the transaction rolled back): the row is given back with a growing
        # pause, and tried again until the reminder's moment has passed.
        log.exception("Review reminder %s (attempt %s) failed", reminder.pk, reminder.attempts)
        pause = timedelta(seconds=max(1.0, settings.NOTIFY_RETRY_BACKOFF * 2 ** (reminder.attempts - 1)))
        _finish(reminder, claimed_at=None, due_at=now + pause, error=str(error)[:2000])
        return False
    return True


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Claim and send every reminder row that is due; returns how many went out."""
    rows = ReviewReminder.objects.select_related(
        "assignment__draft", "assignment__reviewer", "assignment__review", "assignment__round__opened_by"
    )
    return claims.send_due(rows, now or timezone.now(), _send, lost=LOST)


def send_review_reminders(*, now: datetime | None = None) -> int:
    """What the task runs: write the reminders that have fallen due, then claim and send them.
    Safe to run in several workers at once; returns how many went out."""
    now = now or timezone.now()
    plan_reminders(now=now)
    return send_due_reminders(now=now)
