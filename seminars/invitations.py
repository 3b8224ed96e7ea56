"""Outside speakers fill in their own talk through a link, without an account.

The link's token is an HMAC, under the portal's secret key, of the invitation and a random salt
the row keeps; only the token's SHA-256 is stored, so a copy of the database opens nothing
without the key. The page finds the invitation by that hash, which a guesser cannot steer, so
the lookup's timing tells them nothing. The token is minted by the task that mails it and so
never travels through the broker or the task log, and the mail's Delivery row drops it once the
mail is sent (or given up); the talk's host and the leads see the same link
on the talk page, recomputed from the salt, to copy it to the speaker themselves. A link serves
one talk and works from its sending until SEMINAR_SPEAKER_LINK_DAYS_AFTER days after the talk
(after the talk's current end, should it move), and dies when the host revokes it or sends a
new one. The
talk's details can be changed until it ends; after it, the link is for uploading slides and
reading the feedback given to the speaker, without the names of those who gave it.
"""

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.formats import date_format
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .calendars import location, talk_attachment
from .models import SpeakerInvitation, Talk
from .notices import send_notice

log = logging.getLogger(__name__)

# Checked against the file's first bytes, never its name or the browser's word for it.
PHOTO_TYPES = {"jpg": (b"\xff\xd8\xff", "image/jpeg"), "png": (b"\x89PNG\r\n\x1a\n", "image/png")}
TBA_NOTICE_AHEAD = timedelta(days=7)
SPEAKER_FIELDS = [
    "speaker_name",
    "speaker_affiliation",
    "title",
    "abstract",
    "speaker_bio",
    "speaker_homepage",
    "speaker_timezone",
    "recording_consent",
]


def days_after() -> timedelta:
    return timedelta(days=settings.SEMINAR_SPEAKER_LINK_DAYS_AFTER)


