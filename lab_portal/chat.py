"""The lab bot listens: Telegram updates come in here, by webhook or by long polling.

Every update is stored first (`receive`: one TelegramUpdate row per update_id) and handled once
(`handle`: the row is locked and marked in the transaction that does the work), so an update
Telegram delivers twice, or two pollers both fetch, or a worker that dies half-way, never acts
twice. The sender is recognised by the private chat they linked with `/start <code>`; what they
ask for is handed to the app that owns it. Apps register their part at start-up (in
AppConfig.ready), so this module never imports them:

    chat.register_action("save", label=gettext_lazy("Save"), run=save)  # a button under an item
    chat.register_reply("paper", run=comment_on_paper)                   # a reply to an item's message
    chat.register_edit("comment", run=edit_comment_from_chat)            # that reply edited
    chat.register_command("today", help=gettext_lazy("…"), run=today)    # /today

Things are named by refs such as "paper:2401.01234" (lab_portal.models.ChatItem). What the
bot says goes through lab_portal.notify on the chat's channel, except the few words it says in a
chat the portal has no channel for (how to link), which lab_portal.telegram sends directly.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import telegram
from .channels import Item, Message
from .models import Channel, ChatItem, ChatLinkCode, Team, TelegramUpdate, User
from .notify import notify_channel

logger = logging.getLogger(__name__)

# An update still waiting this long after it arrived lost its task: the beat handles it.
WAITING_AFTER = timedelta(minutes=1)
# Telegram redelivers an update for a day at most; handled rows are kept a while longer, then go.
KEEP_HANDLED = timedelta(days=7)
SWEEP_BATCH = 500
SEARCH_MAX = 300


@dataclass(frozen=True)
class Outcome:
    """What a button did: `answer` is shown to the person who pressed it; `post`, when given, is
    the thing's own message, posted once in the chat under the pressed one (in a group, replies
    to it become comments)."""

    answer: str
    post: Message | None = None


@dataclass(frozen=True)
class _Action:
    label: str  # a lazy translation, read in the language of each message
    run: Callable[..., Outcome]  # run(person, ref, *, group) -> Outcome


@dataclass(frozen=True)
class _Command:
    help: str  # a lazy translation
    run: Callable[[User, str], Message]  # run(person, words) -> the answer


_actions: dict[str, _Action] = {}
_replies: dict[str, Callable[..., str | None]] = {}
_edits: dict[str, Callable[..., None]] = {}
_commands: dict[str, _Command] = {}


def register_action(name: str, *, label: str, run: Callable[..., Outcome]) -> None:
    _actions[name] = _Action(label=label, run=run)


def register_reply(kind: str, *, run: Callable[..., str | None]) -> None:
    """`run(person, ref, text, chat_id)` for a reply to a message about a thing of `kind`;
    returns the ref of what it made (a comment), which the reply's own message is then about."""
    _replies[kind] = run


def register_edit(kind: str, *, run: Callable[..., None]) -> None:
    """`run(person, ref, text, chat_id)` when someone edits their message that made a `kind`."""
    _edits[kind] = run


def register_command(name: str, *, help: str, run: Callable[[User, str], Message]) -> None:
    _commands[name] = _Command(help=help, run=run)


def button(action: str, ref: str, *, url: str = "") -> list[str]:
    """A button for an item, labelled in the active language (see channels.Item.buttons)."""
    return [str(_actions[action].label), f"{action}:{ref}", url]


# Receiving ------------------------------------------------------------------------------------


