from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class PapersConfig(AppConfig):
    name = "papers"
    verbose_name = _("Papers")

    def ready(self):
        from . import chat
        from .models import Category
        from .queries import forget_feed_frame

        # What the lab bot's buttons, replies and commands do with papers (lab_portal.chat).
        chat.register()

        # A category edited in the admin site shows on the next feed page, not after the cache ages.
        for signal in (post_save, post_delete):
            signal.connect(lambda **kwargs: forget_feed_frame(), sender=Category, weak=False)
