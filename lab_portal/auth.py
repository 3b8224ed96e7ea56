from django.utils.text import slugify
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class LabOIDCBackend(OIDCAuthenticationBackend):
    """Sign people in through the lab's identity provider, matched by e-mail address."""

    def create_user(self, claims):
        email = claims.get("email", "")
        base = slugify(claims.get("preferred_username") or email.split("@")[0]) or "person"
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
