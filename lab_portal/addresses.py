"""A person's e-mail address changes only once its owner shows they read mail there.

The address is what mail, the person's e-mail channel, password resets and the first single
sign-on go by, so typing someone else's address must change nothing. A new address waits in
`pending_email` (it reserves nothing and matches nobody) until the link sent to it is opened by
the person signed in to this account. The link is signed, names the account and the address it
was sent to, and stops working after CONFIRM_FOR, once used, or when another address is asked for.
"""

import hashlib
from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Channel, User
from .notify import Message, notify_address

CONFIRM_FOR = timedelta(days=2)
SALT = "lab_portal.addresses.confirm"
# One link per address per this long: saving the form again does not mail the address again.
RESEND_AFTER = timedelta(minutes=10)


class LinkNotValid(Exception):
    """Expired, replaced by a newer request, used already, forged, or made for another account."""


class AddressTaken(Exception):
    """Another account has the address now."""


def _fingerprint(address: str) -> str:
    # The link carries this rather than the address, which then never sits in a URL or a log.
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]


def is_taken(address: str, *, by_other_than: User) -> bool:
    return User.objects.filter(email__iexact=address.strip()).exclude(pk=by_other_than.pk).exists()


def request_change(person: User, *, address: str) -> None:
    """Keep `address` as the person's pending one and mail it the link that confirms it."""
    slot = int(timezone.now().timestamp() // RESEND_AFTER.total_seconds())
    token = signing.dumps({"p": person.pk, "a": _fingerprint(address)}, salt=SALT)
    message = Message(
        subject=_("Confirm your new e-mail address for the Lab Portal"),
        dedupe_key=f"confirm-address:{person.pk}:{_fingerprint(address)}:{slot}",
        text=_(
            "Someone, we hope you, asked to use this address for the account %(username)s on the Lab "
            "Portal. Open the link below while signed in to that account, and confirm. It works for "
            "%(days)d days.\n\nIf it was not you, ignore this mail: nothing changes."
        )
        % {"username": person.username, "days": CONFIRM_FOR.days},
        url=reverse("confirm-email", args=[token]),
        secrets=[token],
    )
    with transaction.atomic():
        User.objects.filter(pk=person.pk).update(pending_email=address)
        person.pending_email = address
        notify_address(person, address, message)


def cancel_change(person: User) -> None:
    User.objects.filter(pk=person.pk).update(pending_email="")
    person.pending_email = ""


def check_link(person: User, token: str) -> str:
    """The pending address the link confirms for `person`, or LinkNotValid."""
    try:
        data = signing.loads(token, salt=SALT, max_age=CONFIRM_FOR)
    except signing.BadSignature:  # expired ones too
        raise LinkNotValid from None
    pending = person.pending_email
    if not isinstance(data, dict) or data.get("p") != person.pk or not pending:
        raise LinkNotValid
    if data.get("a") != _fingerprint(pending):
        raise LinkNotValid
    return pending


def confirm_change(person: User, *, token: str) -> str:
    """Make the pending address the person's own; returns it. An address another account took
    meanwhile is dropped (AddressTaken), and the person's address stays as it was."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=person.pk)
        address = check_link(locked, token)
        if is_taken(address, by_other_than=locked):
            User.objects.filter(pk=locked.pk).update(pending_email="")
            taken = True
        else:
            try:
                with transaction.atomic():
                    User.objects.filter(pk=locked.pk).update(email=address, pending_email="")
                    # An e-mail channel typed with the old address follows too, as the blank
                    # one does: the mail of this account goes where its owner reads it now.
                    Channel.objects.filter(
                        person=locked, kind=Channel.Kind.EMAIL, target__iexact=locked.email
                    ).exclude(target="").update(target=address)
                taken = False
            except IntegrityError:  # taken between the check and the write
                User.objects.filter(pk=locked.pk).update(pending_email="")
                taken = True
    person.refresh_from_db(fields=["email", "pending_email"])
    if taken:
        raise AddressTaken
    return address
