from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SeminarsConfig(AppConfig):
    name = "seminars"
    verbose_name = _("Seminars")

    def ready(self) -> None:
        from .reminders import on_talk_changed
        from .signals import talk_changed

        talk_changed.connect(on_talk_changed, dispatch_uid="seminars.reminders.on_talk_changed")
