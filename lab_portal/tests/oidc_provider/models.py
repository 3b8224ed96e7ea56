from django.conf import settings
from django.db import models


class Account(models.Model):
    """What the provider knows of a person beyond Django's user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=200, blank=True)
    email_verified = models.BooleanField(default=True)
    groups = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return str(self.user)


class Behaviour(models.Model):
    """How the provider misbehaves: paths it answers only after `hang_seconds`."""

    hang_paths = models.CharField(max_length=500, blank=True)
    hang_seconds = models.FloatField(default=0)

    def __str__(self) -> str:
        return self.hang_paths
