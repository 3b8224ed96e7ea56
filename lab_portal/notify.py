"""Notifications: the portal's one way to tell people something, on the channels they chose.

Other code calls:

    from lab_portal.notify import Item, Message, notify, notify_lab

    notify(person_or_team, Message(subject=..., dedupe_key=..., text=..., items=[Item(...)]))
    notify_lab(Message(...))
    notify_address(person, address, Message(...))  # one mail to an address not yet theirs
    notify_outside(address, Message(...))  # someone without an account: a guest speaker

Each call writes one Delivery row per enabled channel and sends them after the transaction
commits. The row is keyed by (channel, dedupe_key), so a second call with the same key queues
nothing: choose keys that name the event, such as f"match:{rule.pk}:{paper.arxiv_id}v{version}",
f"digest:{person.pk}:{day}" or f"talk:{talk.uid}:reminder:24h".

Chat channels also get `notify_channel` (one chat: an answer to a command, a hint),
`post_to_chats` (the morning post: each channel's new items, best first, top N, split as the
service needs), `reply_in_chats` (a comment under a paper's message in the lab's groups) and
`edit_in_chats` (an edit that follows). Each chat message's items are recorded as ChatItem
rows, so a reply or a button press maps back to what it is about, and a channel never carries
the same paper twice in one day's posts.

Sending is at most once. An attempt first claims its row (pending → sending, in one conditional
UPDATE), then makes its one request, then records the answer. Whenever nobody can tell whether
the message arrived, the row is closed as "outcome unknown" and never resent by the beat:
Telegram, Slack and SMTP have no idempotency key to ask with, and a second try would risk a
duplicate in a chat the whole lab reads. That happens when the request went out and no answer
came back (a read timeout, a connection dropped after the request was written: see
lab_portal.channels), and when the worker died between the request and the record (its lease
runs out). The person sees such rows on their channel page and an admin may send one again by
hand. A send refused before it left (connection refused, a 429, a 5xx with an answer) is tried
again. Everything the worker had not yet claimed is still pending and goes out once when the
batch runs again; everything marked sent stays sent.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import channels
from .channels import Item, Message
from .models import Channel, ChatItem, Delivery, Team, User, without_secrets

__all__ = [
    "Item",
    "Message",
    "edit_in_chats",
    "notify",
    "notify_address",
    "notify_channel",
    "notify_each",
    "notify_lab",
    "notify_outside",
    "post_to_chats",
    "reply_in_chats",
]

logger = logging.getLogger(__name__)

DISPATCH_BATCH = 500
LOST = "Outcome unknown: the worker stopped while sending. Not resent, so it cannot arrive twice."
CHAT_KINDS = (Channel.Kind.TELEGRAM, Channel.Kind.SLACK)


def notify(recipient: User | Team, message: Message, *, kinds: Iterable[str] | None = None) -> list[Delivery]:
    """Queue `message` on each enabled channel of a person or a team (only `kinds`, if given).

    A person without any channel at all gets e-mail at their profile address. Returns the
    deliveries created now; channels that already have `message.dedupe_key` are left alone.
    """
    return notify_each([(recipient, message)], kinds=kinds)


def notify_each(
    messages: Iterable[tuple[User | Team, Message]], *, kinds: Iterable[str] | None = None
) -> list[Delivery]:
    """`notify` for many (recipient, message) pairs at once, in a few statements whatever their
    number: publishing a review round tells each of its reviewers."""
    messages = list(messages)
    for _recipient, message in messages:
        _check(message)
    kinds = set(kinds) if kinds is not None else set(Channel.Kind.values)
    people = {r.pk: r for r, _message in messages if isinstance(r, User)}
    teams = {r.pk for r, _message in messages if isinstance(r, Team)}
    if Channel.Kind.EMAIL in kinds and people:
        reached = set(Channel.objects.filter(person__in=people).values_list("person_id", flat=True))
        # Their own e-mail channel (Channel.objects.own_email), made for all of them in one go.
        missing = [people[pk] for pk in people.keys() - reached]
        Channel.objects.bulk_create(
            [Channel(person=person, kind=Channel.Kind.EMAIL, target="") for person in missing],
            ignore_conflicts=True,
        )
    owned = Channel.objects.filter(models.Q(person__in=people) | models.Q(team__in=teams))
    targets: dict[tuple[str, int], list[Channel]] = defaultdict(list)
    for channel in owned.enabled().filter(kind__in=kinds):
        if channel.person_id in people:
            targets["person", channel.person_id].append(channel)
        if channel.team_id in teams:
            targets["team", channel.team_id].append(channel)
    return _queue_each(
        [
            (channel, message)
            for recipient, message in messages
            for channel in targets["team" if isinstance(recipient, Team) else "person", recipient.pk]
        ]
    )


def notify_lab(message: Message, *, kinds: Iterable[str] | None = None) -> list[Delivery]:
    """Queue `message` on the lab's group channels: those set in the environment
    (TELEGRAM_LAB_CHAT_ID, SLACK_LAB_WEBHOOK_URL) and those added in the admin site."""
    configured = [
        (Channel.Kind.TELEGRAM, settings.TELEGRAM_LAB_CHAT_ID),
        (Channel.Kind.SLACK, settings.SLACK_LAB_WEBHOOK_URL),
    ]
    for kind, target in configured:
        if target and not Channel.objects.for_lab().filter(kind=kind, target=target).exists():
            try:
                with transaction.atomic():
                    Channel.objects.create(kind=kind, target=target)
            except IntegrityError:
                pass  # another process added it first
    targets = Channel.objects.for_lab().enabled()
    if kinds is not None:
        targets = targets.filter(kind__in=set(kinds))
    return _queue(targets, message)


def notify_address(person: User, address: str, message: Message) -> Delivery | None:
    """Queue one e-mail to `address`, which is not (yet) the person's: the link that confirms a
    new address. It is recorded, and sent once, on the person's own e-mail channel (the one that
    follows their profile address, and carries their morning digest); only this delivery goes to
    `address`. None when the key was used already."""
    channel = Channel.objects.own_email(person)
    payload = {**message.as_payload(), "to": address}
    with transaction.atomic():
        delivery, new = Delivery.objects.get_or_create(
            channel=channel, dedupe_key=message.dedupe_key, defaults={"payload": payload}
        )
        if new:
            _enqueue(delivery.pk)
    return delivery if new else None


def notify_outside(address: str, message: Message) -> Delivery | None:
    """Queue one e-mail to someone without an account (a guest speaker), in the lab's language.

    The address gets a channel of its own, marked outside the lab: its deliveries are recorded
    and sent at most once like everyone's, and it never receives what goes to the lab's channels.
    None when the address already has `message.dedupe_key`."""
    address = address.strip().lower()
    if not address:
        raise ValueError("An outside message needs an address.")
    try:
        with transaction.atomic():
            channel, _created = Channel.objects.get_or_create(
                outside=True, kind=Channel.Kind.EMAIL, target=address
            )
    except IntegrityError:  # another worker added the address first
        channel = Channel.objects.get(outside=True, kind=Channel.Kind.EMAIL, target=address)
    created = _queue([channel], message)
    return created[0] if created else None


def _check(message: Message) -> None:
    if not message.dedupe_key or len(message.dedupe_key) > 255:
        raise ValueError("A message needs a dedupe_key of 1 to 255 characters.")
    if not message.subject.strip():
        raise ValueError("A message needs a subject.")


def _queue(targets, message: Message) -> list[Delivery]:
    _check(message)
    return _queue_each([(channel, message) for channel in targets])


def _queue_each(pairs: list[tuple[Channel, Message]]) -> list[Delivery]:
    """One Delivery per (channel, message) whose channel does not have the message's key yet,
    queued to be sent after the transaction commits."""
    wanted: dict[tuple[int, str], tuple[Channel, Message]] = {}
    for channel, message in pairs:
        wanted.setdefault((channel.pk, message.dedupe_key), (channel, message))
    if not wanted:
        return []
    payloads: dict[int, dict] = {}
    rows = []
    with transaction.atomic():
        existing = set(
            Delivery.objects.filter(
                channel__in={pk for pk, _key in wanted}, dedupe_key__in={key for _pk, key in wanted}
            ).values_list("channel_id", "dedupe_key")
        )
        for pair, (channel, message) in wanted.items():
            if pair not in existing:
                if id(message) not in payloads:
                    payloads[id(message)] = message.as_payload()
                payload = payloads[id(message)]
                # Attachments are e-mail's alone: a chat row does not keep a copy it never sends.
                kept = {**payload, "attachments": []} if channel.kind in CHAT_KINDS else payload
                rows.append(Delivery(channel=channel, dedupe_key=message.dedupe_key, payload=kept))
        try:
            with transaction.atomic():
                created = Delivery.objects.bulk_create(rows)
        except IntegrityError:  # another process queued one of them meanwhile: theirs is kept
            created = [row for row in rows if _create(row)]
        ChatItem.objects.bulk_create(
            [item for row in created for item in _items(row, wanted[row.channel_id, row.dedupe_key][1])]
        )
        for row in created:
            _enqueue(row.pk)
    return created


def _create(row: Delivery) -> bool:
    delivery, new = Delivery.objects.get_or_create(
        channel=row.channel, dedupe_key=row.dedupe_key, defaults={"payload": row.payload}
    )
    row.pk = delivery.pk
    return new


def _items(delivery: Delivery, message: Message) -> list[ChatItem]:
    """What a chat message carries: what replies and buttons under it are about, and what its
    channel has had. Telegram's message id is added when it answers."""
    channel = delivery.channel
    if channel.kind not in CHAT_KINDS or message.edits:
        return []
    refs = (
        [message.ref] if message.ref else list(dict.fromkeys(item.ref for item in message.items if item.ref))
    )
    chat_id = channel.target if channel.kind == Channel.Kind.TELEGRAM else ""
    return [
        ChatItem(channel=channel, delivery=delivery, ref=ref, sole=len(refs) == 1, chat_id=chat_id)
        for ref in refs
    ]


