"""What a message looks like on each channel, and the one request that sends it.

Each sender makes exactly one attempt and says how it went: it returns the service's answer,
or raises `TemporaryError` (try again, after `retry_after` when the service named a wait),
`PermanentError` (the service refused; its words, or for Slack a fixed text of ours, go to the
person's channel settings) or `OutcomeUnknown` (the message went out and no answer came back: it
may have arrived).
Retrying, and remembering what was sent, is lab_portal.notify's business.

Where a failure happened decides between "try again" and "unknown". Before the request has
left (connection refused, a name that does not resolve, a connect timeout, a TLS handshake that
fails or stalls) nothing reached the service and another attempt is safe. Once all of it has been
written to the connection, a read timeout or a dropped connection says nothing about whether the
service acted on it, and neither Telegram, Slack nor SMTP can be asked afterwards.

On Telegram each item may carry buttons (Save, Share, Not for me, Discuss: what they do is registered
by the apps with lab_portal.chat) and a message may reply under, or replace, an earlier one.
"""

import contextlib
import contextvars
import hashlib
import re
import smtplib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from email.utils import parsedate_to_datetime
from functools import cached_property
from html import unescape
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join, linebreaks
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import slack
from .latex import lead, readable
from .models import Channel

# Telegram counts the text after its HTML is parsed, in UTF-16 code units.
TELEGRAM_LIMIT = 4096
# Slack cuts a message's text at 40,000 characters.
SLACK_LIMIT = 40000
# Per-field caps, so one long abstract or author list never crowds out the rest of a message.
SUBJECT_CAP, TEXT_CAP, TITLE_CAP, AUTHORS_CAP, WHY_CAP, SUMMARY_CAP = 250, 2000, 300, 300, 400, 300
# Telegram refuses a button whose callback data is longer than 64 bytes.
CALLBACK_DATA_LIMIT = 64
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Item:
    """One thing a message is about, usually a paper. `title` and `summary` may hold LaTeX as
    arXiv serves it: every channel shows them as readable Unicode (lab_portal.latex)."""

    title: str
    authors: list[str] = field(default_factory=list)
    why: str = ""  # why it reached this person: the rule that matched, who shared it and their note
    portal_url: str = ""  # absolute, or a path on the portal (SITE_URL is put in front)
    external_url: str = ""  # arXiv's abstract page, or wherever the thing lives outside
    # The abstract: its first sentence or two go under the title where the channel has room.
    summary: str = ""
    # What the item is about ("paper:2401.01234"), so a reply or a button press maps back to it.
    ref: str = ""
    # Telegram buttons, each [label, callback data, URL]: the callback acts (in groups always);
    # a private chat opens the URL instead when it is one Telegram accepts (https).
    buttons: list[list[str]] = field(default_factory=list)
    # Its place in a message of several, shown before the title and on its buttons; 0: none.
    number: int = 0

    @cached_property
    def shown_title(self) -> str:
        return readable(self.title)

    @cached_property
    def shown_summary(self) -> str:
        return clip(lead(self.summary), SUMMARY_CAP) if self.summary.strip() else ""


@dataclass(frozen=True)
class Message:
    """A message for any channel. `text` is plain text; `html`, when given, is the e-mail's
    HTML body and must already be safe (rendered by a template with autoescaping); chat
    channels always use `text`. `url` is the one link of a message without items, and where
    "and N more" leads. On Telegram, `reply_to` puts the message under an earlier one of the
    same chat, and `edits` names the item (`ref`) whose message this one rewrites.
    `attachments` are files for e-mail only, each [filename, text content, MIME type] (a talk's
    .ics): chat channels leave them out, their message already links to what the file holds.
    `secrets` are strings the message carries that must not outlive its sending (the token of a
    link that opens something without an account): its Delivery row replaces them once it is
    closed, sent or not, so a copy of the database holds no live link."""

    subject: str
    dedupe_key: str
    text: str = ""
    html: str = ""
    url: str = ""
    items: list[Item] = field(default_factory=list)
    more: int = 0  # items left out of this message, counted in its "and N more" line
    reply_to: int = 0
    edits: str = ""
    ref: str = ""  # what the whole message is about, when it has no items (a comment)
    attachments: list[list[str]] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def as_payload(self) -> dict:
        payload = asdict(self)
        del payload["dedupe_key"]  # the delivery row keeps it
        if not self.secrets:
            del payload["secrets"]  # the row then has nothing to remove when it closes
        return payload

    @classmethod
    def from_payload(cls, payload: dict, *, dedupe_key: str = "") -> "Message":
        items = [Item(**item) for item in payload.get("items", [])]
        fields = {name: payload.get(name, "") for name in ("subject", "text", "html", "url", "edits", "ref")}
        numbers = {name: int(payload.get(name) or 0) for name in ("more", "reply_to")}
        attachments = [list(attachment) for attachment in payload.get("attachments", [])]
        secrets = list(payload.get("secrets", []))
        return cls(
            dedupe_key=dedupe_key, items=items, attachments=attachments, secrets=secrets, **fields, **numbers
        )


