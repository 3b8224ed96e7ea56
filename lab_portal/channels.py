"""What a message looks like on each channel, and the one request that sends it.

Each sender makes exactly one attempt and says how it went: it returns the service's answer,
or raises `TemporaryError` (try again, after `retry_after` when the service named a wait) or
`PermanentError` (the service refused; its words, or for Slack a fixed text of ours, go to the
person's channel settings).
Retrying, and remembering what was sent, is lab_portal.notify's business.
"""

import hashlib
import re
import smtplib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from html import unescape
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join, linebreaks
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import slack
from .models import Channel

# Telegram counts the text after its HTML is parsed, in UTF-16 code units.
TELEGRAM_LIMIT = 4096
# Slack cuts a message's text at 40,000 characters.
SLACK_LIMIT = 40000
# Per-field caps, so one long abstract or author list never crowds out the rest of a message.
SUBJECT_CAP, TEXT_CAP, TITLE_CAP, AUTHORS_CAP, WHY_CAP = 250, 2000, 300, 300, 400
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Item:
    """One thing a message is about, usually a paper."""

    title: str
    authors: list[str] = field(default_factory=list)
    why: str = ""  # why it reached this person: the rule that matched, who shared it and their note
    portal_url: str = ""  # absolute, or a path on the portal (SITE_URL is put in front)
    external_url: str = ""  # arXiv's abstract page, or wherever the thing lives outside


@dataclass(frozen=True)
class Message:
    """A message for any channel. `text` is plain text; `html`, when given, is the e-mail's
    HTML body and must already be safe (rendered by a template with autoescaping); chat
    channels always use `text`. `url` is the one link of a message without items."""

    subject: str
    dedupe_key: str
    text: str = ""
    html: str = ""
    url: str = ""
    items: list[Item] = field(default_factory=list)

    def as_payload(self) -> dict:
        payload = asdict(self)
        del payload["dedupe_key"]  # the delivery row keeps it
        return payload

    @classmethod
    def from_payload(cls, payload: dict, *, dedupe_key: str = "") -> "Message":
        items = [Item(**item) for item in payload.get("items", [])]
        fields = {name: payload.get(name, "") for name in ("subject", "text", "html", "url")}
        return cls(dedupe_key=dedupe_key, items=items, **fields)


class DeliveryError(Exception):
    pass


class TemporaryError(DeliveryError):
    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    pass


class ChatMigrated(DeliveryError):
    """Telegram moved a group to a supergroup with a new chat id: send there instead."""

    def __init__(self, chat_id: str):
        super().__init__(_("The Telegram group moved to chat %(chat_id)s.") % {"chat_id": chat_id})
        self.chat_id = chat_id


def send(channel: Channel, message: Message, *, key: str = "", address: str = "") -> str:
    """Send `message` on `channel` once, in the channel owner's language; return the answer.
    `address`, on an e-mail channel, sends to it instead (lab_portal.notify.notify_address)."""
    with translation.override(channel.language):
        if channel.kind == Channel.Kind.TELEGRAM:
            return send_telegram(channel.target, message)
        if channel.kind == Channel.Kind.SLACK:
            return send_slack(channel.target, message)
        return send_email(address or channel.destination, message, key=key)


# Text helpers ---------------------------------------------------------------------------------


def _len16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """`text` in at most `limit` UTF-16 units, cut at a word where one is near, ending in "…".
    Cutting the plain text before it is escaped is what keeps entities and tags whole."""
    text = text.strip()
    if _len16(text) <= limit:
        return text
    kept, used = [], 0
    for char in text:
        used += _len16(char)
        if used > limit - 1:
            break
        kept.append(char)
    cut = "".join(kept)
    space = cut.rfind(" ")
    if space > len(cut) * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _authors(names: list[str]) -> str:
    shown = []
    for name in names:
        if _len16(", ".join([*shown, name])) > AUTHORS_CAP - 10:
            return (", ".join(shown) if shown else clip(name, AUTHORS_CAP - 10)) + " " + _("et al.")
        shown.append(name)
    return ", ".join(shown)