def notify_channel(channel: Channel, message: Message) -> Delivery | None:
    """Queue `message` on this one channel (an answer in the chat that asked, a hint); None when
    the channel already has `message.dedupe_key`."""
    created = _queue([channel], message)
    return created[0] if created else None


def post_to_chats(owner: User | Team, message: Message, *, limit: int, since: datetime) -> list[Delivery]:
    """One post of `message.items` (best first) on each enabled chat channel of `owner`.

    Each channel leaves out the items it already carries since `since` (an urgent push of the
    same paper), keeps the first `limit` and counts the rest in "and N more" (a link to
    `message.url`), and is split between items where the service needs it. The parts are keyed
    `<dedupe_key>#1`, `#2`, ...: a channel that has part one of a post never gets it again."""
    created = []
    refs = [item.ref for item in message.items if item.ref]
    for channel in Channel.objects.owned_by(owner).enabled().filter(kind__in=CHAT_KINDS):
        with transaction.atomic():
            # Two workers posting at once queue one post: the second waits here, then finds it.
            Channel.objects.select_for_update().filter(pk=channel.pk).exists()
            if Delivery.objects.filter(channel=channel, dedupe_key=f"{message.dedupe_key}#1").exists():
                continue
            carried = set(
                ChatItem.objects.standing()
                .filter(channel=channel, ref__in=refs, created_at__gte=since)
                .values_list("ref", flat=True)
            )
            items = [item for item in message.items if not item.ref or item.ref not in carried]
            if not items:
                continue
            post = replace(message, items=items[:limit], more=message.more + max(0, len(items) - limit))
            with translation.override(channel.language):
                parts = channels.split(post, kind=channel.kind)
            for number, part in enumerate(parts, start=1):
                created += _queue([channel], replace(part, dedupe_key=f"{message.dedupe_key}#{number}"))
    return created