@dataclass(frozen=True)
class Sent:
    """What a service answered to a message it took; Telegram also gives the message's id."""

    response: str
    message_id: int | None = None


class DeliveryError(Exception):
    pass


class TemporaryError(DeliveryError):
    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    pass


class OutcomeUnknown(DeliveryError):
    """The message went out and no answer came back: it may have arrived. Never sent again."""


class Conflict(PermanentError):
    """Telegram refused getUpdates: another poller is running, or a webhook is set."""


class ChatMigrated(DeliveryError):
    """Telegram moved a group to a supergroup with a new chat id: send there instead."""

    def __init__(self, chat_id: str):
        super().__init__(_("The Telegram group moved to chat %(chat_id)s.") % {"chat_id": chat_id})
        self.chat_id = chat_id


def send(
    channel: Channel,
    message: Message,
    *,
    key: str = "",
    address: str = "",
    edit_message_id: int | None = None,
) -> Sent:
    """Send `message` on `channel` once, in the channel owner's language; return the answer.
    `address`, on an e-mail channel, sends to it instead (lab_portal.notify.notify_address);
    `edit_message_id` rewrites that Telegram message instead of sending a new one."""
    with translation.override(channel.language):
        if channel.kind == Channel.Kind.TELEGRAM:
            return send_telegram(channel, message, edit_message_id=edit_message_id)
        if channel.kind == Channel.Kind.SLACK:
            return Sent(send_slack(channel.target, message))
        return Sent(send_email(address or channel.destination, message, key=key))


def split(message: Message, *, kind: str) -> list[Message]:
    """`message` as the fewest parts that each fit the service, cut between items only. Items
    are numbered when there are several; each part repeats the subject with its place ("2/3"),
    the text goes with the first part and "and N more" with the last."""
    if kind == Channel.Kind.TELEGRAM:
        fits = _fits(_telegram_render, TELEGRAM_LIMIT, telegram_visible_length)
    elif kind == Channel.Kind.SLACK:
        fits = _fits(_slack_render, SLACK_LIMIT, _len16)
    else:
        return [message]
    items = message.items
    if len(items) > 1:
        items = [replace(item, number=n) for n, item in enumerate(items, start=1)]
    widest = f"{message.subject} (99/99)"  # measured with room for any part's place
    groups: list[list[Item]] = [[]]
    for item in items:
        trial = replace(message, subject=widest, items=[*groups[-1], item])
        if groups[-1] and not fits(trial):
            groups.append([item])
        else:
            groups[-1].append(item)
    if len(groups) == 1:
        return [replace(message, items=groups[0])]
    last = len(groups)
    return [
        replace(
            message,
            subject=f"{message.subject} ({n}/{last})",
            text=message.text if n == 1 else "",
            items=group,
            more=message.more if n == last else 0,
        )
        for n, group in enumerate(groups, start=1)
    ]


def _fits(render, limit: int, measure) -> Callable[[Message], bool]:
    def fits(message: Message) -> bool:
        text, shown = render(message)
        return shown == len(message.items) and measure(text) <= limit

    return fits


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


def _pack(
    head: str, blocks: list[str], more: Callable[[int], str], *, limit: int, measure, extra: int = 0
) -> tuple[str, int]:
    """The head and as many whole blocks as fit in `limit`, then a line saying how many did not
    (those cut here and the `extra` left out before). Returns the text and the blocks it shows."""
    chosen = [head] if head else []
    for index, block in enumerate(blocks):
        left = len(blocks) - index - 1 + extra
        candidate = [*chosen, block, *([more(left)] if left else [])]
        if measure("\n\n".join(candidate)) > limit:
            return "\n\n".join([*chosen, more(len(blocks) - index + extra)]), index
        chosen.append(block)
    if extra:
        chosen.append(more(extra))
    return "\n\n".join(chosen), len(blocks)


def _fit(head: str, items: list, block, more, *, limit: int, measure, extra: int = 0) -> tuple[str, int]:
    """Every item that fits, each with its summary while there is room: when all the items fit
    without summaries, the first ones get theirs, as many as still fit; else none do. Returns
    the text and how many items it shows, like _pack."""
    bare = [block(item, summary=False) for item in items]
    text, shown = _pack(head, bare, more, limit=limit, measure=measure, extra=extra)
    if shown < len(items):
        return text, shown
    full = [block(item, summary=True) for item in items]
    start, tail = [head] if head else [], [more(extra)] if extra else []
    for count in range(len(items), 0, -1):
        candidate = "\n\n".join([*start, *full[:count], *bare[count:], *tail])
        if measure(candidate) <= limit:
            return candidate, shown
    return text, shown


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


