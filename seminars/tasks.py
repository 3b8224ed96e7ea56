import logging

from celery import shared_task
from django.utils import timezone

from .reminders import plan_reminders, send_due_reminders

logger = logging.getLogger(__name__)


@shared_task(name="seminars.send_reminders")
def send_reminders() -> int:
    """Every minute from beat, and right after a talk changes: write the reminders that have
    fallen due, then claim and send whatever is due. Two at once send each message once."""
    now = timezone.now()
    plan_reminders(now=now)
    sent = send_due_reminders(now=now)
    if sent:
        logger.info("Sent %d seminar reminders and notices", sent)
    return sent


@shared_task(name="seminars.announce")
def announce() -> dict:
    """Hourly: the Monday post of the week's talks, and reminders of action items due tomorrow."""
    from .announcements import post_week, remind_action_items

    now = timezone.now()
    return {"week_posted": post_week(now=now), "items_reminded": remind_action_items(now=now)}


@shared_task(name="seminars.extend_series")
def extend_series() -> int:
    """Daily: keep every active series scheduled twelve weeks ahead."""
    from .services import extend_active_series

    return sum(len(generated.created) for generated in extend_active_series(weeks=12).values())


# Speakers. The service module is imported in each task: it enqueues these tasks itself.
# They only queue deliveries: a mail server that is down is lab_portal.notify's to retry.


@shared_task(name="seminars.send_speaker_invitation")
def send_speaker_invitation(*, invitation_id: int) -> bool:
    from .invitations import send_invitation

    sent = send_invitation(invitation_id)
    if not sent:
        logger.info("Speaker invitation %s was revoked or has expired; not sent.", invitation_id)
    return sent


@shared_task(name="seminars.tell_host_speaker_submitted")
def tell_host_speaker_submitted(*, talk_id: int, first: bool, at: str = "") -> int:
    from .invitations import tell_host

    return tell_host(talk_id, first=first, at=at)


@shared_task(name="seminars.tell_promoted")
def tell_promoted(*, registration_id: int) -> bool:
    from .registration import tell_promoted

    return tell_promoted(registration_id)


@shared_task(name="seminars.tell_signed_up")
def tell_signed_up(*, registration_id: int) -> bool:
    from .registration import tell_signed_up

    return tell_signed_up(registration_id)


@shared_task(name="seminars.flag_tba_talks")
def flag_tba_talks() -> int:
    """Hourly from beat: a host whose talk is still titled TBA a week ahead is told once."""
    from .invitations import flag_tba_talks as flag

    flagged = flag()
    if flagged:
        logger.info("Told the hosts of %d talks still titled TBA", flagged)
    return flagged