def reply_in_chats(*, about: list[str], message: Message, skip_chat: str = "") -> list[Delivery]:
    """Post `message` in every linked group that has a message about one of `about` (refs, the
    first preferred), as a reply under the latest such message; never in `skip_chat`, where
    the thing being told came from."""
    rows = (
        ChatItem.objects.filter(ref__in=about, sole=True, message_id__isnull=False)
        .filter(channel__in=Channel.objects.group_chats().enabled().filter(person__isnull=True))
        .exclude(chat_id=skip_chat)
        .select_related("channel")
        .order_by("-message_id")
    )
    best: dict[str, ChatItem] = {}
    for row in rows:
        held = best.get(row.chat_id)
        if held is None or about.index(row.ref) < about.index(held.ref):
            best[row.chat_id] = row
    created = []
    for row in best.values():
        created += _queue([row.channel], replace(message, reply_to=row.message_id))
    return created


def edit_in_chats(*, ref: str, message: Message) -> list[Delivery]:
    """Rewrite every Telegram message the portal sent about `ref` (a comment that was edited).
    Each edit is a delivery of its own; an older one that is still waiting gives way to a newer."""
    channel_ids = set(
        ChatItem.objects.standing()
        .filter(ref=ref, delivery__isnull=False, channel__kind=Channel.Kind.TELEGRAM)
        .values_list("channel_id", flat=True)
    )
    key = f"edit:{ref}:{int(timezone.now().timestamp() * 1000)}"
    return _queue(Channel.objects.filter(pk__in=channel_ids), replace(message, dedupe_key=key, edits=ref))


