"""Local stand-ins on 127.0.0.1 for the services notifications go to.

- `TelegramServer`: the Bot API the lab bot uses. `sendMessage` and `editMessageText` check what
  Telegram checks (the token, the HTML it understands, 4096 characters after parsing, inline
  keyboards, the message to edit) and keep each chat's messages; `getUpdates` (long polling
  with offsets, 409 while a webhook is set or another poll takes over), `setWebhook` (then each
  update is posted to the portal with the secret token, as Telegram does), `deleteWebhook`,
  `getWebhookInfo`, `answerCallbackQuery` and `getMe`. A test plays the people in the chats:
  `say(...)` (messages, commands, replies), `press(...)` (a button) and `edit(...)`;
- `SlackServer`: an incoming webhook over HTTPS at a host name of its own (by default
  hooks.slack.test, resolved to it for the test process by `local_hosts`), answering "ok" or
  Slack's plain-text errors;
- `SmtpServer`: a real SMTP server (aiosmtpd) that keeps every message it accepts.

Each records what arrived (`arrivals`), and `script(...)` puts one-off replies (429 with a wait,
500, 400 with a description, a hang past the client's timeout, the normal answer given too late)
in front of the normal answer. `SilentServer` is a bare TCP server for what an HTTP server cannot
stage: a connection dropped after the request arrived, or a TLS handshake that never finishes.
"""

import asyncio
import datetime
import email
import email.policy
import ipaddress
import itertools
import json
import os
import socket
import ssl
import struct
import tempfile
import threading
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import urllib3.util.connection
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TOKEN = "123456:TEST-token_for-the-stand-in"
BOT_USERNAME = "lab_portal_test_bot"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
# Tags Telegram's HTML parse mode accepts, and the named entities it knows.
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                 "span", "tg-spoiler", "tg-emoji", "blockquote"}  # fmt: skip
TELEGRAM_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass
class Reply:
    status: int = 200
    body: dict | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds the server sits on the request before answering (past the client's timeout: a hang).
    delay: float = 0.0
    # Handle the request as the service always does (a message is posted), then answer after `delay`.
    as_usual: bool = False
    # Set by the test when the server may answer: a request held for exactly as long as it wants.
    hold: threading.Event | None = None


def telegram_error(status: int, description: str, **parameters) -> Reply:
    body = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status=status, body=body)


def rate_limited(retry_after: int) -> Reply:
    return telegram_error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def hang(seconds: float) -> Reply:
    return Reply(status=200, body={"ok": True, "result": {"message_id": 0}}, delay=seconds)


def accepted_late(seconds: float) -> Reply:
    """The service takes the message (it is in the chat) and answers only after `seconds`."""
    return Reply(delay=seconds, as_usual=True)


@dataclass
class Arrival:
    at: float  # time.monotonic() when the request came in
    path: str
    body: dict
    headers: dict[str, str]
    text: str = ""  # Telegram: the text as the chat shows it, after the HTML is parsed


# TLS and names --------------------------------------------------------------------------------

# What the stand-ins' certificate is good for: their host names and 127.0.0.1.
TLS_NAMES = ["hooks.slack.test", "hooks.slack.com", "localhost"]


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the throwaway authority clients are told to trust
    chain: Path  # the server's certificate
    key: Path


_certificates: Certificates | None = None


def certificates() -> Certificates:
    """A throwaway authority and a server certificate signed by it, made once per process."""
    global _certificates
    if _certificates is None:
        _certificates = _make_certificates(Path(tempfile.mkdtemp(prefix="lab-portal-tls-")))
    return _certificates


def _make_certificates(folder: Path) -> Certificates:
    # Fixed dates, far apart: tests freeze the clock at many moments, and TLS checks the real one.
    start, end = (
        datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
    )
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lab Portal test authority")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    names = [x509.DNSName(name) for name in TLS_NAMES] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TLS_NAMES[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(ca=folder / "ca.pem", chain=folder / "server.pem", key=folder / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.chain.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


