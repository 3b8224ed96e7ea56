"""The one way a seminar message leaves the portal.

Every notice (reminders, change notices, promotions, speaker invitations, TBA notices) goes
through `send_notice`, which renders its templates in each reader's language and zone and hands
the message to lab_portal.notify: a person gets it on the channels they chose, an outside speaker
by e-mail at their bare address. Each notice names a `key` for the event, so every channel gets
it at most once however often the caller runs, and each sending is a Delivery row.
"""

import logging
import zoneinfo
from collections.abc import Iterable

from django.conf import settings
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from lab_portal.channels import SUBJECT_CAP, clip
from lab_portal.models import User
from lab_portal.notify import Message, notify, notify_outside

log = logging.getLogger(__name__)


def _plain_text(name: str, context: dict) -> str:
    # A text body is not HTML: "<" stays "<", so it is rendered without autoescaping.
    return get_template(name).template.render(Context(context, autoescape=False))


def render_notice(
    recipient: User | str,
    subject,
    template_name: str,
    context: dict,
    *,
    key: str,
    attachments: list[list[str]] | None = None,
    secrets: list[str] | None = None,
) -> Message:
    """`<template_name>.txt` and `.html` as a Message, in the recipient's language and zone (the
    lab's for an outside address). The HTML part is autoescaped; the text part is not.
    `attachments` go with the e-mail only (a talk's .ics); `secrets` are removed from the
    Delivery row once it is closed (a speaker link's token)."""
    person = recipient if isinstance(recipient, User) else None
    language = person.language if person else settings.LANGUAGE_CODE
    zone = zoneinfo.ZoneInfo(person.timezone if person else settings.TIME_ZONE)
    with translation.override(language), timezone.override(zone):
        full = {**context, "recipient": recipient, "site_url": settings.SITE_URL}
        return Message(
            subject=clip(" ".join(str(subject).split()), SUBJECT_CAP),
            dedupe_key=f"seminars:{key}",
            text=_plain_text(f"{template_name}.txt", full),
            html=render_to_string(f"{template_name}.html", full),
            attachments=list(attachments or []),
            secrets=list(secrets or []),
        )


def send_notice(
    recipients: Iterable[User | str],
    subject,
    template_name: str,
    context: dict,
    *,
    key: str,
    attachments: list[list[str]] | None = None,
    secrets: list[str] | None = None,
) -> int:
    """Queue the notice for each recipient on their own; return how many it is queued for.

    A recipient is a person or a bare e-mail address (an outside speaker). `key` names the event
    (a reminder row, an invitation's link): with the same key, a second call queues nothing new
    and still counts the recipient, so a retried task is safe. People without an account address
    and no channel, and empty addresses, are skipped.
    """
    queued = 0
    for recipient in recipients:
        person = recipient if isinstance(recipient, User) else None
        if person is None and not recipient:
            continue
        if person is not None and not person.email and not person.channels.enabled().exists():
            log.info("%s has no address and no channel; notice %s not sent", person, template_name)
            continue
        message = render_notice(
            recipient, subject, template_name, context, key=key, attachments=attachments, secrets=secrets
        )
        if person is not None:
            notify(person, message)
        else:
            notify_outside(recipient, message)
        queued += 1
    return queued
