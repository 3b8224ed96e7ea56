"""@mentions in comments and share notes: whom a text names, and links to their pages.

A mention is `@username` at a word start; only people of the lab are linked or told, and never
inside a link or code, where the text means something else.
"""

import re
from collections.abc import Iterable

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .models import User

# `@minji` at a word start; usernames may hold letters, digits and . + - _ (Django's own set but @).
MENTION = re.compile(r"(?<![\w.+@/-])@([\w.+-]*\w)")
# Inside these the text is code or already a link: no mention links there.
NO_MENTION_TAGS = {"a", "code", "pre"}
_TAG = re.compile(r"(<[^>]*>)")


def mentioned_usernames(text: str) -> set[str]:
    return set(MENTION.findall(text or ""))


def mentioned_people(text: str, *, author):
    """The active people `text` @mentions, never its author."""
    names = mentioned_usernames(text)
    if not names:
        return User.objects.none()
    return User.objects.active().filter(username__in=names).exclude(pk=author.pk)


def known_usernames(texts: Iterable[str]) -> set[str]:
    """The usernames the texts mention that belong to someone: only those become links."""
    names = set().union(*(mentioned_usernames(text) for text in texts))
    if not names:
        return set()
    return set(User.objects.filter(username__in=names).values_list("username", flat=True))


def link_mentions(html: str, usernames: set[str]) -> SafeString:
    """Turn `@name` of a known person into a link to their page, outside links and code."""
    if not usernames:
        return mark_safe(html)  # noqa: S308 - already sanitised by render_markdown
    parts, depth = [], 0
    for part in _TAG.split(html):
        if part.startswith("<"):
            tag = re.match(r"</?\s*([a-zA-Z0-9]+)", part)
            if tag and tag.group(1).lower() in NO_MENTION_TAGS:
                depth += -1 if part.startswith("</") else 1
            parts.append(part)
        elif depth == 0:
            parts.append(MENTION.sub(lambda m: _mention_link(m, usernames), part))
        else:
            parts.append(part)
    return mark_safe("".join(parts))  # noqa: S308 - only our own escaped links were added


def _mention_link(match: re.Match, usernames: set[str]) -> str:
    name = match.group(1)
    if name not in usernames:
        return match.group(0)
    url = reverse("person", args=[name])
    return f'<a class="mention" href="{escape(url)}">@{escape(name)}</a>'