def _telegram_render(message: Message) -> tuple[str, int]:
    head = [f"<b>{_tg(clip(' '.join(message.subject.split()), SUBJECT_CAP))}</b>"]
    if message.text.strip():
        head.append(_tg(clip(message.text, TEXT_CAP)))
    if url := absolute_url(message.url):
        head.append(_tg_link(url, _("Open in the portal")))
    more_url = absolute_url(message.url) or settings.SITE_URL + "/"

    def more(count: int) -> str:
        return _tg_link(more_url, _more_text(count))

    return _fit(
        "\n".join(head),
        message.items,
        _telegram_item,
        more,
        limit=TELEGRAM_LIMIT,
        measure=telegram_visible_length,
        extra=message.more,
    )


def _telegram_item(item: Item, *, summary: bool = True) -> str:
    portal, external = absolute_url(item.portal_url), absolute_url(item.external_url)
    title = clip(item.shown_title, TITLE_CAP)
    lines = [f"<b>{_tg_link(portal, title) if portal else _tg(title)}</b>"]
    if item.number:
        lines[0] = f"{item.number}. {lines[0]}"
    if summary and item.shown_summary:
        lines.append(_tg(item.shown_summary))
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


def telegram_keyboard(items: list[Item], *, group: bool) -> list[list[dict]]:
    """One row of buttons per item that has any, labelled with the item's number if it has one."""
    rows = []
    for item in items:
        row = []
        for label, data, url in item.buttons:
            text = f"{label} {item.number}" if item.number else label
            link = absolute_url(url) if url else ""
            if link.startswith("https://") and not (group and data):
                row.append({"text": text, "url": link})
            elif data and len(data.encode()) <= CALLBACK_DATA_LIMIT:
                row.append({"text": text, "callback_data": data})
        if row:
            rows.append(row)
    return rows


