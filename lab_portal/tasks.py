import logging

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from . import chat, files, notify
from .models import Delivery

logger = logging.getLogger(__name__)


@shared_task(name="lab_portal.clear_expired_sessions")
def clear_expired_sessions() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    logger.info("Cleared %d expired sessions", deleted)
    return deleted


@shared_task(name="lab_portal.send_delivery", bind=True)
def send_delivery(self, *, delivery_id: int) -> str | None:
    """One attempt at one notification; a retry goes back on the queue this attempt came from."""
    delivery = notify.deliver(delivery_id)
    if delivery is None:
        logger.info("Delivery %s is not due, or another worker has it; nothing to do.", delivery_id)
        return None
    if delivery.state == Delivery.State.PENDING:
        # In-process runs ignore the countdown; the early call finds the row not yet due and
        # leaves it to the beat's dispatch.
        notify.schedule_retry(delivery, queue=(self.request.delivery_info or {}).get("routing_key"))
    return delivery.state


@shared_task(name="lab_portal.dispatch_deliveries")
def dispatch_deliveries() -> dict[str, int]:
    return notify.dispatch_due()


@shared_task(name="lab_portal.handle_telegram_update")
def handle_telegram_update(*, update_id: int) -> bool:
    """One stored Telegram update (lab_portal.chat); a second call for it does nothing."""
    return chat.handle(update_id)


@shared_task(name="lab_portal.handle_waiting_updates")
def handle_waiting_updates() -> dict[str, int]:
    return chat.handle_waiting()


@shared_task(name="lab_portal.sweep_orphan_files")
def sweep_orphan_files() -> int:
    removed = files.sweep_orphans()
    logger.info("Removed %d uploaded files no row names", removed)
    return removed