def absolute_url(url: str) -> str:
    """A link fit for a message: portal paths made absolute, anything but http(s) dropped."""
    url = url.strip()
    if url.startswith("/") and not url.startswith("//"):
        return settings.SITE_URL + url
    return url if urlsplit(url).scheme in ("http", "https") else ""


def _external_label(url: str) -> str:
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return "arXiv" if host == "arxiv.org" or host.endswith(".arxiv.org") else host


def _pack(head: str, blocks: list[str], more: Callable[[int], str], *, limit: int, measure) -> str:
    """The head and as many whole blocks as fit in `limit`, then a line saying how many did not."""
    chosen = [head] if head else []
    for index, block in enumerate(blocks):
        left = len(blocks) - index - 1
        candidate = [*chosen, block, *([more(left)] if left else [])]
        if measure("\n\n".join(candidate)) > limit:
            return "\n\n".join([*chosen, more(len(blocks) - index)])
        chosen.append(block)
    return "\n\n".join(chosen)


def _more_text(count: int) -> str:
    return ngettext("… and %(count)d more", "… and %(count)d more", count) % {"count": count}


# Telegram ---------------------------------------------------------------------------------------


def _tg(text: str) -> str:
    # Telegram's HTML knows only these named entities; quotes matter only inside attributes.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tg_link(url: str, label: str) -> str:
    return f'<a href="{_tg(url).replace(chr(34), "&quot;")}">{_tg(label)}</a>'


def telegram_visible_length(html: str) -> int:
    return _len16(unescape(_TAG.sub("", html)))


def telegram_text(message: Message) -> str:
    """The message in Telegram's HTML, within its 4096 characters: whole items only."""
    head = [f"<b>{_tg(clip(' '.join(message.subject.split()), SUBJECT_CAP))}</b>"]
    if message.text.strip():
        head.append(_tg(clip(message.text, TEXT_CAP)))
    if url := absolute_url(message.url):
        head.append(_tg_link(url, _("Open in the portal")))
    blocks = [_telegram_item(item) for item in message.items]
    more_url = absolute_url(message.url) or settings.SITE_URL + "/"

    def more(count: int) -> str:
        return _tg_link(more_url, _more_text(count))

    return _pack("\n".join(head), blocks, more, limit=TELEGRAM_LIMIT, measure=telegram_visible_length)


def _telegram_item(item: Item) -> str:
    portal, external = absolute_url(item.portal_url), absolute_url(item.external_url)
    title = clip(item.title, TITLE_CAP)
    lines = [f"<b>{_tg_link(portal, title) if portal else _tg(title)}</b>"]
    if item.authors:
        lines.append(_tg(_authors(item.authors)))
    if item.why.strip():
        lines.append(f"<i>{_tg(clip(item.why, WHY_CAP))}</i>")
    links = [_tg_link(portal, _("Portal"))] if portal else []
    if external:
        links.append(_tg_link(external, _external_label(external)))
    if links:
        lines.append(" · ".join(links))
    return "\n".join(lines)


