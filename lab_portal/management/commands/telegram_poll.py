"""Receive the lab bot's updates by long polling: for a portal Telegram cannot reach (behind a
firewall, or on a laptop). One process is enough; a second one, or a restart, never handles an
update twice (lab_portal.chat stores each by its update_id first)."""

import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from lab_portal import chat, telegram
from lab_portal.channels import Conflict, DeliveryError

MAX_BACKOFF = 60


class Command(BaseCommand):
    help = "Receive the Telegram bot's updates by long polling (getUpdates) and handle each once."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=int, default=50, help="Seconds each poll waits for news.")
        parser.add_argument("--once", action="store_true", help="Poll once, handle what came, and stop.")

    def handle(self, *args, timeout: int, once: bool, **options):
        if not telegram.configured():
            raise CommandError("TELEGRAM_BOT_TOKEN is not set: there is no bot to poll for.")
        if not 0 <= timeout <= 600:
            raise CommandError("--timeout is between 0 and 600 seconds.")
        self.running, self.busy = True, False
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._stop)
        offset, backoff = None, 1
        self.stdout.write(f"Polling Telegram as @{telegram.bot_username()}; Ctrl-C stops.")
        while self.running:
            try:
                updates = telegram.get_updates(offset=offset, timeout=0 if once else timeout)
            except Conflict as error:
                if "webhook" in str(error).lower():
                    hint = "The bot has a webhook: run `manage.py telegram_webhook delete` to poll instead."
                    raise CommandError(f"{error}. {hint}") from None
                # Another poller holds the long poll: it handles the updates; wait and try again.
                self.stderr.write(f"{error}; trying again in {backoff} s")
            except DeliveryError as error:
                self.stderr.write(f"Telegram did not answer: {error}; trying again in {backoff} s")
            else:
                backoff = 1
                self.busy = True
                offset = self._handle(updates, offset)
                self.busy = False
                if once:
                    return
                continue
            if once:
                raise CommandError("Telegram could not be polled.")
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _handle(self, updates: list[dict], offset: int | None) -> int | None:
        for update in updates:
            try:
                chat.receive(update)
            except ValueError:
                continue
            # Also when it was stored before: a poller stopped between storing and handling it
            # left it waiting, and handling is once whoever asks (lab_portal.chat.handle).
            chat.handle(update["update_id"])
            # The next poll's offset confirms everything up to here to Telegram.
            offset = max(offset or 0, update["update_id"] + 1)
        if updates:
            self.stdout.write(f"{len(updates)} update(s) received")
        return offset

    def _stop(self, signum, frame):
        # Waiting on Telegram or between tries: stop now. Handling an update: finish it first.
        self.running = False
        if not self.busy:
            raise SystemExit(0)
