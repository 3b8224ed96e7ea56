import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    # Checked against the installed tz database rather than stored as choices, so a tzdata
    # update never turns into a migration.
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a time zone name such as Asia/Seoul."), params={"value": value}
        )


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("team", args=[self.slug])


class PersonQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class PersonManager(UserManager.from_queryset(PersonQuerySet)):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", User.Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person of the lab: the login and the profile are one row."""

    class Role(models.TextChoices):
        RESEARCHER = "researcher", _("Researcher")
        LEAD = "lead", _("Lead")
        ADMIN = "admin", _("Admin")

    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.RESEARCHER)
    timezone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[validate_timezone]
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    arxiv_names = models.JSONField(
        _("names on arXiv"),
        default=list,
        blank=True,
        help_text=_("The ways your name appears on your papers, for example “Jung-Woo Ha” and “J.-W. Ha”."),
    )
    research_interests = models.TextField(_("research interests"), blank=True)

    objects = PersonManager()

    class Meta:
        ordering = ["display_name", "username"]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("person", args=[self.username])

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_lead(self) -> bool:
        return self.role in (self.Role.LEAD, self.Role.ADMIN) or self.is_superuser

    def apply_role(self) -> None:
        """The admin role is what opens Django's admin site: keep Django's flags in step with it."""
        self.is_staff = self.is_superuser = self.role == self.Role.ADMIN

    @property
    def is_portal_admin(self) -> bool:
        return self.role == self.Role.ADMIN or self.is_superuser