# name → the port on 127.0.0.1 that stands for its HTTPS port 443
_LOCAL_HOSTS: dict[str, int] = {}
_connect = urllib3.util.connection.create_connection


def _create_connection(address, *args, **kwargs):
    host, port = address
    if host in _LOCAL_HOSTS:
        host, port = "127.0.0.1", _LOCAL_HOSTS[host] if port == 443 else port
    return _connect((host, port), *args, **kwargs)


@contextmanager
def local_hosts(*names: str, port: int):
    """Resolve host names to 127.0.0.1 for this process, as a line in /etc/hosts would, with
    their HTTPS port 443 served by `port` (a test cannot listen on 443); other ports of the
    name go to the same port on 127.0.0.1, so nothing a test sends to the name leaves the
    machine. Clients trust the stand-ins' authority meanwhile (requests reads REQUESTS_CA_BUNDLE)."""
    saved_ports = {name: _LOCAL_HOSTS.get(name) for name in names}
    saved_bundle = os.environ.get("REQUESTS_CA_BUNDLE")
    _LOCAL_HOSTS.update(dict.fromkeys(names, port))
    urllib3.util.connection.create_connection = _create_connection
    os.environ["REQUESTS_CA_BUNDLE"] = str(certificates().ca)
    try:
        yield
    finally:
        for name, saved in saved_ports.items():
            if saved is None:
                _LOCAL_HOSTS.pop(name, None)
            else:
                _LOCAL_HOSTS[name] = saved
        if not _LOCAL_HOSTS:
            urllib3.util.connection.create_connection = _connect
        if saved_bundle is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = saved_bundle


