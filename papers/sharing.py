"""Sharing a paper with the lab, teams or chosen people.

A share goes to the whole lab, teams or chosen people (and anyone its note @mentions), pushed at
once (lab_portal.notify, after the commit).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lab_portal.mentions import mentioned_people
from lab_portal.models import User
from lab_portal.notify import Message, notify, notify_lab

from .items import paper_item
from .models import Notification, Paper, Share

# The same person sharing the same paper again within this long is the same share.
SHARE_AGAIN_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Recipients:
    """Who a share goes to: the whole lab (its group chats, the Lab page and its feed), teams
    (each active member), chosen people; any mix of them."""

    lab: bool = False
    teams: tuple = ()
    people: tuple = ()

    def __bool__(self) -> bool:
        return bool(self.lab or self.teams or self.people)

    @classmethod
    def of(cls, share: Share, *, people=None) -> "Recipients":
        people = share.recipients.all() if people is None else people
        return cls(lab=share.to_lab, teams=tuple(share.teams.all()), people=tuple(people))

    @property
    def label(self) -> str:
        """Whom the share goes to, in words of the active language: "the lab, Vision, Taeho Yoon"."""
        names = ([_("the lab")] if self.lab else []) + [str(team) for team in self.teams]
        return ", ".join(names + [person.name for person in self.people])

    def same_as(self, other: "Recipients") -> bool:
        def key(chosen: Recipients) -> tuple:
            return chosen.lab, {team.pk for team in chosen.teams}, {person.pk for person in chosen.people}

        return key(self) == key(other)


def last_recipients(person) -> Recipients:
    """Whom `person` shared with last time (those still in the lab), or the whole lab."""
    last = (
        Share.objects.filter(person=person)
        .order_by("-created_at", "-pk")
        .prefetch_related("teams", Prefetch("recipients", queryset=_lab_members()))
        .first()
    )
    chosen = Recipients.of(last) if last is not None else None
    return chosen or Recipients(lab=True)


def _lab_members():
    return User.objects.active()


def share_paper(paper: Paper, *, sharer, note: str, recipients: Recipients | None = None) -> Share:
    """Tell `recipients` (by default whom `sharer` chose last time) about `paper`, with a note.

    Each person told (the chosen people, the teams' members and anyone the note @mentions, but
    never the sharer) gets a Notification and one message on their own channels, in their own
    language; the lab gets one message on its group channels. All after the commit. This is
    the one way to share: the paper page, the feed and a chat button all call it.
    """
    recipients = recipients if recipients is not None else last_recipients(sharer)
    if not recipients:
        raise ValueError("A share goes to the lab, a team or a person.")
    with transaction.atomic():
        # A double click, or the same share sent twice in a row, reaches everyone once.
        Paper.objects.select_for_update().filter(pk=paper.pk).exists()
        since = timezone.now() - SHARE_AGAIN_AFTER
        recent = Share.objects.filter(paper=paper, person=sharer, created_at__gte=since)
        for again in recent.prefetch_related("teams", "recipients"):
            if Recipients.of(again).same_as(recipients):
                return again
        share = Share.objects.create(paper=paper, person=sharer, note=note.strip(), to_lab=recipients.lab)
        share.teams.set(recipients.teams)
        share.recipients.set(recipients.people)
        _tell_people(share, recipients)
        if recipients.lab:
            with translation.override(settings.LANGUAGE_CODE):  # the lab's chats read the lab's language
                item = paper_item(paper, why=_shared_by(share))
                subject = _("%(name)s shared a paper with the lab") % {"name": sharer.name}
            notify_lab(Message(subject=subject, dedupe_key=f"share:{share.pk}", items=[item]))
    return share


def _shared_by(share: Share) -> str:
    why = _("Shared by %(name)s") % {"name": share.person.name}
    return f"{why}: {share.note}" if share.note else why


def _tell_people(share: Share, recipients: Recipients) -> None:
    chosen = {person.pk for person in recipients.people}
    if recipients.teams:
        chosen.update(_lab_members().filter(team__in=recipients.teams).values_list("pk", flat=True))
    mentioned = {person.pk for person in mentioned_people(share.note, author=share.person)}
    people = _lab_members().filter(pk__in=chosen | mentioned).exclude(pk=share.person_id)
    notifications, messages = [], []
    for person in people:
        with translation.override(person.language):
            why = _shared_by(share)
            if person.pk in chosen:
                subject = _("%(name)s shared a paper with you") % {"name": share.person.name}
            else:
                subject = _("%(name)s mentioned you in a share") % {"name": share.person.name}
            item = paper_item(share.paper, why=why)
        notifications.append(
            Notification(
                person=person,
                paper=share.paper,
                kind=Notification.Kind.SHARE,
                share=share,
                version=share.paper.version,
                reason=why,
            )
        )
        messages.append(
            (person, Message(subject=subject, dedupe_key=f"share:{share.pk}:{person.pk}", items=[item]))
        )
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    for person, message in messages:
        notify(person, message)