def send_telegram(chat_id: str, message: Message) -> str:
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        raise PermanentError(_("The portal has no Telegram bot: TELEGRAM_BOT_TOKEN is not set."))
    body = {
        "chat_id": chat_id,
        "text": telegram_text(message),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    response = _post(f"{settings.TELEGRAM_API_BASE}/bot{token}/sendMessage", body, secret=token)
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    parameters = answer.get("parameters") or {}
    description = str(answer.get("description") or f"HTTP {response.status_code}")
    if response.status_code == 429:
        raise TemporaryError(description, retry_after=_seconds(parameters.get("retry_after")))
    if response.status_code >= 500:
        raise TemporaryError(description)
    if parameters.get("migrate_to_chat_id"):
        raise ChatMigrated(str(parameters["migrate_to_chat_id"]))
    if not answer.get("ok"):
        raise PermanentError(description)
    return _("Telegram message %(id)s") % {"id": (answer.get("result") or {}).get("message_id", "?")}


# Slack ------------------------------------------------------------------------------------------


def _slack(text: str) -> str:
    # The three characters Slack's mrkdwn reserves for its own markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    # Inside <url|label> a "|" or ">" in the URL would end it early: percent-encode them.
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{_slack(label).replace('|', '¦')}>"


def slack_text(message: Message) -> str:
    head = [f"*{_slack(clip(' '.join(message.subject.split()), SUBJECT_CAP))}*"]
    if message.text.strip():
        head.append(_slack(clip(message.text, TEXT_CAP)))
    if url := absolute_url(message.url):
        head.append(_slack_link(url, _("Open in the portal")))
    blocks = [_slack_item(item) for item in message.items]
    more_url = absolute_url(message.url) or settings.SITE_URL + "/"

    def more(count: int) -> str:
        return _slack_link(more_url, _more_text(count))

    return _pack("\n".join(head), blocks, more, limit=SLACK_LIMIT, measure=_len16)


def _slack_item(item: Item) -> str:
    portal, external = absolute_url(item.portal_url), absolute_url(item.external_url)
    title = clip(item.title, TITLE_CAP)
    lines = [f"*{_slack_link(portal, title)}*" if portal else f"*{_slack(title)}*"]
    if item.authors:
        lines.append(_slack(_authors(item.authors)))
    if item.why.strip():
        lines.append(f"_{_slack(clip(item.why, WHY_CAP))}_")
    links = [_slack_link(portal, _("Portal"))] if portal else []
    if external:
        links.append(_slack_link(external, _external_label(external)))
    if links:
        lines.append(" · ".join(links))
    return "\n".join(lines)


def slack_webhook_url(url: str) -> str | None:
    """The webhook URL to post to, rebuilt from its checked parts; None when it is not a Slack
    webhook on SLACK_WEBHOOK_HOSTS (a pasted URL must not reach inside the lab)."""
    return slack.webhook_url(url, settings.SLACK_WEBHOOK_HOSTS)


# Slack's documented webhook errors: the only words of its answer that reach a stored error, so
# nothing another server says can be read back through the channel page.
SLACK_ERRORS = {
    "invalid_payload", "user_not_found", "channel_not_found", "channel_is_archived", "action_prohibited",
    "posting_to_general_channel_denied", "too_many_attachments", "no_service", "no_active_hooks",
    "invalid_token", "team_disabled", "no_text", "msg_too_long",
}  # fmt: skip


def send_slack(webhook_url: str, message: Message) -> str:
    """Post to the checked URL only. The answers recorded are the portal's own short texts, and
    a URL that does not pass (stored before the rule, or the hosts changed) is never posted to."""
    url = slack_webhook_url(webhook_url)
    if url is None:
        raise PermanentError(
            _(
                "This is not a Slack webhook URL the portal may post to: edit the channel with the URL "
                "Slack gave you."
            )
        )
    body = {"text": slack_text(message), "mrkdwn": True, "unfurl_links": False, "unfurl_media": False}
    try:
        response = requests.post(url, json=body, timeout=settings.NOTIFY_HTTP_TIMEOUT, allow_redirects=False)
    except requests.Timeout:
        raise TemporaryError(_("Slack did not answer in time.")) from None
    except requests.RequestException:
        raise TemporaryError(_("Slack could not be reached.")) from None
    status = response.status_code
    code = response.text.strip()[:64] if status != 200 else ""
    if status == 429:
        wait = _retry_after_header(response.headers.get("Retry-After"))
        raise TemporaryError(_("Slack asked the portal to wait (HTTP 429)."), retry_after=wait)
    if status >= 500:
        raise TemporaryError(_("Slack could not take the message (HTTP %(status)d).") % {"status": status})
    if status != 200:
        if code in SLACK_ERRORS:
            raise PermanentError(
                _("Slack refused the message (HTTP %(status)d: %(code)s).") % {"status": status, "code": code}
            )
        raise PermanentError(_("Slack refused the message (HTTP %(status)d).") % {"status": status})
    return _("Slack accepted the message.")


# E-mail -----------------------------------------------------------------------------------------


def email_bodies(message: Message) -> tuple[str, str]:
    """The plain text and the HTML of an e-mail: the message's own text, then its items."""
    text_parts = [message.text.strip()] if message.text.strip() else []
    html = message.html or (linebreaks(message.text, autoescape=True) if message.text.strip() else "")
    url = absolute_url(message.url)
    if url:
        text_parts.append(f"{_('Open in the portal')}: {url}")
        html += format_html('<p><a href="{}">{}</a></p>', url, _("Open in the portal"))
    for item in message.items:
        text_parts.append(_email_item_text(item))
    if message.items:
        html += format_html(
            "<ul>{}</ul>", format_html_join("", "{}", ((_email_item_html(i),) for i in message.items))
        )
    return "\n\n".join(text_parts) + "\n", html


def _email_item_text(item: Item) -> str:
    lines = [item.title.strip()]
    if item.authors:
        lines.append(", ".join(item.authors))
    if item.why.strip():
        lines.append(item.why.strip())
    if portal := absolute_url(item.portal_url):
        lines.append(f"{_('Portal')}: {portal}")
    if external := absolute_url(item.external_url):
        lines.append(f"{_external_label(external)}: {external}")
    return "\n".join(lines)


def _email_item_html(item: Item) -> str:
    portal, external = absolute_url(item.portal_url), absolute_url(item.external_url)
    title = format_html('<a href="{}">{}</a>', portal, item.title) if portal else item.title
    parts = [format_html("<strong>{}</strong>", title)]
    if item.authors:
        parts.append(format_html("<br>{}", ", ".join(item.authors)))
    if item.why.strip():
        parts.append(format_html("<br><em>{}</em>", item.why.strip()))
    if external:
        parts.append(format_html('<br><a href="{}">{}</a>', external, _external_label(external)))
    return format_html("<li>{}</li>", format_html_join("", "{}", ((part,) for part in parts)))


def send_email(address: str, message: Message, *, key: str = "") -> str:
    if not address:
        raise PermanentError(_("There is no e-mail address to send to: add one to your profile."))
    text, html = email_bodies(message)
    headers = {}
    if key:
        # The same delivery always carries the same Message-ID, which mail clients use to merge copies.
        digest = hashlib.sha256(f"{address}\n{key}".encode()).hexdigest()[:32]
        headers["Message-ID"] = f"<{digest}@{urlsplit(settings.SITE_URL).hostname or 'lab-portal'}>"
    mail = EmailMultiAlternatives(" ".join(message.subject.split()), text, to=[address], headers=headers)
    mail.attach_alternative(html, "text/html")
    try:
        mail.send()
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()))
        _smtp_failure(code, reason)
    except smtplib.SMTPResponseException as exc:
        _smtp_failure(exc.smtp_code, exc.smtp_error)
    except (smtplib.SMTPException, OSError) as exc:  # refused, dropped or timed-out connections
        raise TemporaryError(_("The mail server could not be reached: %(error)s") % {"error": exc}) from exc
    return _("Accepted by the mail server")


def _smtp_failure(code: int, reason: bytes | str) -> None:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
    answer = f"{code} {text}"
    # 4xx is SMTP's "try again later"; 5xx is a refusal.
    if 400 <= code < 500:
        raise TemporaryError(answer)
    raise PermanentError(answer)


# HTTP -------------------------------------------------------------------------------------------


def _post(url: str, body: dict, *, secret: str = "") -> requests.Response:
    try:
        return requests.post(url, json=body, timeout=settings.NOTIFY_HTTP_TIMEOUT, allow_redirects=False)
    except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        raise TemporaryError(_redact(str(exc), secret)) from None
    except requests.RequestException as exc:
        raise PermanentError(_redact(str(exc), secret)) from None


def _redact(text: str, secret: str) -> str:
    # requests puts the URL in its errors, and Telegram's URL holds the bot token.
    return text.replace(secret, "<token>") if secret else text


def _seconds(value) -> float | None:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def _retry_after_header(value: str | None) -> float | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date; None if neither."""
    if not value:
        return None
    if (seconds := _seconds(value)) is not None:
        return seconds
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None
