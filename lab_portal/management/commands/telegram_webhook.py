"""Point Telegram at the portal's webhook (for a portal with a public HTTPS address), or take
the webhook away again to poll instead (`manage.py telegram_poll`)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from lab_portal import telegram
from lab_portal.channels import DeliveryError


class Command(BaseCommand):
    help = "Set, delete or show the Telegram bot's webhook (set: SITE_URL + /telegram/webhook/)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["set", "delete", "info"])
        parser.add_argument("--url", help="The webhook's address, if not SITE_URL's /telegram/webhook/.")

    def handle(self, *args, action: str, url: str | None, **options):
        if not telegram.configured():
            raise CommandError("TELEGRAM_BOT_TOKEN is not set: there is no bot to configure.")
        try:
            if action == "set":
                url = url or settings.SITE_URL + reverse("telegram-webhook")
                if not telegram.webhook_url_allowed(url):
                    raise CommandError(f"Telegram posts only to HTTPS addresses, and {url} is not one.")
                telegram.set_webhook(url)
                self.stdout.write(f"Telegram now posts the bot's updates to {url}")
            elif action == "delete":
                telegram.delete_webhook()
                self.stdout.write("Webhook deleted: run `manage.py telegram_poll` to receive updates.")
            else:
                info = telegram.webhook_info()
                self.stdout.write(f"Webhook: {info.get('url') or 'none'}")
                self.stdout.write(f"Updates waiting: {info.get('pending_update_count', 0)}")
                if info.get("last_error_message"):
                    self.stdout.write(f"Last error: {info['last_error_message']}")
        except DeliveryError as error:
            raise CommandError(f"Telegram refused: {error}") from None