def receive(update: dict) -> TelegramUpdate | None:
    """Store an update as it arrives. None when it was stored before: Telegram sent it again,
    or another poller got it too. Raises ValueError for something that is not an update."""
    update_id = update.get("update_id") if isinstance(update, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
        raise ValueError("An update needs an integer update_id.")
    update = _without_nul(update)
    row, created = TelegramUpdate.objects.get_or_create(
        update_id=update_id, defaults={"payload": update, "kind": _kind(update)}
    )
    return row if created else None


def _kind(update: dict) -> str:
    return next((key for key in update if key != "update_id"), "")[:40]


def _without_nul(value):
    # PostgreSQL stores no NUL character, in text or in JSON: a message holding one would fail.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def handle(update_id: int) -> bool:
    """Handle a stored update unless it was handled already; True when this call handled it.

    The work and the mark happen in one transaction on the locked row: a second worker skips
    it, and one that dies half-way leaves it waiting for the beat. What the bot says is queued
    in that transaction too, so it goes out once the update counts as handled, and only then."""
    with transaction.atomic():
        row = (
            TelegramUpdate.objects.select_for_update(skip_locked=True)
            .filter(update_id=update_id, handled_at__isnull=True)
            .first()
        )
        if row is None:
            return False
        error = ""
        try:
            with transaction.atomic():
                _dispatch(row.payload)
        except Exception as exc:
            # One update the portal cannot handle must not block the ones after it.
            logger.exception("Telegram update %s could not be handled", update_id)
            error = f"{exc.__class__.__name__}: {exc}"[:2000]
        TelegramUpdate.objects.filter(pk=row.pk).update(handled_at=timezone.now(), payload={}, error=error)
    return True


def handle_waiting() -> dict[str, int]:
    """The beat's safety net: updates whose task was lost are handled, old handled rows go."""
    now = timezone.now()
    waiting = list(
        TelegramUpdate.objects.filter(handled_at__isnull=True, received_at__lt=now - WAITING_AFTER)
        .order_by("update_id")
        .values_list("update_id", flat=True)[:SWEEP_BATCH]
    )
    handled = sum(handle(update_id) for update_id in waiting)
    old = TelegramUpdate.objects.filter(handled_at__lt=now - KEEP_HANDLED).order_by("pk")
    forgotten, _details = TelegramUpdate.objects.filter(
        pk__in=list(old.values_list("pk", flat=True)[:SWEEP_BATCH])
    ).delete()
    return {"handled": handled, "forgotten": forgotten}


# What an update asks for ----------------------------------------------------------------------


@dataclass
class _Said:
    """One message someone wrote to the bot, and what the portal knows of its chat and sender."""

    update_id: int
    chat_id: int
    private: bool
    message_id: int
    sender_id: int
    language: str
    text: str
    chat_title: str
    person: User | None
    channel: Channel | None

    @classmethod
    def of(cls, update_id: int, message: dict) -> "_Said | None":
        chat, sender = message.get("chat") or {}, message.get("from") or {}
        chat_id, sender_id = chat.get("id"), sender.get("id")
        if not isinstance(chat_id, int) or not isinstance(sender_id, int) or sender.get("is_bot"):
            return None
        person = _person(sender_id)
        private = chat.get("type") == "private"
        title = f"@{chat['username']}" if private and chat.get("username") else chat.get("title") or ""
        if private and not title:
            title = " ".join(filter(None, [chat.get("first_name"), chat.get("last_name")]))
        return cls(
            update_id=update_id,
            chat_id=chat_id,
            private=private,
            message_id=message.get("message_id") if isinstance(message.get("message_id"), int) else 0,
            sender_id=sender_id,
            language=_language(person, sender),
            text=str(message.get("text") or message.get("caption") or "").strip(),
            chat_title=str(title)[:255],
            person=person,
            channel=Channel.objects.telegram_chat(chat_id).select_related("person", "team").first(),
        )


def _person(telegram_user_id) -> User | None:
    if not isinstance(telegram_user_id, int):
        return None
    channel = Channel.objects.linked_account(telegram_user_id).select_related("person").first()
    return channel.person if channel else None


def _language(person: User | None, sender: dict) -> str:
    if person is not None:
        return person.language
    code = str(sender.get("language_code") or "").split("-")[0]
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _dispatch(update: dict) -> None:
    update_id = update["update_id"]
    if isinstance(query := update.get("callback_query"), dict):
        _pressed(query)
    elif isinstance(message := update.get("message"), dict):
        if message.get("migrate_to_chat_id"):
            _moved(message)
        elif said := _Said.of(update_id, message):
            with translation.override(said.language):
                _said(said, message)
    elif isinstance(message := update.get("edited_message"), dict) and (said := _Said.of(update_id, message)):
        _edited(said)


def _command(text: str) -> tuple[str, str]:
    """("today", "words") for "/today@lab_bot words"; ("", "") when the text is no command, or
    a command for another bot in the same group."""
    if not text.startswith("/"):
        return "", ""
    head, _space, words = text.partition(" ")
    name, _at, bot = head[1:].partition("@")
    if bot and bot.lower() != telegram.bot_username().lower():
        return "", ""
    return name.lower(), words.strip()


def _said(said: _Said, message: dict) -> None:
    command, words = _command(said.text)
    if command in ("start", "link") and words:
        _link(said, words.split()[0])
    elif command in ("start", "help"):
        _answer(said, _help())
    elif command in _commands:
        if said.person is None:
            _answer(said, _how_to_link())
        elif said.channel is not None or said.private:
            _answer(said, _commands[command].run(said.person, words[:SEARCH_MAX]))
    elif command and said.private:
        _answer(said, _help())
    elif not said.private and isinstance(message.get("reply_to_message"), dict):
        _replied(said, message["reply_to_message"].get("message_id"))


def _answer(said: _Said, message: Message) -> None:
    """Answer in the chat that asked, under the message that asked."""
    if said.channel is None:
        if said.private or _command(said.text)[0] in ("start", "help", "link"):
            text = "\n\n".join(part for part in (message.subject, message.text) if part)
            transaction.on_commit(lambda: telegram.say(said.chat_id, text, reply_to=said.message_id))
        return
    key = message.dedupe_key or f"answer:{said.update_id}"
    notify_channel(said.channel, replace(message, dedupe_key=key, reply_to=said.message_id))


def _help() -> Message:
    lines = [f"/{name} — {command.help}" for name, command in sorted(_commands.items())]
    lines.append(_("/help — this list"))
    lines.append(
        _(
            "Under each paper: Save (to your library), Share (with those you shared with last time), "
            "Not for me and Discuss. In a linked group, reply to a paper's own message and your reply "
            "becomes a comment in the portal's thread."
        )
    )
    return Message(subject=_("The Lab Portal bot"), dedupe_key="", text="\n".join(lines), url=_profile_url())


def _how_to_link() -> Message:
    return Message(
        subject=_("Your Telegram is not linked to the Lab Portal yet."),
        dedupe_key="",
        text=_("Open your profile in the portal and press “Connect Telegram”: %(url)s")
        % {"url": _profile_url()},
    )


def _profile_url() -> str:
    return settings.SITE_URL + reverse("profile")


def _digest(telegram_user_id: int) -> str:
    # Keys name a Telegram account without storing its id: an unlinked person leaves no trace.
    return hashlib.sha256(f"{settings.SECRET_KEY}:{telegram_user_id}".encode()).hexdigest()[:20]


# Linking --------------------------------------------------------------------------------------


def _link(said: _Said, code_text: str) -> None:
    code = ChatLinkCode.find(code_text)
    refusal = _refusal(said, code)
    if refusal:
        _answer(said, Message(subject=refusal, dedupe_key=""))
        return
    if not code.use():
        _answer(
            said,
            Message(
                subject=_("This code was just used or has expired: ask the portal for a new one."),
                dedupe_key="",
            ),
        )
        return
    now = timezone.now()
    if code.scope == ChatLinkCode.Scope.PERSON:
        channel = _link_private_chat(code.person, said, now=now)
        with translation.override(code.person.language):
            message = Message(
                subject=_("Telegram is linked to your Lab Portal account, %(name)s.")
                % {"name": code.person.name},
                dedupe_key=f"linked:{said.update_id}",
                text=_("Your papers arrive here each morning. /help lists what the bot can do."),
            )
    else:
        channel = _link_group(code.team, said, now=now)
        owner = code.team.name if code.team else _("the lab")
        message = Message(
            subject=_("This group is linked to the Lab Portal for %(owner)s.") % {"owner": owner},
            dedupe_key=f"linked:{said.update_id}",
            text=_(
                "Papers arrive here. Reply to a paper's own message and your reply becomes a comment "
                "in the portal's thread; people link their own Telegram on their portal profile."
            ),
        )
    said.channel = channel
    _answer(said, message)


def _refusal(said: _Said, code: ChatLinkCode | None) -> str:
    """Why this code cannot link this chat, or "" when it can."""
    if code is None or not code.person.is_active:
        return _("This code is unknown, used or expired: ask the portal for a new one.")
    if said.private != (code.scope == ChatLinkCode.Scope.PERSON):
        if said.private:
            return _("This code links a group: add the bot to the group and send /link with the code there.")
        return _("This code links a private chat: open the link from your portal profile instead.")
    if code.scope == ChatLinkCode.Scope.TEAM and not code.person.leads_team(code.team_id):
        return _("Only a lead of the team can link its group.")
    if code.scope == ChatLinkCode.Scope.LAB and not code.person.is_portal_admin:
        return _("Only the portal's admin can link the lab's group.")
    if code.scope == ChatLinkCode.Scope.PERSON:
        holder = Channel.objects.linked_account(said.sender_id).exclude(person=code.person).first()
        if holder is not None:
            return _(
                "This Telegram account is linked to another portal account: that person removes the "
                "channel on their Notification channels page first."
            )
    return ""


def _link_private_chat(person: User, said: _Said, *, now) -> Channel:
    channel, _created = Channel.objects.get_or_create(
        person=person, kind=Channel.Kind.TELEGRAM, target=str(said.chat_id)
    )
    Channel.objects.filter(pk=channel.pk).update(
        linked_at=now, title=said.chat_title, enabled=True, last_error="", last_error_at=None
    )
    # Channels other people once typed by hand for this chat were never proven theirs: its owner
    # has now spoken, so those stop (each is told why on their channels page).
    for stray in (
        Channel.objects.filter(
            kind=Channel.Kind.TELEGRAM, target=str(said.chat_id), person__isnull=False, linked_at__isnull=True
        )
        .exclude(person=person)
        .select_related("person")
    ):
        with translation.override(stray.person.language):
            reason = _("Switched off: the owner of this Telegram chat linked it to their own account.")
        Channel.objects.filter(pk=stray.pk).update(enabled=False, last_error=reason, last_error_at=now)
    channel.refresh_from_db()
    return channel


def _link_group(team: Team | None, said: _Said, *, now) -> Channel:
    channel, _created = Channel.objects.get_or_create(
        person=None, team=team, kind=Channel.Kind.TELEGRAM, target=str(said.chat_id)
    )
    Channel.objects.filter(pk=channel.pk).update(
        linked_at=now, title=said.chat_title, enabled=True, last_error="", last_error_at=None
    )
    channel.refresh_from_db()
    return channel


def _moved(message: dict) -> None:
    """A group became a supergroup with a new id: its channels follow it."""
    old, new = (message.get("chat") or {}).get("id"), message.get("migrate_to_chat_id")
    if isinstance(old, int) and isinstance(new, int):
        for channel in Channel.objects.telegram_chat(old):
            if (
                not Channel.objects.telegram_chat(new)
                .filter(person=channel.person, team=channel.team)
                .exists()
            ):
                Channel.objects.filter(pk=channel.pk).update(target=str(new))


# Replies, edits and buttons -------------------------------------------------------------------


def _replied(said: _Said, replied_to) -> None:
    """A reply in a group to a message about one thing becomes what that thing's app makes of it
    (a comment); the reply's own message is then about that."""
    if said.channel is None or said.channel.person_id is not None or not isinstance(replied_to, int):
        return  # a group the portal does not post to, or a reply to something else
    items = list(ChatItem.objects.in_message(said.chat_id, replied_to))
    if not items or not said.text:
        return
    if said.person is None:
        message = Message(
            subject=_("Replies here reach the portal's thread once your Telegram is linked."),
            dedupe_key=f"hint:{_digest(said.sender_id)}",
            text=_("Open your profile in the portal and press “Connect Telegram”: %(url)s")
            % {"url": _profile_url()},
        )
        _answer(said, message)
        return
    if len(items) > 1 or not items[0].sole:
        message = Message(
            subject=_(
                "This post holds several papers: press Discuss under one, then reply to its own message."
            ),
            dedupe_key=f"several:{replied_to}:{_digest(said.sender_id)}",
        )
        _answer(said, message)
        return
    run = _replies.get(items[0].kind)
    made = run(said.person, items[0].ref, said.text, str(said.chat_id)) if run else None
    if made:
        ChatItem.objects.create(
            channel=said.channel, ref=made, chat_id=str(said.chat_id), message_id=said.message_id
        )


def _edited(said: _Said) -> None:
    if said.person is None or not said.text:
        return
    for item in ChatItem.objects.in_message(said.chat_id, said.message_id).filter(delivery__isnull=True):
        if run := _edits.get(item.kind):
            with translation.override(said.person.language):
                run(said.person, item.ref, said.text, str(said.chat_id))


def _pressed(query: dict) -> None:
    query_id, data = str(query.get("id") or ""), str(query.get("data") or "")
    sender, message = query.get("from") or {}, query.get("message") or {}
    chat_id = (message.get("chat") or {}).get("id")
    person = _person(sender.get("id"))
    alert = person is None
    with translation.override(_language(person, sender)):
        if person is None:
            answer = _(
                "Link your Telegram to the Lab Portal first: on your profile, press “Connect Telegram”."
            )
        else:
            answer = _press(person, data, chat_id=chat_id, message_id=message.get("message_id"))
    if query_id:
        transaction.on_commit(lambda: telegram.answer_button(query_id, answer, alert=alert))


def _press(person: User, data: str, *, chat_id, message_id) -> str:
    name, _colon, ref = data.partition(":")
    action = _actions.get(name)
    if action is None or not ref:
        return _("This button no longer works.")
    channel = Channel.objects.telegram_chat(chat_id).first() if isinstance(chat_id, int) else None
    outcome = action.run(person, ref, group=channel is not None and channel.is_group_chat)
    if outcome.post is not None and channel is not None:
        _post_own_message(channel, message_id, ref, outcome.post)
    return outcome.answer


def _post_own_message(channel: Channel, under, ref: str, message: Message) -> None:
    """The thing's own message in this chat, once while one stands (replies attach to it)."""
    if ChatItem.objects.standing().filter(chat_id=channel.target, ref=ref, sole=True).exists():
        return
    key = f"own:{ref}:{int(timezone.now().timestamp() * 1000)}"
    notify_channel(channel, replace(message, dedupe_key=key, reply_to=under if isinstance(under, int) else 0))


__all__ = [
    "Item",
    "Outcome",
    "button",
    "handle",
    "handle_waiting",
    "receive",
    "register_action",
    "register_command",
    "register_edit",
    "register_reply",
]
