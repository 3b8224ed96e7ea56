"""Seats at a talk: signing up, the waiting list, and handing a freed seat to the next in line.

Every change to a talk's sign-ups first locks the talk's row (SELECT … FOR UPDATE) and holds the
lock until it commits, so the sign-ups of one talk happen one at a time: counting the confirmed
seats and taking one cannot interleave, and exactly `capacity` people hold a seat however many
press the button at once. Sign-ups for different talks never wait for each other. This relies on
PostgreSQL's default READ COMMITTED: each statement after the lock sees every sign-up committed
before it. (SQLite ignores the lock and lets one transaction write at a time anyway.)
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .calendars import talk_attachment
from .models import Registration, Talk
from .notices import send_notice

Status = Registration.Status
QUEUE_ORDER = ("created_at", "pk")


class SignupError(Exception):
    """A sign-up change that cannot happen and changed nothing; str() is the message for the person."""


class AlreadySignedUp(SignupError):
    pass


class NotSignedUp(SignupError):
    pass


class TalkCancelled(SignupError):
    pass


class SignupClosed(SignupError):
    pass


@dataclass(frozen=True)
class Seat:
    """A person's place at a talk and the talk's seat counts, as the sign-up panel shows them."""

    status: str | None  # a Registration.Status; None when not signed up (or cancelled)
    position: int | None  # on the waiting list: 1 is next in line
    capacity: int | None  # None: no limit
    confirmed: int
    waiting: int
    is_open: bool

    @property
    def is_confirmed(self) -> bool:
        return self.status == Status.CONFIRMED

    @property
    def is_waiting(self) -> bool:
        return self.status == Status.WAITLISTED

    @property
    def seats_left(self) -> int | None:
        # Never negative: a host may lower the capacity below the seats already given.
        return None if self.capacity is None else max(self.capacity - self.confirmed, 0)

    @property
    def is_full(self) -> bool:
        return self.seats_left == 0


def sign_up(talk: Talk, user) -> Registration:
    """A seat at `talk` for `user`, or the last place on its waiting list when it is full."""
    with transaction.atomic():
        talk = _lock(talk)
        # Taken under the lock, so the waiting list's order is the order the lock was granted in.
        now = timezone.now()
        _check_open(talk, now)
        registration = Registration.objects.filter(talk=talk, user=user).first()
        if registration is not None and registration.status != Status.CANCELLED:
            raise AlreadySignedUp(_already_signed_up(registration))
        status = Status.WAITLISTED if _seats_left(talk) == 0 else Status.CONFIRMED
        if registration is None:
            registration = Registration.objects.create(talk=talk, user=user, status=status, created_at=now)
        else:
            # Coming back after cancelling reuses the row (one per talk and person) and joins the
            # queue at the back, as a new sign-up would.
            registration.status, registration.created_at = status, now
            registration.promoted_at = registration.cancelled_at = None
            registration.save(
                update_fields=["status", "created_at", "promoted_at", "cancelled_at", "updated_at"]
            )
        if status == Status.CONFIRMED:
            # A seat comes with its confirmation (and the talk for the person's calendar); a place
            # in line does not: the promotion is the message that matters then.
            from .tasks import tell_signed_up  # the task module imports this one

            transaction.on_commit(partial(tell_signed_up.delay, registration_id=registration.pk), robust=True)
        return registration


def cancel(talk: Talk, user) -> str:
    """Give up `user`'s seat or place in line and return which it was (a Registration.Status).

    A freed seat goes to the first person waiting in the same transaction, so nobody ever sees a
    free seat while people are still waiting for one.
    """
    with transaction.atomic():
        talk = _lock(talk)
        now = timezone.now()
        registration = (
            Registration.objects.filter(talk=talk, user=user).exclude(status=Status.CANCELLED).first()
        )
        if registration is None:
            raise NotSignedUp(_("You are not signed up for this talk."))
        if talk.is_cancelled:
            raise TalkCancelled(_("This talk is cancelled: its sign-ups no longer change."))
        if now >= talk.starts_at:
            # The list then records who meant to come; a seat freed now would help nobody.
            raise SignupClosed(_("The talk has started: its sign-ups no longer change."))
        given_up = registration.status
        registration.status, registration.cancelled_at = Status.CANCELLED, now
        registration.save(update_fields=["status", "cancelled_at", "updated_at"])
        if given_up == Status.CONFIRMED:
            _promote(talk, now)
        return given_up


def fill_seats(talk: Talk) -> list[Registration]:
    """Give every free seat to the people waiting, first come first served, and tell them.

    Call it after a talk's capacity was raised. Lowering the capacity un-confirms nobody: those
    holding a seat keep it (they may have planned their day around it), the talk shows as full,
    and newcomers wait until enough seats are given up to bring it under the new limit.
    """
    with transaction.atomic():
        return _promote(_lock(talk), timezone.now())


def seat_for(talk: Talk, user) -> Seat:
    """Where `user` stands at `talk`: three small queries at most."""
    counts = talk.registrations.aggregate(
        confirmed=Count("pk", filter=Q(status=Status.CONFIRMED)),
        waiting=Count("pk", filter=Q(status=Status.WAITLISTED)),
    )
    registration = None
    if user.is_authenticated:
        registration = (
            Registration.objects.filter(talk=talk, user=user).exclude(status=Status.CANCELLED).first()
        )
    waiting = registration is not None and registration.status == Status.WAITLISTED
    return Seat(
        status=registration.status if registration else None,
        position=queue_position(registration) if waiting else None,
        capacity=talk.capacity,
        confirmed=counts["confirmed"],
        waiting=counts["waiting"],
        is_open=talk.is_open_for_signup(),
    )


def queue_position(registration: Registration) -> int:
    """A waiting registration's place in line: 1 is the next to get a seat."""
    ahead = Registration.objects.filter(talk_id=registration.talk_id, status=Status.WAITLISTED).filter(
        Q(created_at__lt=registration.created_at)
        | Q(created_at=registration.created_at, pk__lt=registration.pk)
    )
    return ahead.count() + 1


