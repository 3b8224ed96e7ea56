from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LabPortalConfig(AppConfig):
    name = "lab_portal"
    verbose_name = _("Lab Portal")