def send_telegram(channel: Channel, message: Message, *, edit_message_id: int | None = None) -> Sent:
    text, shown = _telegram_render(message)
    body = {
        "chat_id": channel.target,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if keyboard := telegram_keyboard(message.items[:shown], group=channel.is_group_chat):
        body["reply_markup"] = {"inline_keyboard": keyboard}
    if edit_message_id:
        body["message_id"] = edit_message_id
        try:
            telegram_call("editMessageText", body)
        except PermanentError as error:
            if "message is not modified" not in str(error):
                raise
        return Sent(_("Telegram message %(id)s edited") % {"id": edit_message_id}, edit_message_id)
    if message.reply_to:
        # Should the message replied to be gone, the reply still goes, just not under it.
        body["reply_parameters"] = {"message_id": message.reply_to, "allow_sending_without_reply": True}
    result = telegram_call("sendMessage", body)
    message_id = result.get("message_id") if isinstance(result, dict) else None
    message_id = message_id if isinstance(message_id, int) else None
    return Sent(_("Telegram message %(id)s") % {"id": message_id or "?"}, message_id)


def telegram_call(method: str, body: dict, *, timeout: float | None = None):
    """One Bot API call; its `result`, or TemporaryError, PermanentError or ChatMigrated."""
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        raise PermanentError(_("The portal has no Telegram bot: TELEGRAM_BOT_TOKEN is not set."))
    response = _post(f"{settings.TELEGRAM_API_BASE}/bot{token}/{method}", body, secret=token, timeout=timeout)
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
    if response.status_code == 409:
        raise Conflict(description)
    if not answer.get("ok"):
        raise PermanentError(description)
    return answer.get("result")


# Slack ------------------------------------------------------------------------------------------


def _slack(text: str) -> str:
    # The three characters Slack's mrkdwn reserves for its own markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    # Inside <url|label> a "|" or ">" in the URL would end it early: percent-encode them.
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{_slack(label).replace('|', '¦')}>"


def slack_text(message: Message) -> str:
    return _slack_render(message)[0]


def _slack_render(message: Message) -> tuple[str, int]:
    head = [f"*{_slack(clip(' '.join(message.subject.split()), SUBJECT_CAP))}*"]
    if message.text.strip():
        head.append(_slack(clip(message.text, TEXT_CAP)))
    if url := absolute_url(message.url):
        head.append(_slack_link(url, _("Open in the portal")))
    more_url = absolute_url(message.url) or settings.SITE_URL + "/"

    def more(count: int) -> str:
        return _slack_link(more_url, _more_text(count))

    return _fit(
        "\n".join(head),
        message.items,
        _slack_item,
        more,
        limit=SLACK_LIMIT,
        measure=_len16,
        extra=message.more,
    )


def _slack_item(item: Item, *, summary: bool = True) -> str:
    portal, external = absolute_url(item.portal_url), absolute_url(item.external_url)
    title = clip(item.shown_title, TITLE_CAP)
    lines = [f"*{_slack_link(portal, title)}*" if portal else f"*{_slack(title)}*"]
    if item.number:
        lines[0] = f"{item.number}. {lines[0]}"
    if summary and item.shown_summary:
        lines.append(_slack(item.shown_summary))
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
    # Through _post, which knows whether the request had left when it failed; the texts kept are
    # ours, so the page never tells what answered (or did not) at the far end.
    try:
        response = _post(url, body)
    except OutcomeUnknown:
        raise OutcomeUnknown(_unknown_text(_("Slack did not answer in time"))) from None
    except TemporaryError:
        raise TemporaryError(_("Slack could not be reached.")) from None
    except PermanentError:
        raise PermanentError(_("Slack could not be reached.")) from None
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
    lines = [item.shown_title]
    if item.shown_summary:
        lines.append(item.shown_summary)
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
    title = format_html('<a href="{}">{}</a>', portal, item.shown_title) if portal else item.shown_title
    parts = [format_html("<strong>{}</strong>", title)]
    if item.shown_summary:
        parts.append(format_html("<br>{}", item.shown_summary))
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
    for filename, content, mimetype in message.attachments:
        mail.attach(filename, content, mimetype)
    connection = mailers.default
    try:
        _smtp_open(connection)
        _smtp_send(connection, mail)
    finally:
        # A QUIT that fails changes nothing: the message's fate was decided before it.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()
    return _("Accepted by the mail server")


def _smtp_open(connection) -> None:
    """Connect, start TLS and log in: nothing of the message has left if this fails."""
    try:
        connection.open()
    except smtplib.SMTPResponseException as exc:
        _smtp_failure(exc.smtp_code, exc.smtp_error)
    except (smtplib.SMTPException, OSError) as exc:  # refused, unresolved or timed out
        raise TemporaryError(_("The mail server could not be reached: %(error)s") % {"error": exc}) from exc


def _smtp_send(connection, mail: EmailMultiAlternatives) -> None:
    try:
        connection.send_messages([mail])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()))
        _smtp_failure(code, reason)
    except smtplib.SMTPResponseException as exc:
        _smtp_failure(exc.smtp_code, exc.smtp_error)
    except (smtplib.SMTPException, OSError) as exc:  # the connection broke or fell silent mid-way
        raise OutcomeUnknown(_unknown_text(exc)) from exc


def _smtp_failure(code: int, reason: bytes | str) -> None:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
    answer = f"{code} {text}"
    # 4xx is SMTP's "try again later"; 5xx is a refusal.
    if 400 <= code < 500:
        raise TemporaryError(answer)
    raise PermanentError(answer)


# HTTP -------------------------------------------------------------------------------------------


# Whether the current request has been written to its connection in full (see the module's note).
_written = contextvars.ContextVar("notify_request_written", default=False)


class _NotesWhenWritten:
    def request(self, *args, **kwargs):
        super().request(*args, **kwargs)
        _written.set(True)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = type("_HTTPConnection", (_NotesWhenWritten, HTTPConnection), {})


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = type("_HTTPSConnection", (_NotesWhenWritten, HTTPSConnection), {})


class _Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter, its connections (direct or through an HTTP proxy) noting when written."""

    pools = {"http": _HTTPPool, "https": _HTTPSPool}

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self.pools

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self.pools
        return manager


def _post(url: str, body: dict, *, secret: str = "", timeout: float | None = None) -> requests.Response:
    written = _written.set(False)
    try:
        with requests.Session() as session:
            session.mount("http://", _Adapter())
            session.mount("https://", _Adapter())
            return session.post(
                url, json=body, timeout=timeout or settings.NOTIFY_HTTP_TIMEOUT, allow_redirects=False
            )
    except requests.RequestException as exc:
        error = _redact(str(exc), secret)
        if _written.get():
            raise OutcomeUnknown(_unknown_text(error)) from None
        if isinstance(exc, requests.Timeout | requests.ConnectionError):
            raise TemporaryError(error) from None
        raise PermanentError(error) from None
    finally:
        _written.reset(written)


def _unknown_text(error) -> str:
    return _(
        "Outcome unknown: no answer after the message was sent (%(error)s). It may have arrived, "
        "so it is not sent again."
    ) % {"error": error}


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
