"""The lab bot's side of the Telegram Bot API that is not a message to someone: who the bot
is, the webhook, long polling, and the quick answers Telegram expects to a button press.

Messages themselves go through lab_portal.notify (lab_portal/channels.py sends them).
"""

import hashlib
import hmac
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache

from . import channels

logger = logging.getLogger(__name__)

# What the bot asks Telegram to deliver: messages, their edits and button presses.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# An answer to a button press is shown for a moment above the chat: Telegram cuts it at 200.
ANSWER_LIMIT = 200


def configured() -> bool:
    return bool(settings.TELEGRAM_BOT_TOKEN)


def webhook_secret() -> str:
    """The secret Telegram sends with every webhook request. Derived from SECRET_KEY and the bot's
    token, so it needs no setting of its own and changes when either does."""
    key = f"telegram-webhook:{settings.TELEGRAM_BOT_TOKEN}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), key, hashlib.sha256).hexdigest()


def bot_username() -> str:
    """The bot's @username without the @: TELEGRAM_BOT_USERNAME, or Telegram's getMe (kept a day)."""
    if settings.TELEGRAM_BOT_USERNAME:
        return settings.TELEGRAM_BOT_USERNAME
    key = f"telegram-bot-username:{hashlib.sha256(settings.TELEGRAM_BOT_TOKEN.encode()).hexdigest()[:16]}"
    username = cache.get(key)
    if username is None:
        me = channels.telegram_call("getMe", {}) or {}
        username = str(me.get("username") or "")
        if not username:
            raise channels.PermanentError("Telegram's getMe named no username for the bot.")
        cache.set(key, username, 24 * 60 * 60)
    return username


def deep_link(code: str, *, group: bool = False) -> str:
    """The t.me link that opens the bot with `code`: in a private chat, or choosing a group."""
    return f"https://t.me/{bot_username()}?{'startgroup' if group else 'start'}={code}"


def get_updates(*, offset: int | None, timeout: int) -> list[dict]:
    """Long polling: what arrived since `offset`, waiting up to `timeout` seconds for something.
    Asking with an offset confirms every earlier update to Telegram."""
    body = {"timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
    if offset is not None:
        body["offset"] = offset
    # The HTTP wait must outlast Telegram's own, or every quiet poll would end in an error.
    result = channels.telegram_call("getUpdates", body, timeout=timeout + settings.NOTIFY_HTTP_TIMEOUT)
    return [update for update in result or [] if isinstance(update, dict)]


def webhook_url_allowed(url: str) -> bool:
    """Telegram posts only to HTTPS; a plain-HTTP address is accepted for a local stand-in."""
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    return parts.scheme == "https" or (parts.scheme == "http" and loopback)


def set_webhook(url: str) -> None:
    channels.telegram_call(
        "setWebhook", {"url": url, "secret_token": webhook_secret(), "allowed_updates": ALLOWED_UPDATES}
    )


def delete_webhook() -> None:
    channels.telegram_call("deleteWebhook", {"drop_pending_updates": False})


def webhook_info() -> dict:
    return channels.telegram_call("getWebhookInfo", {}) or {}


def answer_button(query_id: str, text: str, *, alert: bool = False) -> None:
    """Answer a button press (Telegram shows a spinner until it is answered). Best effort: a
    press the portal cannot answer in time is not worth a retry, the person presses again."""
    body = {"callback_query_id": query_id, "text": channels.clip(text, ANSWER_LIMIT), "show_alert": alert}
    try:
        channels.telegram_call("answerCallbackQuery", body)
    except channels.DeliveryError as error:
        logger.warning("Could not answer a Telegram button press: %s", error)


def say(chat_id: int | str, text: str, *, reply_to: int = 0) -> None:
    """A short answer in a chat the portal has no channel for (a stranger's private chat, a group
    not linked yet): only ever how to link. Sent once, after the update that asked is recorded
    as handled; should it fail, the person asks again."""
    body = {"chat_id": chat_id, "text": channels.clip(text, channels.TEXT_CAP)}
    if reply_to:
        body["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    try:
        channels.telegram_call("sendMessage", body)
    except channels.DeliveryError as error:
        logger.warning("Could not answer in Telegram chat %s: %s", chat_id, error)