def attendees(talk: Talk) -> tuple[list[Registration], list[Registration]]:
    """The confirmed and the waiting, each in sign-up order; each waiting one gets `.position`."""
    registrations = (
        talk.registrations.exclude(status=Status.CANCELLED)
        .select_related("user__team")
        .order_by(*QUEUE_ORDER)
    )
    confirmed, waiting = [], []
    for registration in registrations:
        if registration.status == Status.CONFIRMED:
            confirmed.append(registration)
        else:
            waiting.append(registration)
            registration.position = len(waiting)
    return confirmed, waiting


def _lock(talk: Talk) -> Talk:
    """The talk re-read under a row lock held until the transaction ends (its capacity may have
    changed since the caller read it)."""
    return Talk.objects.select_for_update().get(pk=talk.pk)


def _check_open(talk: Talk, now: datetime) -> None:
    if talk.is_cancelled:
        raise TalkCancelled(_("This talk is cancelled, so sign-up is closed."))
    if now >= talk.starts_at:
        raise SignupClosed(_("Sign-up closed when the talk started."))


def _seats_left(talk: Talk) -> int | None:
    if talk.capacity is None:
        return None
    confirmed = talk.registrations.filter(status=Status.CONFIRMED).count()
    return max(talk.capacity - confirmed, 0)


def _already_signed_up(registration: Registration) -> str:
    if registration.status == Status.CONFIRMED:
        return _("You already have a seat at this talk.")
    return _("You are already on the waiting list for this talk, as number %(position)s.") % {
        "position": queue_position(registration)
    }


def _promote(talk: Talk, now: datetime) -> list[Registration]:
    """Confirm the first waiting registrations for the free seats; the caller holds the talk's lock."""
    if talk.is_cancelled or now >= talk.starts_at:
        return []
    free = _seats_left(talk)
    waiting = (
        talk.registrations.filter(status=Status.WAITLISTED).select_related("user").order_by(*QUEUE_ORDER)
    )
    promoted = list(waiting if free is None else waiting[:free])
    if not promoted:
        return []
    Registration.objects.filter(pk__in=[r.pk for r in promoted]).update(
        status=Status.CONFIRMED, promoted_at=now, updated_at=now
    )
    for registration in promoted:
        registration.status, registration.promoted_at = Status.CONFIRMED, now
    # Only once the seats are really theirs: a rolled-back promotion tells nobody. One task per
    # person: the request never waits for the mail server, a server that is down is retried,
    # and one failed address keeps nobody else from hearing. Robust: with tasks run in-process
    # (no Redis), a mail that fails is logged and the sign-up page still answers.
    from .tasks import tell_promoted  # the task module imports this one

    for registration in promoted:
        transaction.on_commit(partial(tell_promoted.delay, registration_id=registration.pk), robust=True)
    return promoted


def tell_promoted(registration_id: int) -> bool:
    """Tell a person promoted from the waiting list that the seat is theirs. False when it no
    longer is (given up again before the message went)."""
    registration = (
        Registration.objects.select_related("talk__room", "user")
        .filter(pk=registration_id, status=Status.CONFIRMED, promoted_at__isnull=False)
        .first()
    )
    if registration is None:
        return False
    talk = registration.talk
    subject = format_lazy(gettext_lazy("You have a seat at “{title}”"), title=talk.title)
    send_notice(
        [registration.user],
        subject,
        "seminars/email/seat",
        {"talk": talk, "promoted": True},
        key=f"promoted:{registration.pk}:{registration.promoted_at.isoformat()}",
        attachments=[talk_attachment(talk)],
    )
    return True


def tell_signed_up(registration_id: int) -> bool:
    """Confirm a seat taken at sign-up, with the talk's .ics. False when the seat is no longer
    held as taken then (given up, or a later sign-up of the same row)."""
    registration = (
        Registration.objects.select_related("talk__room", "user")
        .filter(pk=registration_id, status=Status.CONFIRMED, promoted_at__isnull=True)
        .first()
    )
    if registration is None or registration.talk.is_cancelled:
        return False
    talk = registration.talk
    subject = format_lazy(gettext_lazy("Your seat at “{title}”"), title=talk.title)
    send_notice(
        [registration.user],
        subject,
        "seminars/email/seat",
        {"talk": talk, "promoted": False},
        # Keyed by the sign-up's moment: signing up again after giving the seat up is confirmed again.
        key=f"signed-up:{registration.pk}:{registration.created_at.isoformat()}",
        attachments=[talk_attachment(talk)],
    )
    return True