class _TLSServer(ThreadingHTTPServer):
    """HTTPS with the stand-ins' certificate; counts every connection, even one that never
    completes a TLS handshake or a request."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connections = 0
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certificates().chain, certificates().key)

    def get_request(self):
        sock, address = super().get_request()
        self.connections += 1
        sock.settimeout(5)  # a client that never speaks TLS must not hold up the next
        return self.context.wrap_socket(sock, server_side=True), address


class _StandIn(ABC):
    """A threaded HTTP(S) server answering POSTs from a script, then with `answer(arrival)`."""

    def __init__(self, *, tls: bool = False):
        self.arrivals: list[Arrival] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._httpd = (_TLSServer if tls else ThreadingHTTPServer)(("127.0.0.1", 0), _handler(self))
        # A hanging reply must not hold up the end of the test that gave up on it.
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_port

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """Connections accepted (HTTPS stand-ins only): what reached the port at all."""
        return self._httpd.connections

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.arrivals.clear()

    def wait_for(self, count: int, timeout: float = 30) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.arrivals

    def reply(self, arrival: Arrival) -> Reply:
        with self._lock:
            self.arrivals.append(arrival)
            scripted = self._script.pop(0) if self._script else None
        if scripted is None:
            return self.answer(arrival)
        return replace(self.answer(arrival), delay=scripted.delay) if scripted.as_usual else scripted

    @abstractmethod
    def answer(self, arrival: Arrival) -> Reply:
        """What the service answers when no scripted reply is queued."""


@dataclass
class ChatMessage:
    """A message in a chat as the stand-in keeps it: what a person sees and can press or reply to."""

    chat_id: int
    message_id: int
    text: str
    sender: dict
    keyboard: list = field(default_factory=list)
    reply_to: int | None = None

    def button(self, label: str) -> dict:
        for row in self.keyboard:
            for button in row:
                if button["text"] == label:
                    return button
        raise KeyError(f"No button {label!r} under message {self.message_id}: {self.labels}")

    @property
    def labels(self) -> list[str]:
        return [button["text"] for row in self.keyboard for button in row]


def person(user_id: int, first_name: str, *, username: str = "", language: str = "en") -> dict:
    """A Telegram user, as updates name them."""
    user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language}
    if username:
        user["username"] = username
    return user


def private_chat(user: dict) -> dict:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    if user.get("username"):
        chat["username"] = user["username"]
    return chat


def group_chat(chat_id: int, title: str) -> dict:
    return {"id": chat_id, "type": "supergroup", "title": title}


class TelegramServer(_StandIn):
    def __init__(self, token: str = TOKEN):
        super().__init__()
        self.token = token
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(700_000_001)
        self._updates: list[dict] = []
        self._news = threading.Condition(self._lock)
        self._poll_generation = 0
        self.messages: dict[tuple[int, int], ChatMessage] = {}
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_answers: list[int] = []  # the portal's HTTP status for each update posted to it
        self.bot = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Lab",
            "username": BOT_USERNAME,
        }

    def configure(self, settings) -> None:
        settings.TELEGRAM_API_BASE = self.base
        settings.TELEGRAM_BOT_TOKEN = self.token
        settings.NOTIFY_HTTP_TIMEOUT = 1

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._updates.clear()
            self.messages.clear()
            self.webhook_url = self.webhook_secret = ""
            self.webhook_answers.clear()

    def answer(self, arrival: Arrival) -> Reply:
        prefix = f"/bot{self.token}/"
        if not arrival.path.startswith(prefix):
            return telegram_error(404, "Not Found") if arrival.path.startswith("/bot") else Reply(404)
        method = arrival.path.removeprefix(prefix)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return telegram_error(404, "Not Found")
        return handler(arrival)

    # The methods -------------------------------------------------------------------------------

    def _getMe(self, arrival: Arrival) -> Reply:
        return _ok(self.bot)

    def _sendMessage(self, arrival: Arrival) -> Reply:
        body = arrival.body
        text, error = self._checked_text(arrival)
        if error:
            return error
        keyboard, error = _checked_keyboard(body.get("reply_markup"))
        if error:
            return error
        chat_id = _chat_id(body.get("chat_id"))
        reply_to = (body.get("reply_parameters") or {}).get("message_id")
        with self._lock:
            message = ChatMessage(chat_id, next(self._ids), text, self.bot, keyboard, reply_to)
            self.messages[(chat_id, message.message_id)] = message
        chat = {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private"}
        return _ok({"message_id": message.message_id, "chat": chat, "text": text})

    def _editMessageText(self, arrival: Arrival) -> Reply:
        body = arrival.body
        key = (_chat_id(body.get("chat_id")), body.get("message_id"))
        text, error = self._checked_text(arrival)
        if error:
            return error
        keyboard, error = _checked_keyboard(body.get("reply_markup"))
        if error:
            return error
        with self._lock:
            message = self.messages.get(key)
            if message is None or message.sender is not self.bot:
                return telegram_error(400, "Bad Request: message to edit not found")
            if message.text == text and message.keyboard == keyboard:
                return telegram_error(400, NOT_MODIFIED)
            message.text, message.keyboard = text, keyboard
        return _ok({"message_id": message.message_id, "chat": {"id": message.chat_id}, "text": text})

    def _answerCallbackQuery(self, arrival: Arrival) -> Reply:
        if not arrival.body.get("callback_query_id"):
            return telegram_error(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(arrival.body.get("text", ""))) > 200:
            return telegram_error(400, "Bad Request: text is too long")
        return _ok(True)

    def _setWebhook(self, arrival: Arrival) -> Reply:
        url, secret = arrival.body.get("url", ""), arrival.body.get("secret_token", "")
        if len(secret) > 256 or not all(c.isalnum() or c in "_-" for c in secret):
            return telegram_error(400, "Bad Request: secret token contains unallowed characters")
        with self._lock:
            self.webhook_url, self.webhook_secret = url, secret
        return _ok(True)

    def _deleteWebhook(self, arrival: Arrival) -> Reply:
        with self._lock:
            self.webhook_url = self.webhook_secret = ""
        return _ok(True)

    def _getWebhookInfo(self, arrival: Arrival) -> Reply:
        with self._lock:
            return _ok(
                {
                    "url": self.webhook_url,
                    "pending_update_count": 0 if self.webhook_url else len(self._updates),
                }
            )

    def _getUpdates(self, arrival: Arrival) -> Reply:
        offset, timeout = arrival.body.get("offset"), min(float(arrival.body.get("timeout") or 0), 10)
        deadline = time.monotonic() + timeout
        with self._news:
            if self.webhook_url:
                return telegram_error(409, "Conflict: can't use getUpdates method while webhook is active; "
                                           "use deleteWebhook to delete the webhook first")  # fmt: skip
            self._poll_generation += 1
            mine = self._poll_generation
            self._news.notify_all()
            if offset is not None:
                # Asking from an offset confirms every earlier update: Telegram forgets them.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._news.wait(deadline - time.monotonic())
                if self._poll_generation != mine:
                    return telegram_error(409, "Conflict: terminated by other getUpdates request; make sure "
                                               "that only one bot instance is running")  # fmt: skip
            return _ok([json.loads(json.dumps(update)) for update in self._updates[:100]])

    def _checked_text(self, arrival: Arrival) -> tuple[str, Reply | None]:
        text = arrival.body.get("text", "")
        if arrival.body.get("parse_mode") == "HTML":
            try:
                text = parse_telegram_html(text)
            except ValueError as exc:
                return "", telegram_error(400, f"Bad Request: can't parse entities: {exc}")
        arrival.text = text
        if not text.strip():
            return "", telegram_error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return "", telegram_error(400, "Bad Request: message is too long")
        return text, None

    # What the test does as the people in the chats -------------------------------------------

    def sent(self) -> list[Arrival]:
        """The requests Telegram would have shown in a chat as new messages."""
        return [a for a in self.arrivals if a.text and a.path.endswith("/sendMessage")]

    def calls(self, method: str) -> list[Arrival]:
        return [arrival for arrival in self.arrivals if arrival.path.endswith(f"/{method}")]

    def chat(self, chat_id: int) -> list[ChatMessage]:
        """The chat's messages, oldest first."""
        with self._lock:
            return sorted(
                (m for m in self.messages.values() if m.chat_id == chat_id), key=lambda m: m.message_id
            )

    def bot_messages(self, chat_id: int) -> list[ChatMessage]:
        return [message for message in self.chat(chat_id) if message.sender is self.bot]

    def say(self, chat: dict, sender: dict, text: str, *, reply_to: ChatMessage | None = None) -> ChatMessage:
        """`sender` writes `text` in `chat`, as a reply to `reply_to` if given."""
        with self._lock:
            message = ChatMessage(
                chat["id"], next(self._ids), text, sender, reply_to=reply_to and reply_to.message_id
            )
            self.messages[(chat["id"], message.message_id)] = message
        payload = {
            "message_id": message.message_id,
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            payload["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            payload["reply_to_message"] = self._as_update_message(reply_to, chat)
        self.inject({"message": payload})
        return message

    def edit(self, chat: dict, message: ChatMessage, text: str) -> None:
        with self._lock:
            message.text = text
        payload = {"message_id": message.message_id, "from": message.sender, "chat": chat,
                   "date": int(time.time()), "edit_date": int(time.time()), "text": text}  # fmt: skip
        self.inject({"edited_message": payload})

    def press(self, chat: dict, sender: dict, message: ChatMessage, label: str) -> dict:
        """`sender` presses the button labelled `label` under the bot's `message`."""
        button = message.button(label)
        if "callback_data" not in button:
            raise KeyError(f"{label!r} is a link button: pressing it opens {button.get('url')}")
        query = {
            "id": str(next(self._ids) * 1000 + 7),
            "from": sender,
            "chat_instance": "1",
            "message": self._as_update_message(message, chat),
            "data": button["callback_data"],
        }
        return self.inject({"callback_query": query})

    def inject(self, update: dict, *, update_id: int | None = None) -> dict:
        """Queue an update for getUpdates, or post it to the webhook when one is set. Give the
        `update_id` of an earlier update to deliver that one again."""
        update = {"update_id": update_id or next(self._update_ids), **update}
        with self._news:
            url, secret = self.webhook_url, self.webhook_secret
            if not url:
                self._updates.append(update)
                self._news.notify_all()
        if url:
            self.webhook_answers.append(_post_update(url, secret, update))
        return update

    def _as_update_message(self, message: ChatMessage, chat: dict) -> dict:
        found = {"message_id": message.message_id, "from": message.sender, "chat": chat,
                 "date": int(time.time()), "text": message.text}  # fmt: skip
        if message.keyboard:
            found["reply_markup"] = {"inline_keyboard": message.keyboard}
        return found


def _ok(result) -> Reply:
    return Reply(body={"ok": True, "result": result})


def _chat_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _checked_keyboard(markup) -> tuple[list, Reply | None]:
    if markup is None:
        return [], None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return [], telegram_error(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            data, url = button.get("callback_data"), button.get("url")
            if not button.get("text") or (data is None) == (url is None):
                return [], telegram_error(400, "Bad Request: can't parse inline keyboard button")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                return [], telegram_error(400, "Bad Request: BUTTON_DATA_INVALID")
            if url is not None and not url.startswith(("https://", "http://", "tg://")):
                return [], telegram_error(400, "Bad Request: BUTTON_URL_INVALID")
    return rows, None


def _post_update(url: str, secret: str, update: dict) -> int:
    """Telegram posting one update to a webhook: the HTTP status it got back."""
    request = urllib.request.Request(
        url,
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class SlackServer(_StandIn):
    """Slack's incoming webhooks as the portal meets them in production: HTTPS on the default
    port at a host name in SLACK_WEBHOOK_HOSTS, so the tests go through the same URL rule."""

    path = "/services/T0LAB/B0PORTAL/stand-in-secret"

    def __init__(self, host: str = "hooks.slack.test"):
        super().__init__(tls=True)
        self.host = host
        self._hosts = local_hosts(host, port=self.port)  # entered and left with the server

    @property
    def base(self) -> str:
        return f"https://{self.host}"

    @property
    def url(self) -> str:
        return self.base + self.path

    def __enter__(self):
        self._hosts.__enter__()
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self._hosts.__exit__(*exc)

    def configure(self, settings) -> None:
        settings.SLACK_WEBHOOK_HOSTS = [self.host]
        settings.NOTIFY_HTTP_TIMEOUT = 1

    def answer(self, arrival: Arrival) -> Reply:
        if arrival.path != self.path:
            return Reply(404, "no_service")
        if not isinstance(arrival.body.get("text"), str) or not arrival.body["text"]:
            return Reply(400, "invalid_payload")
        if len(arrival.body["text"]) > 40000:
            return Reply(400, "msg_too_long")
        return Reply(200, "ok")


class InsideService(_StandIn):
    """A service inside the lab (a database, a cache, an admin page) that no URL a person pastes
    may reach: HTTPS on 127.0.0.1, counting every connection and answering with a secret."""

    secret = "inside-the-lab: redis_version:7.2.4"

    def __init__(self):
        super().__init__(tls=True)

    def answer(self, arrival: Arrival) -> Reply:
        return Reply(404, self.secret)


def slack_error(status: int, text: str, **headers: str) -> Reply:
    return Reply(status=status, body=text, headers=headers)


class _TelegramHTML(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in TELEGRAM_TAGS:
            raise ValueError(f'Unsupported start tag "{tag}" at byte offset {self.getpos()[1]}')
        if tag == "a" and not dict(attrs).get("href"):
            raise ValueError("a link without href")
        self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            raise ValueError(f'Can\'t find end tag corresponding to start tag "{tag}"')

    def handle_data(self, data):
        if "&" in data or "<" in data or ">" in data:
            raise ValueError(f"unescaped character in {data[:20]!r}")
        self.text.append(data)

    def handle_entityref(self, name):
        if name not in TELEGRAM_ENTITIES:
            raise ValueError(f"Unsupported entity &{name};")
        self.text.append(TELEGRAM_ENTITIES[name])

    def handle_charref(self, name):
        self.text.append(chr(int(name[1:], 16) if name.lower().startswith("x") else int(name)))


def parse_telegram_html(html: str) -> str:
    """The visible text of a message in Telegram's HTML, or ValueError as Telegram would refuse it."""
    parser = _TelegramHTML()
    parser.feed(html)
    parser.close()
    if parser.rawdata:
        raise ValueError(f"unparsed text at the end: {parser.rawdata[:20]!r}")
    if parser.open:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return "".join(parser.text)


def _handler(server: _StandIn):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"unparsed": raw.decode(errors="replace")}
            arrival = Arrival(time.monotonic(), self.path, body, dict(self.headers.items()))
            reply = server.reply(arrival)
            time.sleep(reply.delay)
            if reply.hold is not None:
                reply.hold.wait(timeout=60)
            payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
            content_type = "text/html" if isinstance(reply.body, str) else "application/json"
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload.encode())))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload.encode())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting: that was the point of the delay

        def log_message(self, format, *args):
            pass

    return Handler


