import logging

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.text import slugify
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from . import accounts, sso
from .models import SignOnPolicy, SsoIdentity
from .sso import SignOnError

logger = logging.getLogger(__name__)


def _is_true(value) -> bool:
    # Some providers send the claim as the string "true".
    return value is True or value == "true"


def _is_address(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return len(email) <= 254


class LabOIDCBackend(OIDCAuthenticationBackend):
    """Sign people in through the lab's identity provider.

    The provider's stable subject (`sub`, with the issuer) names a person for good: it is stored
    on their first sign-on and matched ever after, so an e-mail address typed on a profile can
    neither open nor block anyone's account. Only that first sign-on goes by e-mail, to an
    account whose address its owner confirmed and which has no subject yet, and only with an
    address the provider says it verified. The e-mail then follows the provider's.

    The flow itself (lab_portal.sso) calls sign_on(); every refusal is a SignOnError naming why.
    """

    def __init__(self, *args, **kwargs):
        # The library reads the endpoints from settings here; ours come from the provider's
        # discovery document, read when a log-in needs them (never to restore a session).
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = getattr(settings, "OIDC_RP_CLIENT_SECRET", "")
        self.OIDC_RP_SIGN_ALGO = getattr(settings, "OIDC_RP_SIGN_ALGO", "RS256")
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):
        return sso.provider()["jwks_uri"]

    def authenticate(self, request, **kwargs):
        # Only lab_portal.sso signs people on; a password form posted with ?code= must not.
        return None

    def retrieve_matching_jwk(self, token):
        try:
            return super().retrieve_matching_jwk(token)
        except requests.Timeout:
            raise sso.ProviderUnavailable("timeout", "the provider's keys did not come in time") from None
        except requests.RequestException as error:
            raise sso.ProviderUnavailable("down", f"the provider's keys: {type(error).__name__}") from None

    def user_info(self, access_token: str) -> dict | None:
        """The provider's claims about the token's owner; None when it refuses the token."""
        response = sso._http(
            "GET", sso.provider()["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}
        )
        if response.status_code in (401, 403):
            return None
        try:
            response.raise_for_status()
            claims = response.json()
        except (requests.HTTPError, ValueError):
            raise sso.ProviderUnavailable(
                "bad_answer", f"user info answered {response.status_code}"
            ) from None
        if not isinstance(claims, dict):
            raise sso.ProviderUnavailable("bad_answer", "user info is not a JSON object")
        return claims

    def sign_on(self, access_token: str, payload: dict):
        """The person the provider vouches for, created on their first log-in if the lab's
        policy admits them; raises SignOnError with the reason otherwise."""
        claims = self.user_info(access_token)
        if claims is None:
            raise SignOnError("bad_token", "user info refused the new access token", status=502)
        issuer, subject = self._identity(payload, claims)
        email = str(claims.get("email") or "").strip()
        if not _is_address(email):
            raise SignOnError("no_email", f"subject {subject} has no e-mail address at the provider")
        if not self._email_verified(payload, claims):
            raise SignOnError(
                "unverified", f"{email}: the provider has not verified it", context={"email": email}
            )
        policy = SignOnPolicy.current()
        identity = SsoIdentity.objects.select_related("person").filter(issuer=issuer, subject=subject).first()
        if identity is not None:
            user = identity.person
        else:
            user = self.UserModel.objects.filter(email__iexact=email).first()
            if user is not None and user.sso_identities.filter(issuer=issuer).exists():
                raise SignOnError(
                    "taken",
                    f"{email} belongs to an account linked to another subject",
                    context={"email": email},
                )
        if not policy.admits(email, claims.get(settings.OIDC_GROUPS_CLAIM)):
            raise SignOnError(
                "not_admitted",
                f"{email}: neither its domain nor its groups are admitted",
                context={"email": email},
            )
        if user is None:
            user = self.create_user(claims)
            if policy.approve_new_accounts:
                user.is_active, user.awaiting_approval = False, True
                user.save(update_fields=["is_active", "awaiting_approval"])
                logger.warning("SSO: %s (%s) signed up and waits for an admin's approval", user, email)
                accounts.tell_admins_of_signup(user)
        if identity is None:
            try:
                with transaction.atomic():
                    SsoIdentity.objects.create(person=user, issuer=issuer, subject=subject)
            except IntegrityError:  # the same first sign-on twice at once
                raise SignOnError("state", "this subject was linked meanwhile", status=400) from None
        user = self.update_user(user, claims)
        if user.awaiting_approval:
            raise SignOnError("awaiting_approval", f"{email} waits for approval", context={"email": email})
        if not user.is_active:
            raise SignOnError("inactive", f"{user}'s portal account is deactivated")
        return user

    def check_still_admitted(self, user, claims: dict) -> None:
        """Re-checks a session's user info: the same person, still verified and admitted."""
        identity = user.sso_identities.filter(subject=claims.get("sub")).first()
        if identity is None:
            raise SignOnError("taken", "the user info is about another subject")
        email = str(claims.get("email") or "").strip()
        if not email or not self._email_verified({}, claims):
            raise SignOnError("unverified", "the e-mail address is no longer verified")
        if not SignOnPolicy.current().admits(email, claims.get(settings.OIDC_GROUPS_CLAIM)):
            raise SignOnError("not_admitted", "neither the domain nor the groups are admitted any more")

    def _identity(self, payload: dict, claims: dict) -> tuple[str, str]:
        issuer, subject = payload.get("iss"), payload.get("sub")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not isinstance(issuer, str) or not isinstance(subject, str) or not issuer or not subject:
            raise SignOnError("bad_token", "the ID token names no issuer or subject", status=502)
        if len(issuer) > 255 or len(subject) > 255:
            raise SignOnError("bad_token", "the ID token's issuer or subject is too long", status=502)
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SignOnError("bad_token", "the ID token was issued for another client", status=502)
        expected = sso.provider()["issuer"]
        if expected and issuer != expected:
            raise SignOnError("bad_token", f"the ID token's issuer is not {expected}", status=502)
        # OpenID Connect Core 5.3.2: user info about anyone else must not be used.
        if claims.get("sub") != subject:
            raise SignOnError(
                "bad_token", "the user info is about another subject than the ID token", status=502
            )
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
            first_name=str(claims.get("given_name") or "")[:150],
            last_name=str(claims.get("family_name") or "")[:150],
            display_name=str(claims.get("name") or "")[:150],
            # The language the browser asked for; the welcome questions come in it.
            language=translation.get_language()
            if translation.get_language() in dict(settings.LANGUAGES)
            else "en",
            needs_welcome=True,
        )

    def update_user(self, user, claims):
        """The provider's name fills an empty display name; its verified address replaces the
        person's own, unless another account holds it (then it is logged for the admins)."""
        if claims.get("name") and not user.display_name:
            user.display_name = str(claims["name"])[:150]
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


class PasswordBackend(ModelBackend):
    """Passwords, unless the admins turned password log-in off under single sign-on: then only
    the break-glass administrators they named may use one (the admin site's log-in too), and
    sessions opened with a password by anyone else end."""

    def user_can_authenticate(self, user) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return not settings.OIDC_ENABLED or SignOnPolicy.current().password_allowed(user)