def _enqueue(delivery_id: int, *, countdown: float | None = None, queue: str | None = None) -> None:
    from .tasks import send_delivery  # the task module imports this one

    options = {"countdown": countdown, "queue": queue} if queue else {"countdown": countdown}
    transaction.on_commit(lambda: send_delivery.apply_async(kwargs={"delivery_id": delivery_id}, **options))


def schedule_retry(delivery: Delivery, *, queue: str | None = None) -> None:
    """Queue the next attempt of a pending delivery for the moment it is due."""
    wait = max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds())
    _enqueue(delivery.pk, countdown=wait, queue=queue)


def deliver(delivery_id: int) -> Delivery | None:
    """One attempt at one delivery. None when it is not due, or another worker has it."""
    attempt = Delivery.objects.claim(delivery_id)
    if attempt is None:
        return None
    delivery = Delivery.objects.select_related("channel__person", "channel__team").get(pk=delivery_id)
    # What is recorded is read by the channel's owner: in their language.
    with translation.override(delivery.channel.language):
        _attempt(delivery, attempt=attempt)
    return delivery


def _attempt(delivery: Delivery, *, attempt: int) -> None:
    channel = delivery.channel
    try:
        message = Message.from_payload(delivery.payload)
        edit_id = None
        if message.edits:
            if _superseded(delivery, message.edits):
                delivery.finish(
                    attempt=attempt, state=Delivery.State.SENT, response=_("Replaced by a later edit")
                )
                return
            edit_id = _message_to_edit(channel, message.edits)
        sent = channels.send(
            channel,
            message,
            key=f"{delivery.pk}:{delivery.dedupe_key}",
            address=delivery.payload.get("to", ""),
            edit_message_id=edit_id,
        )
    except channels.ChatMigrated as moved:
        try:
            with transaction.atomic():
                Channel.objects.filter(pk=channel.pk).update(target=moved.chat_id)
        except IntegrityError:  # the owner already has a channel for the new chat
            _fail(delivery, attempt=attempt, error=str(moved))
        else:
            now = timezone.now()
            delivery.finish(attempt=attempt, state=Delivery.State.PENDING, response=str(moved), retry_at=now)
    except channels.TemporaryError as error:
        _retry_or_fail(delivery, attempt=attempt, error=error)
    except channels.OutcomeUnknown as error:
        delivery.finish(attempt=attempt, state=Delivery.State.UNKNOWN, response=str(error))
        logger.warning("Delivery %s: %s", delivery.pk, error)
    except channels.PermanentError as error:
        _fail(delivery, attempt=attempt, error=str(error))
    except Exception as error:
        # A bug of ours: close the row (nothing was sent, or it is unknowable) and let it be logged.
        delivery.finish(attempt=attempt, state=Delivery.State.FAILED, response=f"Internal error: {error!r}")
        raise
    else:
        now = timezone.now()
        if sent.message_id and not message.edits:
            # Recorded even if this attempt lost its claim meanwhile: the message is in the chat.
            ChatItem.objects.filter(delivery=delivery).update(message_id=sent.message_id)
        finished = delivery.finish(attempt=attempt, state=Delivery.State.SENT, response=sent.response)
        if finished and not delivery.payload.get("to"):
            Channel.objects.filter(pk=channel.pk).update(last_sent_at=now, last_error="", last_error_at=None)


def _superseded(delivery: Delivery, ref: str) -> bool:
    return Delivery.objects.filter(
        channel_id=delivery.channel_id, dedupe_key__startswith=f"edit:{ref}:", pk__gt=delivery.pk
    ).exists()


def _message_to_edit(channel: Channel, ref: str) -> int:
    original = (
        ChatItem.objects.filter(channel=channel, ref=ref, delivery__isnull=False)
        .select_related("delivery")
        .order_by("-pk")
        .first()
    )
    if original is not None and original.message_id:
        return original.message_id
    if original is not None and original.delivery.state in (Delivery.State.PENDING, Delivery.State.SENDING):
        raise channels.TemporaryError(_("The message to edit is not sent yet."))
    raise channels.PermanentError(_("The message to edit never reached the chat."))


