"""Rows that a periodic task claims before sending: the reminders of talks and of reviews.

A row is pending while its `claimed_at`, `sent_at` and `skipped_at` are all empty. A worker takes
it with a conditional UPDATE (claimed_at NULL -> now), so of two workers looking at the same row
exactly one goes on to send it. A row claimed longer ago than NOTIFY_LEASE_SECONDS and neither
sent nor skipped lost its worker, perhaps after the message left: it is given up, never resent,
because one reminder missing is better than one received twice.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

PENDING = Q(claimed_at__isnull=True, sent_at__isnull=True, skipped_at__isnull=True)
BATCH = 100


def claim(model, pk: int, now: datetime) -> bool:
    """Take row `pk` for this worker; False when another worker has it or it is done."""
    return bool(model.objects.filter(PENDING, pk=pk).update(claimed_at=now, attempts=F("attempts") + 1))


def give_up_lost(model, now: datetime, *, reason: str) -> int:
    """Close the rows whose worker died while sending them; returns how many."""
    lease = timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    return model.objects.filter(
        claimed_at__lt=now - lease, sent_at__isnull=True, skipped_at__isnull=True
    ).update(skipped_at=now, error=reason)


def send_due(rows, now: datetime, send, *, lost: str) -> int:
    """Give up the rows whose worker died (`lost` says why), then claim every pending row that
    is due, oldest first, read it through `rows` (the model's queryset with what `send` needs)
    and `send(row, now)`; returns how many `send` reported sent. Every row taken leaves the
    pending set (sent, skipped, or given back for later), so the loop ends."""
    model = rows.model
    give_up_lost(model, now, reason=lost)
    due = model.objects.filter(PENDING, due_at__lte=now).order_by("due_at", "pk")
    sent = 0
    while pks := list(due.values_list("pk", flat=True)[:BATCH]):
        for pk in pks:
            if not claim(model, pk, now):
                continue  # another worker has it
            row = rows.filter(pk=pk).first()
            if row is not None:  # None: its talk or assignment, and so the row, was deleted meanwhile
                sent += send(row, now)
    return sent
