"""The one way a seminar message leaves the portal.

Every notice (reminders, change notices, promotions, invitations) goes through `send_notice`:
an e-mail to each recipient, and for notices that name a `chat_key`, the same text on the
person's chat channels (Telegram, Slack) through lab_portal.notify, which sends each key once.
"""

import logging
import zoneinfo
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from lab_portal.models import Channel, User
from lab_portal.notify import Message, notify

log = logging.getLogger(__name__)


def _address(recipient: User | str) -> str:
    return recipient.email if isinstance(recipient, User) else recipient


def _plain_text(name: str, context: dict) -> str:
    # A text body is not HTML: "<" stays "<", so it is rendered without autoescaping.
    return get_template(name).template.render(Context(context, autoescape=False))


def send_notice(
    recipients: Iterable[User | str], subject, template_name: str, context: dict, *, chat_key: str = ""
) -> int:
    """Send `<template_name>.txt` (and `.html`) to each recipient on their own; return how many went.

    The text part is rendered without HTML escaping, the HTML part with it.

    A recipient is a person or a bare e-mail address (an outside speaker). A person reads the
    message in their own language and time zone; people without an address are skipped. A
    sending error propagates, so the task calling this can retry.

    With a `chat_key` (unique to this notice and recipient, such as a reminder row's id), a person
    also gets the text on their chat channels; a retry with the same key queues nothing new.
    """
    sent = 0
    for recipient in recipients:
        address = _address(recipient)
        if not address:
            log.info("No e-mail address for %s; notice %s not sent", recipient, template_name)
            continue
        person = recipient if isinstance(recipient, User) else None
        language = person.language if person else settings.LANGUAGE_CODE
        zone = zoneinfo.ZoneInfo(person.timezone if person else settings.TIME_ZONE)
        with translation.override(language), timezone.override(zone):
            full = {**context, "recipient": recipient, "site_url": settings.SITE_URL}
            message = EmailMultiAlternatives(
                subject=" ".join(str(subject).split()),
                body=_plain_text(f"{template_name}.txt", full),
                to=[address],
            )
            message.attach_alternative(render_to_string(f"{template_name}.html", full), "text/html")
        message.send()
        sent += 1
        if person and chat_key:
            chat = Message(subject=message.subject, text=message.body, dedupe_key=f"seminars:{chat_key}")
            notify(person, chat, kinds=[Channel.Kind.TELEGRAM, Channel.Kind.SLACK])
    return sent