def _retry_or_fail(delivery: Delivery, *, attempt: int, error: channels.TemporaryError) -> None:
    if attempt >= settings.NOTIFY_MAX_ATTEMPTS:
        given_up = _("Gave up after %(count)d attempts: %(error)s") % {"count": attempt, "error": error}
        _fail(delivery, attempt=attempt, error=given_up)
        return
    if error.retry_after is not None:
        wait = error.retry_after  # what the service asked for, to the second
    else:
        wait = settings.NOTIFY_RETRY_BACKOFF * 2 ** (attempt - 1)
    retry_at = timezone.now() + timedelta(seconds=wait)
    delivery.finish(attempt=attempt, state=Delivery.State.PENDING, response=str(error), retry_at=retry_at)
    logger.info("Delivery %s: %s; retrying in %.1f s", delivery.pk, error, wait)


def _fail(delivery: Delivery, *, attempt: int, error: str) -> None:
    failed = delivery.finish(attempt=attempt, state=Delivery.State.FAILED, response=error)
    # A message to another address (notify_address) says nothing about the channel's own.
    if failed and not delivery.payload.get("to"):
        # Shown on the owner's channel settings until a message gets through again.
        Channel.objects.filter(pk=delivery.channel_id).update(
            last_error=error[:2000], last_error_at=timezone.now()
        )
    logger.warning("Delivery %s failed: %s", delivery.pk, error)


def dispatch_due() -> dict[str, int]:
    """The beat's safety net; safe to run any number of times, and at once on several workers.

    Rows a dead worker left in `sending` past their lease are closed as "outcome unknown" (see
    the module's note on at most once). Pending rows long past their time lost their task message and are
    sent again; touching `next_attempt_at` first keeps the next run from queueing them twice.
    """
    expired = list(Delivery.objects.lease_expired().values_list("pk", flat=True))
    lost = (
        Delivery.objects.lease_expired()
        .filter(pk__in=expired)
        .update(state=Delivery.State.UNKNOWN, response=LOST, leased_until=None)
    )
    _remove_secrets(expired)
    now = timezone.now()
    overdue = list(
        Delivery.objects.overdue(now - timedelta(seconds=settings.NOTIFY_STUCK_AFTER_SECONDS))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:DISPATCH_BATCH]
    )
    Delivery.objects.filter(pk__in=overdue, state=Delivery.State.PENDING).update(next_attempt_at=now)
    for pk in overdue:
        _enqueue(pk)
    if lost or overdue:
        logger.info("Deliveries: %d closed after a lost worker, %d sent again", lost, len(overdue))
    return {"lost": lost, "dispatched": len(overdue)}


def _remove_secrets(pks: list[int]) -> None:
    # Rows closed by a bulk UPDATE: those that carried secrets are few, each rewritten on its own.
    closed = Delivery.objects.filter(pk__in=pks, state__in=Delivery.CLOSED, payload__has_key="secrets")
    for delivery in closed:
        Delivery.objects.filter(pk=delivery.pk).update(payload=without_secrets(delivery.payload))


def requeue(deliveries) -> int:
    """Give failed deliveries, or those of unknown outcome, one more attempt (the admin's action).
    Attempt numbers only grow, so a lost worker that wakes up can never record its outcome over
    the new attempt's. A delivery whose secrets were removed is not sent again: its link would
    no longer open anything, and whoever made it sends a new one."""
    closed = [Delivery.State.FAILED, Delivery.State.UNKNOWN]
    with transaction.atomic():
        pks = list(
            deliveries.filter(state__in=closed)
            .exclude(payload__has_key="redacted")
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=pks, state__in=closed).update(
            state=Delivery.State.PENDING, next_attempt_at=timezone.now()
        )
        for pk in pks:
            _enqueue(pk)
    return len(pks)


def send_test_message(channel: Channel) -> Delivery:
    """Queue a test message for a worker and note it on the channel, whose page then follows its
    state: no web request waits on the far side. Two clicks within ten seconds are one message:
    the key names the ten-second slot."""
    message = Message(
        subject=_("Test message from the Lab Portal"),
        dedupe_key=f"test:{int(timezone.now().timestamp()) // 10}",
        text=_("This channel works: the portal's messages will arrive here."),
        url=reverse("channels"),
    )
    with transaction.atomic():
        delivery, created = Delivery.objects.get_or_create(
            channel=channel, dedupe_key=message.dedupe_key, defaults={"payload": message.as_payload()}
        )
        if created:
            _enqueue(delivery.pk)
        Channel.objects.filter(pk=channel.pk).update(last_test=delivery)
    channel.last_test = delivery
    return delivery
