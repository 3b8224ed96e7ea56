"""Reminders a day and an hour before a talk, and a notice when a talk's time or place changes.

Each message is a `Reminder` row for one recipient, sent by the periodic task
`seminars.send_reminders` (every minute): never a Celery task scheduled a day ahead, which the
Redis broker may deliver twice or lose on a restart. A worker claims a row with a conditional
UPDATE (claimed_at NULL -> now) before sending, so of two workers looking at the same row only
one sends it. A row whose worker died mid-send is given up rather than retried: a reminder that
might already have gone out is never sent a second time.

Rows for the day-before and hour-before reminders are made when they fall due, not when a person
signs up: at that moment the task writes one row per recipient (the host, the speaker and
everyone whose seat was confirmed by the due time), and the unique constraints keep a later run
from adding a second. So a person who signs up next week, or is promoted from the waiting list,
is covered without a hook in the sign-up code, and someone who gave their seat up is not
reminded. Who signs up after a reminder fell due gets the next one, not a late "tomorrow".

Moving a talk bumps its `sequence`: the unsent rows of the old schedule are skipped, the new
schedule gets its own rows when they fall due, and everyone concerned gets one change notice per
sequence (cancelling is a change too). A reminder whose time had already come at the move is
recorded as skipped: the change notice has just told the same people the same thing.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from lab_portal import claims

from . import calendars
from .models import Registration, Reminder, Talk
from .notices import send_notice

log = logging.getLogger(__name__)

Kind = Reminder.Kind

# How long before the start each reminder is due. Each one is worth sending until the next one
# falls due (the hour-before until the talk starts); after that it is skipped, not sent late.
BEFORE = {Kind.DAY_BEFORE: timedelta(days=1), Kind.HOUR_BEFORE: timedelta(hours=1)}

SUBJECTS = {
    Kind.DAY_BEFORE: _("In 24 hours: {title}"),
    Kind.HOUR_BEFORE: _("In one hour: {title}"),
    Kind.CHANGE: _("Changed: {title}"),
}
CANCELLED_SUBJECT = _("Cancelled: {title}")
# Why a row was not sent, for whoever reads it in the admin (not translated: it is a log).
SUPERSEDED = "The talk changed before this was sent."
COVERED = "A change notice went out instead."


def due_at(talk: Talk, kind: str) -> datetime:
    return talk.starts_at - BEFORE[kind]


def expires_at(talk: Talk, kind: str) -> datetime:
    if kind == Kind.DAY_BEFORE:
        return due_at(talk, Kind.HOUR_BEFORE)
    if kind == Kind.HOUR_BEFORE:
        return talk.starts_at
    return talk.ends_at  # a change notice is news until the talk is over


def _is_open(talk: Talk, kind: str, now: datetime) -> bool:
    """Whether `kind` is due and not yet stale, for a talk planned before it fell due (a talk
    put on the schedule this afternoon for tonight gets no "in 24 hours")."""
    due = due_at(talk, kind)
    return due <= now < expires_at(talk, kind) and talk.created_at <= due


def recipients(talk: Talk, *, confirmed_by: datetime | None = None) -> list[tuple[int | None, str]]:
    """(person id, "") or (None, address) for the host, the speaker and the confirmed attendees
    (those confirmed by `confirmed_by` when given); each once, people without an address left out."""
    people: dict[int, None] = {}
    for person in (talk.host, talk.speaker_user):
        if person is not None and person.is_active and person.email:
            people[person.pk] = None
    seats = Registration.objects.filter(
        talk=talk, status=Registration.Status.CONFIRMED, user__is_active=True
    ).exclude(user__email="")
    if confirmed_by is not None:
        seats = seats.alias(confirmed_since=Coalesce("promoted_at", "created_at")).filter(
            confirmed_since__lte=confirmed_by
        )
    people.update(dict.fromkeys(seats.values_list("user_id", flat=True)))
    found = [(pk, "") for pk in people]
    if talk.speaker_email and not talk.speaker_user_id:
        found.append((None, talk.speaker_email.lower()))
    return found


def _write_rows(talk: Talk, kind: str, *, due: datetime, people, skipped_at: datetime | None = None) -> None:
    rows = [
        Reminder(
            talk=talk,
            kind=kind,
            sequence=talk.sequence,
            recipient_id=person_id,
            email=email,
            due_at=due,
            skipped_at=skipped_at,
            error=COVERED if skipped_at else "",
        )
        for person_id, email in people
    ]
    # The unique constraints (talk, kind, sequence, recipient) make a second write a no-op.
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)


def plan_reminders(*, now: datetime | None = None) -> None:
    """Write the rows of every reminder that has fallen due for a scheduled talk."""
    now = now or timezone.now()
    soon = Talk.objects.scheduled().filter(starts_at__gt=now, starts_at__lte=now + max(BEFORE.values()))
    for talk in soon.select_related("host", "speaker_user"):
        for kind in BEFORE:
            if _is_open(talk, kind, now):
                due = due_at(talk, kind)
                _write_rows(talk, kind, due=due, people=recipients(talk, confirmed_by=due))


def reschedule(talk: Talk, *, now: datetime | None = None) -> None:
    """After a change of time, place or status (inside its transaction): drop what the old
    schedule had pending and tell everyone concerned, once for this `sequence`."""
    now = now or timezone.now()
    talk.reminders.filter(
        sequence__lt=talk.sequence, sent_at__isnull=True, skipped_at__isnull=True, claimed_at__isnull=True
    ).update(skipped_at=now, error=SUPERSEDED)
    if talk.ends_at <= now:
        return
    _write_rows(talk, Kind.CHANGE, due=now, people=recipients(talk))
    if not talk.is_cancelled:
        for kind in BEFORE:
            if _is_open(talk, kind, now):
                due = due_at(talk, kind)
                _write_rows(talk, kind, due=due, people=recipients(talk, confirmed_by=due), skipped_at=now)
    from .tasks import send_reminders  # the task module imports this one

    transaction.on_commit(send_reminders.delay)


def _why_not(reminder: Reminder, now: datetime) -> str:
    """Why this reminder must not go out now, or "" when it should."""
    talk = reminder.talk
    if reminder.sequence != talk.sequence:
        return SUPERSEDED
    if now >= expires_at(talk, reminder.kind):
        return "Too late: the moment for this message has passed."
    if reminder.kind != Kind.CHANGE and talk.is_cancelled:
        return "The talk is cancelled."
    if reminder.recipient_id is None:
        return "" if reminder.email == talk.speaker_email.lower() else "No longer the talk's speaker."
    if reminder.recipient_id in (talk.host_id, talk.speaker_user_id):
        return ""
    confirmed = talk.registrations.filter(user_id=reminder.recipient_id, status=Registration.Status.CONFIRMED)
    return "" if confirmed.exists() else "No longer has a seat."


def _subject(reminder: Reminder):
    talk = reminder.talk
    if reminder.kind == Kind.CHANGE and talk.is_cancelled:
        return format_lazy(CANCELLED_SUBJECT, title=talk.title)
    return format_lazy(SUBJECTS[reminder.kind], title=talk.title)


def _finish(reminder: Reminder, **fields) -> None:
    Reminder.objects.filter(pk=reminder.pk).update(**fields)


def _send(reminder: Reminder, now: datetime) -> bool:
    """Send one claimed reminder; True when it went out."""
    if reason := _why_not(reminder, now):
        _finish(reminder, skipped_at=now, error=reason)
        return False
    talk = reminder.talk
    context = {
        "talk": talk,
        "kind": reminder.kind,
        "talk_url": calendars.talk_url(talk),
        "location": calendars.location(talk),
    }
    template = "seminars/email/change" if reminder.kind == Kind.CHANGE else "seminars/email/reminder"
    try:
        sent = send_notice(
            [reminder.recipient or reminder.email],
            _subject(reminder),
            template,
            context,
            key=f"reminder:{reminder.pk}",
        )
    except Exception as error:
        # Queueing failed (the database, say): given back with a growing pause. The key makes a
        # later try queue only what this one did not. The mail server's own failures are retried
        # by lab_portal.notify on each delivery.
        log.exception("Reminder %s (attempt %s) failed", reminder.pk, reminder.attempts)
        if reminder.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
            _finish(reminder, skipped_at=now, error=f"Gave up after {reminder.attempts} attempts: {error}")
        else:
            pause = timedelta(seconds=settings.NOTIFY_RETRY_BACKOFF * 2 ** (reminder.attempts - 1))
            _finish(reminder, claimed_at=None, due_at=now + pause, error=str(error))
        return False
    if not sent:
        _finish(reminder, skipped_at=now, error="No e-mail address or channel.")
        return False
    _finish(reminder, sent_at=now, error="")
    return True


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Claim and send every reminder that is due; returns how many went out. Safe to run in
    several workers at once."""
    rows = Reminder.objects.select_related("talk__room", "talk__host", "talk__speaker_user", "recipient")
    return claims.send_due(
        rows, now or timezone.now(), _send, lost="Its worker stopped while sending; not retried."
    )
