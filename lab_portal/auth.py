from django.utils.text import slugify
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class LabOIDCBackend(OIDCAuthenticationBackend):
    """Sign people in through the lab's identity provider, matched by e-mail address."""

    def verify_claims(self, claims):
        # People are matched by e-mail, so an address the provider has not verified could
        # open someone else's account.
        return super().verify_claims(claims) and claims.get("email_verified") is not False

    def get_user(self, user_id):
        # The library's get_user drops ModelBackend's is_active check; without it a deactivated
        # person's SSO session would stay valid.
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def create_user(self, claims):
        email = claims.get("email", "")
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
        if claims.get("name") and not user.display_name:
            user.display_name = claims["name"]
            user.save(update_fields=["display_name"])
        return user
