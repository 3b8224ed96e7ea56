"""The morning e-mail: one per person and local day, what their watch rules found, grouped by rule.

The beat calls `send_due_digests` every 15 minutes. Today's mail carries what arrived before
DIGEST_HOUR this morning in the person's zone, and goes once that hour has passed: what a fetch
brings in the evening waits for the next morning wherever the person is. Rows are claimed with
a conditional UPDATE in the transaction that queues the mail, and the mail's key names the local
day, so two workers or a re-run never send a second mail for the same morning.

The mail keeps coming when a person adds Telegram or Slack: it goes to their e-mail channels
(their profile's address if they have none yet) until they turn the digest off on their channel
page, and it carries every match of the night whether or not chat has already shown it.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lab_portal.models import Channel, Delivery, User
from lab_portal.notify import Message, notify

from .models import Notification, Recommendation

logger = logging.getLogger(__name__)

FOR_YOU_COUNT = 5
FOR_YOU_MAX_AGE = timedelta(days=3)


def digest_hour() -> int:
    return settings.DIGEST_HOUR


def cutoff(person: User, now: datetime) -> datetime:
    """DIGEST_HOUR today in the person's zone: the digest of the day holds what came before it."""
    local = now.astimezone(ZoneInfo(person.timezone))
    return datetime.combine(local.date(), time(digest_hour()), tzinfo=local.tzinfo)


def dedupe_key(person: User, day: date) -> str:
    return f"digest:{person.pk}:{day.isoformat()}"


@dataclass
class Group:
    title: str
    notifications: list = field(default_factory=list)


def due_people():
    """People with undigested notifications; whether their morning has come is checked per zone."""
    waiting = Notification.objects.for_digest().values("person_id")
    return User.objects.active().filter(pk__in=waiting)


def send_due_digests(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    sent = 0
    for person in due_people():
        until = cutoff(person, now)
        if now >= until and send_digest(person, day=until.date(), until=until):
            sent += 1
    return sent


def send_digest(person: User, *, day: date, until: datetime) -> bool:
    """Queue `person`'s digest for local `day`; False when there is nothing to send or it went."""
    key = dedupe_key(person, day)
    if Delivery.objects.filter(channel__person=person, dedupe_key=key).exists():
        return False  # today's went already: what came later waits for tomorrow morning
    with transaction.atomic():
        rows = list(
            Notification.objects.for_digest()
            .filter(person=person, created_at__lt=until)
            .select_related("paper", "rule", "share__person", "comment__author")
            .order_by("rule__name", "rule_id", "kind", "-created_at", "pk")
        )
        if not rows:
            return False
        claimed = Notification.objects.filter(
            pk__in=[row.pk for row in rows], digest_sent_at__isnull=True
        ).update(digest_sent_at=timezone.now())
        if claimed != len(rows):
            # Another worker is sending this person's digest: leave it all to that one.
            transaction.set_rollback(True)
            return False
        # With the digest or e-mail switched off the rows still count as digested: turning it
        # back on later must not bring a mail of everything since.
        if not person.morning_digest:
            return False
        with translation.override(person.language):
            message = build_message(person, rows, day=day, key=key)
        give_email_channel(person)
        deliveries = notify(person, message, kinds=[Channel.Kind.EMAIL])
    logger.info("Digest for %s (%s): %d notifications", person.username, day, len(rows))
    return bool(deliveries)


def give_email_channel(person: User) -> None:
    """A person who added a chat channel before the portal ever mailed them has no e-mail channel
    yet: give them the one everyone else got with their first message, at their profile's address."""
    if not Channel.objects.filter(person=person, kind=Channel.Kind.EMAIL).exists():
        Channel.objects.own_email(person)


def group(rows: list[Notification]) -> list[Group]:
    groups: dict[object, Group] = {}
    for row in rows:
        if row.rule_id:
            heading = _("Watch rule “%(name)s”") % {"name": row.rule.name}
            slot = ("rule", row.rule_id)
        else:
            heading = str(Notification.Kind(row.kind).label).capitalize()
            slot = ("kind", row.kind)
        groups.setdefault(slot, Group(heading)).notifications.append(row)
    return list(groups.values())


def for_you(person: User, day: date) -> list[Recommendation]:
    """The recommender's top papers of its latest day for the person, if recent."""
    recent = Recommendation.objects.filter(person=person, day__gte=day - FOR_YOU_MAX_AGE, day__lte=day)
    latest = recent.order_by("-day").values_list("day", flat=True).first()
    if latest is None:
        return []
    return list(Recommendation.objects.for_day(person, latest).select_related("paper")[:FOR_YOU_COUNT])


def build_message(person: User, rows: list[Notification], *, day: date, key: str) -> Message:
    groups = group(rows)
    papers = {row.paper_id for row in rows}
    context = {
        "person": person,
        "day": day,
        "groups": groups,
        "for_you": for_you(person, day),
        "site_url": settings.SITE_URL,
        "count": len(papers),
    }
    subject = ngettext(
        "Your papers for %(day)s: %(count)d match",
        "Your papers for %(day)s: %(count)d matches",
        len(papers),
    ) % {"day": date_format(day, "DATE_FORMAT"), "count": len(papers)}
    return Message(
        subject=subject,
        dedupe_key=key,
        text=render_to_string("papers/email/digest.txt", context),
        html=render_to_string("papers/email/digest.html", context),
    )