def photo_max_bytes() -> int:
    return settings.SEMINAR_PHOTO_MAX_BYTES


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token(invitation_id: int, salt: str) -> str:
    digest = salted_hmac("seminars.speaker-link", f"{invitation_id}:{salt}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _unguessable_hash() -> str:
    # The row needs a unique hash before its mail is sent; nobody ever holds this one's token.
    return hash_token(secrets.token_urlsafe(32))


def head(upload, size: int) -> bytes:
    upload.seek(0)
    start = upload.read(size)
    upload.seek(0)
    return start


def photo_kind(upload: UploadedFile) -> str:
    """The stored extension of an uploaded photo, or a ValidationError saying what is wrong."""
    limit = photo_max_bytes()
    if upload.size > limit:
        raise forms.ValidationError(
            _("The photo is larger than %(mb).1f MB; send a smaller one."), params={"mb": limit / 2**20}
        )
    start = head(upload, 8)
    for extension, (magic, _content_type) in PHOTO_TYPES.items():
        if start.startswith(magic):
            return extension
    raise forms.ValidationError(_("The photo must be a JPEG or PNG image."))


def photo_content_type(talk: Talk) -> str | None:
    """What to serve the stored photo as, read from its bytes; None when there is none to serve."""
    if not talk.speaker_photo:
        return None
    try:
        with talk.speaker_photo.open("rb") as photo:
            start = photo.read(8)
    except FileNotFoundError:
        return None
    return next((ctype for magic, ctype in PHOTO_TYPES.values() if start.startswith(magic)), None)


@dataclass
class LinkState:
    invitation: SpeakerInvitation
    expires_at: datetime
    live: bool
    url: str = ""  # filled in only for the host's panel (shareable_link)


def link_state(invitation: SpeakerInvitation, now: datetime | None = None) -> LinkState:
    """Whether a link works now: until the days after the talk are over, counted from the talk's
    current end (the row's `expires_at` records the end as it was at the sending)."""
    now = now or timezone.now()
    talk = invitation.talk
    expires_at = talk.ends_at + days_after()
    live = invitation.revoked_at is None and now < expires_at and not talk.is_cancelled
    return LinkState(invitation, expires_at, live)


def dead_link_reason(invitation: SpeakerInvitation, now: datetime | None = None) -> str:
    """What the speaker's page says about a link that no longer works."""
    now = now or timezone.now()
    if invitation.revoked_at:
        return _("This link was withdrawn: the host sent a newer one or cancelled the invitation.")
    if invitation.talk.is_cancelled:
        return _("This talk has been cancelled.")
    return _("This talk is over, and its link closed %(days)d days after it.") % {"days": days_after().days}


def find_invitation(talk_pk: int, token: str) -> SpeakerInvitation | None:
    """The invitation behind a link, only for the talk in that link."""
    if not 0 < talk_pk < 2**63:
        return None  # no talk has such a number, and SQLite refuses to look one up
    return (
        SpeakerInvitation.objects.select_related("talk", "talk__host")
        .filter(token_hash=hash_token(token), talk_id=talk_pk)
        .first()
    )


def latest_invitation(talk: Talk) -> SpeakerInvitation | None:
    return talk.invitations.order_by("-created_at", "-pk").first()


def link_url(talk: Talk, token: str) -> str:
    return settings.SITE_URL + reverse("seminars:speaker-form", args=[talk.pk, token])


def shareable_link(state: LinkState) -> str:
    """The live link as mailed, for the host to copy; empty while its mail has not gone out yet,
    and when the secret key changed since (the recomputed token would no longer open it)."""
    invitation = state.invitation
    if not (state.live and invitation.token_salt):
        return ""
    token = _token(invitation.pk, invitation.token_salt)
    if not secrets.compare_digest(hash_token(token), invitation.token_hash):
        return ""
    return link_url(invitation.talk, token)


def revoke_invitations(talk: Talk, *, now: datetime | None = None) -> int:
    return talk.invitations.filter(revoked_at__isnull=True).update(revoked_at=now or timezone.now())


def invite_speaker(talk: Talk, *, email: str, by) -> SpeakerInvitation:
    """Send the speaker a fresh link; any earlier link for this talk stops working."""
    from .tasks import send_speaker_invitation  # the tasks module imports this one

    now = timezone.now()
    with transaction.atomic():
        # Two hosts pressing "send" at once still leave one live link.
        Talk.objects.select_for_update().filter(pk=talk.pk).values_list("pk", flat=True).get()
        revoke_invitations(talk, now=now)
        invitation = SpeakerInvitation.objects.create(
            talk=talk,
            email=email,
            token_hash=_unguessable_hash(),
            created_by=by,
            created_at=now,
            expires_at=talk.ends_at + days_after(),
        )
        Talk.objects.filter(pk=talk.pk).update(speaker_email=email)
        talk.speaker_email = email
        send_speaker_invitation.delay_on_commit(invitation_id=invitation.pk)
    return invitation


def send_invitation(invitation_id: int) -> bool:
    """Mint the link's token once, store its hash and queue the mail; False if the invitation is dead.

    The salt is set only where none is (a conditional UPDATE), so a retried task mails the same
    link under the same key, which lab_portal.notify sends once; a link revoked in the meantime
    is never mailed.
    """
    salt = secrets.token_urlsafe(16)
    SpeakerInvitation.objects.filter(pk=invitation_id, token_salt="").update(
        token_hash=hash_token(_token(invitation_id, salt)), token_salt=salt
    )
    invitation = (
        SpeakerInvitation.objects.select_related("talk", "talk__host", "talk__room", "created_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not link_state(invitation).live:
        return False
    talk = invitation.talk
    token = _token(invitation.pk, invitation.token_salt)
    context = {
        "talk": talk,
        "link": link_url(talk, token),
        "expires_at": link_state(invitation).expires_at,
        "host": talk.host or invitation.created_by,
        "location": location(talk),
    }
    subject = format_lazy(_("Your talk at the lab on {day}: please confirm the details"), day=_talk_day(talk))
    key = f"speaker-invitation:{invitation.pk}:{invitation.token_salt}"
    send_notice(
        [invitation.email],
        subject,
        "seminars/email/speaker_invitation",
        context,
        key=key,
        attachments=[talk_attachment(talk)],
        # Once mailed, the Delivery row keeps no live link: only the token's hash opens the page.
        secrets=[token],
    )
    return True


def _talk_day(talk: Talk):
    # Lazy: the subject is read inside send_notice, in the recipient's language.
    return lazy(date_format, str)(talk.local_start, "DATE_FORMAT")


class LinkClosed(Exception):
    """The link stopped working between opening the page and sending the form."""


def _claim_live(invitation: SpeakerInvitation, now: datetime) -> bool:
    """Note the link's use unless it was revoked (checked in the database, not on the page's
    copy); the caller checks the talk's end under the talk's lock."""
    return bool(
        SpeakerInvitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(
            used_at=Coalesce(F("used_at"), now), last_used_at=now
        )
    )


def upload_speaker_slides(invitation: SpeakerInvitation, *, slides: UploadedFile) -> Talk:
    """The speaker's slides, before or after the talk; attendees are told once, as for the host's."""
    from .followup import save_materials  # the follow-up module imports this one

    now = timezone.now()
    with transaction.atomic():
        talk = Talk.objects.select_for_update().get(pk=invitation.talk_id)
        if not _claim_live(invitation, now) or talk.is_cancelled or now >= talk.ends_at + days_after():
            raise LinkClosed
        return save_materials(
            talk,
            slides=slides,
            remove_slides=False,
            slides_url=talk.slides_url,
            recording_url=talk.recording_url,
            papers=list(talk.related_papers.all()),
        )


def submit_speaker_details(invitation: SpeakerInvitation, *, details: dict, photo=None) -> Talk:
    """Save what the speaker filled in, mark the talk confirmed and tell the host after commit."""
    from .tasks import tell_host_speaker_submitted

    now = timezone.now()
    with transaction.atomic():
        talk = Talk.objects.select_for_update().get(pk=invitation.talk_id)
        # Checked again under the lock: a link revoked since the page was opened saves nothing.
        if not _claim_live(invitation, now) or talk.is_cancelled or now >= talk.ends_at:
            raise LinkClosed
        first = talk.speaker_confirmed_at is None
        for name in SPEAKER_FIELDS:
            setattr(talk, name, details[name])
        talk.speaker_confirmed_at = talk.speaker_confirmed_at or now
        fields = [*SPEAKER_FIELDS, "speaker_confirmed_at", "updated_at"]
        replaced = ""
        if photo is not None:
            replaced = talk.speaker_photo.name
            talk.speaker_photo.save(photo.name, photo, save=False)
            fields.append("speaker_photo")
        # Only the speaker's fields: a host editing the room at the same moment keeps their edit.
        talk.save(update_fields=fields)
        if replaced:
            storage = talk.speaker_photo.storage
            transaction.on_commit(lambda: storage.delete(replaced))
        tell_host_speaker_submitted.delay_on_commit(talk_id=talk.pk, first=first, at=now.isoformat())
    return talk


def tell_host(talk_id: int, *, first: bool, at: str = "") -> int:
    """Tell the host the speaker sent their details; `at` (when they did) keys the message, so
    each sending of the form is told once."""
    talk = Talk.objects.select_related("host", "room").filter(pk=talk_id).first()
    if talk is None:
        return 0
    host = talk.host or next((i.created_by for i in talk.invitations.select_related("created_by")), None)
    if host is None:
        log.info("Talk %s has no host to tell about the speaker's details.", talk_id)
        return 0
    subject = (
        format_lazy(_("{speaker} confirmed their talk “{title}”"), speaker=talk.speaker, title=talk.title)
        if first
        else format_lazy(_("{speaker} updated their talk “{title}”"), speaker=talk.speaker, title=talk.title)
    )
    context = {
        "talk": talk,
        "first": first,
        "link": settings.SITE_URL + talk.get_absolute_url(),
        "location": location(talk),
    }
    key = f"speaker-submitted:{talk.pk}:{at or talk.updated_at.isoformat()}"
    return send_notice([host], subject, "seminars/email/speaker_submitted", context, key=key)


def flag_tba_talks(now: datetime | None = None) -> int:
    """Tell each host, once, about their talk still titled TBA within a week; safe to run twice."""
    now = now or timezone.now()
    soon = (
        Talk.objects.scheduled()
        .filter(starts_at__gt=now, starts_at__lte=now + TBA_NOTICE_AHEAD, tba_flagged_at__isnull=True)
        .exclude(host=None)
        .select_related("host", "room")
    )
    flagged = 0
    for talk in soon:
        if not talk.is_tba:
            continue
        with transaction.atomic():
            # The conditional UPDATE claims the talk, so two runs at once tell the host once.
            if not Talk.objects.filter(pk=talk.pk, tba_flagged_at__isnull=True).update(tba_flagged_at=now):
                continue
            subject = format_lazy(_("Your talk on {day} is still titled TBA"), day=_talk_day(talk))
            context = {
                "talk": talk,
                "link": settings.SITE_URL + talk.get_absolute_url(),
                "location": location(talk),
            }
            send_notice([talk.host], subject, "seminars/email/talk_tba", context, key=f"talk-tba:{talk.pk}")
        flagged += 1
    return flagged


@cache
def zone_names() -> list[str]:
    return sorted(available_timezones())


def zone_choices() -> list[tuple[str, str]]:
    return [("", _("— the talk's own time zone —")), *((name, name) for name in zone_names())]
