"""Writes to the schedule: series generation, booking, moving and cancelling talks, requests.

Every change a calendar must see bumps the talk's `sequence`, and a change of time, place or
status reschedules the talk's reminders in the same transaction, so the change notice is
written with the change or not at all (seminars/reminders.py sends it after the commit).
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from papers.models import Paper

from . import announcements
from .models import ROOM_OVERLAP_CONSTRAINT, TBA, Series, Talk, TalkRequest
from .registration import fill_seats
from .reminders import reschedule

log = logging.getLogger(__name__)


class RoomTaken(Exception):
    """The room is booked at that time; `clash` is the talk in the way (None if it vanished)."""

    def __init__(self, clash: Talk | None):
        super().__init__(f"room taken by {clash!r}")
        self.clash = clash


class AlreadyDecided(Exception):
    pass


def _clash(talk: Talk) -> Talk | None:
    if not talk.room_id or talk.status != Talk.Status.SCHEDULED:
        return None
    return (
        Talk.objects.overlapping(
            room=talk.room_id, starts_at=talk.starts_at, ends_at=talk.ends_at, exclude_pk=talk.pk
        )
        .select_related("room")
        .first()
    )


def _book(talk: Talk) -> None:
    """Save a talk unless its room is taken, checked here on every database and by PostgreSQL's
    exclusion constraint against a booking made at the same moment."""
    if clash := _clash(talk):
        raise RoomTaken(clash)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives the refusal
            talk.save()
    except IntegrityError as error:
        if ROOM_OVERLAP_CONSTRAINT not in str(error):
            raise
        # The constraint waited for the other booking to commit, so it is visible now.
        raise RoomTaken(_clash(talk)) from error


def create_talk(talk: Talk, *, papers: list[Paper] = ()) -> Talk:
    with transaction.atomic():
        _book(talk)
        talk.related_papers.set(papers)
        announcements.announce_talk(talk)
    return talk


def update_talk(talk: Talk, *, old: dict, papers: list[Paper] | None = None) -> set[str]:
    """Save an edited talk; `old` is its `schedule_snapshot()` from before the edit.

    Returns the names of the fields that changed.
    """
    with transaction.atomic():
        # The form does not edit the status: a cancellation that committed while the form was
        # open must survive this save, which writes every field.
        current = Talk.objects.select_for_update().only("status", "cancelled_at").get(pk=talk.pk)
        talk.status, talk.cancelled_at = current.status, current.cancelled_at
        old = {**old, "status": current.status}  # announced by cancel_talk, not by this edit
        _book(talk)
        fill_seats(talk)  # a raised capacity hands its new seats to the waiting list, in order
        if papers is not None:
            talk.related_papers.set(papers)
        new = talk.schedule_snapshot()
        changed = {name for name, value in old.items() if new[name] != value}
        if changed & Talk.SCHEDULE_FIELDS:
            talk.bump_sequence()
            reschedule(talk)
        # A talk of a series is confirmed when its title is set: the lab hears of it then, once.
        announcements.announce_talk(talk)
    return changed


def cancel_talk(talk: Talk) -> bool:
    """Cancel a scheduled talk; it stays on every page and in every calendar, marked cancelled."""
    with transaction.atomic():
        now = timezone.now()
        # Conditional, so a double click or two hosts at once cancel (and notify) once.
        if not Talk.objects.filter(pk=talk.pk, status=Talk.Status.SCHEDULED).update(
            status=Talk.Status.CANCELLED, cancelled_at=now, updated_at=now
        ):
            return False
        talk.refresh_from_db(fields=["status", "cancelled_at", "updated_at"])
        talk.bump_sequence()
        reschedule(talk)
    return True


@dataclass
class Generated:
    created: list[Talk] = field(default_factory=list)
    # (the series date, the talk already in the room then)
    clashes: list[tuple[date, Talk | None]] = field(default_factory=list)


def generate_series_talks(series: Series, *, until: date, now: datetime | None = None) -> Generated:
    """Create the series' talks (titled TBA) for every meeting from now to `until`, in its zone.

    Each start is the series' wall-clock time on the local date in the series' zone, so a weekly
    16:00 in Seoul stays 16:00 there whatever daylight saving does elsewhere. Safe to run again:
    a date that already has its talk (even one moved or cancelled since) is left alone, and a
    date whose room is taken is reported, not booked.
    """
    now = now or timezone.now()
    today = now.astimezone(ZoneInfo(series.timezone)).date()
    days = series.occurrences(today, until)
    done = set(series.talks.filter(occurrence__in=days).values_list("occurrence", flat=True))
    result = Generated()
    for day in days:
        starts_at = series.starts_at_on(day)
        if day in done or starts_at <= now:
            continue
        talk = Talk(
            series=series,
            occurrence=day,
            kind=series.kind,
            title=TBA,
            host=series.host,
            room=series.room,
            online_link=series.online_link,
            capacity=series.capacity,
            timezone=series.timezone,
            starts_at=starts_at,
            ends_at=starts_at + series.duration,
        )
        try:
            with transaction.atomic():
                _book(talk)
        except RoomTaken as taken:
            result.clashes.append((day, taken.clash))
            continue
        except IntegrityError:
            # Another run created this date's talk between our read and our write.
            if series.talks.filter(occurrence=day).exists():
                continue
            raise
        result.created.append(talk)
    return result


def extend_active_series(*, weeks: int = 12, now: datetime | None = None) -> dict[Series, Generated]:
    """Keep every active series scheduled `weeks` ahead: what a periodic task runs, safe to repeat."""
    now = now or timezone.now()
    done = {}
    for series in Series.objects.active().select_related("room", "host"):
        until = now.astimezone(ZoneInfo(series.timezone)).date() + timedelta(weeks=weeks)
        done[series] = generated = generate_series_talks(series, until=until, now=now)
        for day, clash in generated.clashes:
            log.warning(
                "Series %s on %s: room %s is taken by talk %s",
                series.slug,
                day,
                series.room,
                clash and clash.pk,
            )
    return done


def accept_request(talk_request: TalkRequest, *, talk: Talk, papers: list[Paper], by) -> Talk:
    """Schedule the requested talk and mark the request accepted, both or neither."""
    with transaction.atomic():
        locked = TalkRequest.objects.select_for_update().get(pk=talk_request.pk)
        if not locked.is_pending:
            raise AlreadyDecided
        create_talk(talk, papers=papers)
        TalkRequest.objects.filter(pk=locked.pk).update(
            status=TalkRequest.Status.ACCEPTED, talk=talk, decided_by=by, decided_at=timezone.now()
        )
        talk_request.refresh_from_db()
        announcements.request_decided(talk_request)
    return talk


def decline_request(talk_request: TalkRequest, *, note: str, by) -> bool:
    with transaction.atomic():
        declined = TalkRequest.objects.filter(pk=talk_request.pk, status=TalkRequest.Status.PENDING).update(
            status=TalkRequest.Status.DECLINED, decision_note=note, decided_by=by, decided_at=timezone.now()
        )
        talk_request.refresh_from_db()
        if declined:
            announcements.request_decided(talk_request)
    return bool(declined)
