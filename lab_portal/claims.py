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


def claim(model, pk: int, now: datetime) -> bool:
    """Take row `pk` for this worker; False when another worker has it or it is done."""
    return bool(model.objects.filter(PENDING, pk=pk).update(claimed_at=now, attempts=F("attempts") + 1))


def give_up_lost(model, now: datetime, *, reason: str) -> int:
    """Close the rows whose worker died while sending them; returns how many."""
    lease = timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    return model.objects.filter(
        claimed_at__lt=now - lease, sent_at__isnull=True, skipped_at__isnull=True
    ).update(skipped_at=now, error=reason)
