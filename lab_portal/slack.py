"""Which Slack webhook URLs the portal posts to.

People paste webhook URLs, and whatever the portal posts to, it reaches from inside the lab. A
URL is read one way by `urlsplit` and another by the HTTP client (`https://10.0.0.5:6379\\@hooks.
slack.com/…` is Slack's host to one and 10.0.0.5 to the other), so the check accepts only the
plainest form and the caller sends the URL rebuilt from the parts it checked, never the one it
was given. No Django here: settings.py checks its own webhook URL with it at start-up.
"""

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# Slack's own form: /services/T…/B…/secret. Letters, digits, "_" and "-" only, so no dot segment,
# percent-escape or separator can change what the path names once a client normalises it.
_PATH = re.compile(r"/services(?:/[A-Za-z0-9_-]+)+")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")


def is_host_name(name: str) -> bool:
    """A bare lower-case host name: no scheme, port, user or path."""
    return bool(_HOST.fullmatch(name))


def webhook_url(url: str, hosts: Iterable[str]) -> str | None:
    """`url` rebuilt as https://<host>/services/…, or None unless it is exactly that: HTTPS, a
    host in `hosts`, no user info, no port, no backslash, query or fragment."""
    if not url.isascii() or not url.isprintable() or " " in url or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    # The netloc compared whole: any "@" (user info) or ":" (a port) leaves it unequal to a host.
    host = parts.netloc.lower()
    if parts.scheme != "https" or host not in set(hosts) or parts.query or parts.fragment:
        return None
    if not url.lower().startswith(f"https://{host}/") or not _PATH.fullmatch(parts.path):
        return None
    return f"https://{host}{parts.path}"
