import logging

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .models import SsoIdentity

logger = logging.getLogger(__name__)


def _is_true(value) -> bool:
    # Some providers send the claim as the string "true".
    return value is True or value == "true"


class LabOIDCBackend(OIDCAuthenticationBackend):
    """Sign people in through the lab's identity provider.

    The provider's stable subject (`sub`, with the issuer) names a person for good: it is stored
    on their first sign-on and matched ever after, so an e-mail address typed on a profile can
    neither open nor block anyone's account. Only that first sign-on goes by e-mail, to an
    account whose address its owner confirmed and which has no subject yet, and only with an
    address the provider says it verified. The e-mail then follows the provider's.
    """

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        issuer, subject = self._identity(payload, claims)
        if not self.verify_claims(claims) or not self._email_verified(payload, claims):
            raise SuspiciousOperation("Claims verification failed: no e-mail address the provider verified")
        identity = SsoIdentity.objects.select_related("person").filter(issuer=issuer, subject=subject).first()
        if identity is not None:
            return self.update_user(identity.person, claims)
        user = self.UserModel.objects.filter(email__iexact=claims["email"].strip()).first()
        if user is None:
            if not self.get_settings("OIDC_CREATE_USER", True):
                return None
            user = self.create_user(claims)
        elif user.sso_identities.filter(issuer=issuer).exists():
            # Another subject of this provider signed in to that account first.
            raise SuspiciousOperation("The e-mail address belongs to an account linked to another subject")
        try:
            with transaction.atomic():
                SsoIdentity.objects.create(person=user, issuer=issuer, subject=subject)
        except IntegrityError:  # the same first sign-on twice at once
            raise SuspiciousOperation("This subject was linked meanwhile; sign in again") from None
        return self.update_user(user, claims)

    def _identity(self, payload: dict, claims: dict) -> tuple[str, str]:
        issuer, subject = payload.get("iss"), payload.get("sub")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not isinstance(issuer, str) or not isinstance(subject, str) or not issuer or not subject:
            raise SuspiciousOperation("The ID token names no issuer or subject")
        if len(issuer) > 255 or len(subject) > 255:
            raise SuspiciousOperation("The ID token's issuer or subject is too long")
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was issued for another client")
        # OpenID Connect Core 5.3.2: user info about anyone else must not be used.
        if claims.get("sub") != subject:
            raise SuspiciousOperation("The user info is about another subject than the ID token")
        return issuer, subject

    def _email_verified(self, payload: dict, claims: dict) -> bool:
        """The provider said it verified the address, in the ID token or the user info, and no
        part of its answer says otherwise or names another address."""
        said = [part["email_verified"] for part in (payload, claims) if "email_verified" in part]
        email = str(claims.get("email") or "").strip()
        if "email" in payload and str(payload["email"]).strip().lower() != email.lower():
            return False
        return bool(email and said and all(_is_true(value) for value in said))

    def get_user(self, user_id):
        # The library's get_user drops ModelBackend's is_active check; without it a deactivated
        # person's SSO session would stay valid.
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def create_user(self, claims):
        email = claims.get("email", "").strip()
        # A Hangul preferred_username slugifies to nothing; fall back to the mailbox name.
        base = slugify(claims.get("preferred_username", "")) or slugify(email.split("@")[0]) or "person"
        username, n = base, 1
        while self.UserModel.objects.filter(username=username).exists():
            n += 1
            username = f"{base}{n}"
        return self.UserModel.objects.create_user(
            username=username,
            email=email,
            first_name=claims.get("given_name", ""),
            last_name=claims.get("family_name", ""),
            display_name=claims.get("name", ""),
        )

    def update_user(self, user, claims):
        """The provider's name fills an empty display name; its verified address replaces the
        person's own, unless another account holds it (then it is logged for the admins)."""
        if claims.get("name") and not user.display_name:
            user.display_name = claims["name"]
            user.save(update_fields=["display_name"])
        email = claims["email"].strip()
        if email.lower() != user.email.lower():
            try:
                with transaction.atomic():
                    self.UserModel.objects.filter(pk=user.pk).update(email=email, pending_email="")
            except IntegrityError:
                logger.warning("SSO: %s's address at the provider is another account's; kept theirs", user)
            else:
                user.email, user.pending_email = email, ""
        return user