class _Mailbox:
    """aiosmtpd's handler: refuses the addresses it is told to, keeps every accepted message."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}  # address → the SMTP reply, such as "550 5.1.1 No such user"
        # Seconds to sit on a message before answering its final dot, after keeping it.
        self.answer_data_after = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        await asyncio.sleep(self.answer_data_after)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self):
        self.mailbox = _Mailbox()
        self.port = _free_port()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages

    def refuse(self, address: str, reply: str) -> None:
        self.mailbox.refuse[address] = reply

    def configure(self, settings) -> None:
        """Point MAILERS here, as settings.py does for EMAIL_URL=smtp://127.0.0.1:<port>."""
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 5},
            }
        }

    def __enter__(self) -> "SmtpServer":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()


class SilentServer:
    """A TCP server on 127.0.0.1 that never answers. With `after_request` it first reads a whole
    HTTP request (so the message has left the portal), then `drop`s the connection with a reset
    or sits on it; without, it reads nothing at all (a TLS client then waits for a handshake
    that never comes). `requests` counts the whole requests that arrived."""

    def __init__(self, *, after_request: bool = True, drop: bool = False, tls: bool = False):
        self.after_request, self.drop = after_request, drop
        # With `tls` it speaks HTTPS with the stand-ins' certificate (see local_hosts), then falls
        # silent the same way: what a Slack webhook host that never answers looks like.
        self.tls = tls
        self.requests = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self._open: list[socket.socket] = []
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "SilentServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._running = False
        self._thread.join()
        for connection in self._open:
            connection.close()
        self._socket.close()

    def _serve(self) -> None:
        while self._running:
            try:
                connection, _address = self._socket.accept()
            except TimeoutError:
                continue
            self._open.append(connection)
            if self.after_request:
                try:
                    if self.tls:
                        connection.settimeout(5)
                        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                        context.load_cert_chain(certificates().chain, certificates().key)
                        connection = context.wrap_socket(connection, server_side=True)
                        self._open.append(connection)
                    self._read_request(connection)
                except OSError:
                    continue  # the client gave up before its request was whole
                self.requests += 1
                if self.drop:
                    # Linger 0: close with a reset, as a crashed proxy or a cut line would.
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    connection.close()

    @staticmethod
    def _read_request(connection: socket.socket) -> None:
        connection.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the request was whole")
            data += chunk
        head, _sep, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            body += connection.recv(65536)
