"""Thin Celery tasks: the work is in reminders.py and publications.py."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="reviews.send_reminders")
def send_reminders() -> int:
    """Every five minutes from beat: write the review reminders that have fallen due, then claim
    and send them. Two workers at once send each reminder once."""
    from .reminders import send_review_reminders

    sent = send_review_reminders()
    if sent:
        logger.info("Sent %d review reminders", sent)
    return sent


@shared_task(name="reviews.link_publications")
def link_publications() -> int:
    """Hourly: link accepted drafts to their arXiv paper once it has been fetched."""
    from .publications import link_accepted_drafts

    return len(link_accepted_drafts())
