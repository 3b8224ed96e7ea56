"""Sharing with the lab, threads on papers, and the Atom feeds of both.

A share is pushed at once to the lab's channels (lab_portal.notify, after the commit). A comment
is Markdown with math, rendered and sanitised by lab_portal.markdown on every display; @mentions
of usernames become links, and a Notification plus a push to the person, once per comment and
person however often the comment is edited.

One discussion, two places: a comment is also posted in every linked group that has the paper's
own message (a share, an urgent push, a Discuss), as a reply under it, and its edits follow
there; a comment that came from a group (papers/chat.py) is not echoed back into that group.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Max, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from lab_portal.channels import clip
from lab_portal.markdown import render_markdown
from lab_portal.notify import Item, Message, edit_in_chats, notify, notify_lab, reply_in_chats

from .models import Bookmark, Comment, FeedToken, Notification, Paper, Reaction, Share

# `@minji` at a word start; usernames may hold letters, digits and . + - _ (Django's own set but @).
MENTION = re.compile(r"(?<![\w.+@/-])@([\w.+-]*\w)")
# Inside these the text is code or already a link: no mention links there.
NO_MENTION_TAGS = {"a", "code", "pre"}
_TAG = re.compile(r"(<[^>]*>)")

# The Lab page ranks the papers shared in this window, at most this many.
LAB_WINDOW = timedelta(days=90)
# The same person sharing the same paper again within this long is the same share.
SHARE_AGAIN_AFTER = timedelta(minutes=10)
LAB_CANDIDATES = 200
LAB_PAGE_SIZE = 50


# Sharing ----------------------------------------------------------------------------------------


def share_paper(paper: Paper, *, person, note: str) -> Share:
    """Tell the lab about `paper`: a Share row and one message on each lab channel, after commit."""
    with transaction.atomic():
        # A double click, or the same share sent twice in a row, reaches the lab's chats once.
        Paper.objects.select_for_update().filter(pk=paper.pk).exists()
        since = timezone.now() - SHARE_AGAIN_AFTER
        if again := Share.objects.filter(paper=paper, person=person, created_at__gte=since).first():
            return again
        share = Share.objects.create(paper=paper, person=person, note=note.strip())
        why = _("Shared by %(name)s") % {"name": person.name}
        if share.note:
            why = f"{why}: {share.note}"
        from .chat import paper_item  # the chat module imports this one

        item = paper_item(paper, why=why)
        subject = _("%(name)s shared a paper with the lab") % {"name": person.name}
        notify_lab(Message(subject=subject, dedupe_key=f"share:{share.pk}", items=[item]))
    return share


def interest_score(
    *, shares: int, comments: int, bookmarks: int, last_shared: datetime, now: datetime
) -> float:
    """Lab interest decaying with age, as Hacker News ranks stories.

    interest = 1 + 3·shares + 2·comments + bookmarks (a share is a recommendation to everyone, a
    comment is discussion, a bookmark is quiet interest); score = interest / (hours + 2)^1.5 where
    `hours` is the time since the latest share. A paper shared today outranks a week-old one unless
    the older paper drew far more of the lab.
    """
    hours = max(0.0, (now - last_shared).total_seconds() / 3600)
    return (1 + 3 * shares + 2 * comments + bookmarks) / (hours + 2) ** 1.5


def lab_papers(*, now: datetime | None = None, limit: int = LAB_PAGE_SIZE) -> list[Paper]:
    """The papers shared with the lab, most interesting first, each with its shares (newest first)
    and `share_count`, `comment_count`, `bookmark_count`, `last_shared`, `score`. Two queries."""
    now = now or timezone.now()

    def count_of(model, **filters):
        rows = model.objects.filter(paper=OuterRef("pk"), **filters).order_by().values("paper")
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)

    papers = list(
        Paper.objects.filter(shares__created_at__gte=now - LAB_WINDOW)
        .annotate(last_shared=Max("shares__created_at"))
        .annotate(
            share_count=count_of(Share),
            comment_count=count_of(Comment, deleted_at__isnull=True),
            bookmark_count=count_of(Bookmark),
        )
        .order_by("-last_shared", "-pk")
        .prefetch_related(
            Prefetch("shares", queryset=Share.objects.select_related("person").order_by("-created_at", "-pk"))
        )[:LAB_CANDIDATES]
    )
    for paper in papers:
        paper.score = interest_score(
            shares=paper.share_count,
            comments=paper.comment_count,
            bookmarks=paper.bookmark_count,
            last_shared=paper.last_shared,
            now=now,
        )
    papers.sort(key=lambda p: (p.score, p.last_shared), reverse=True)
    return papers[:limit]


# Threads ----------------------------------------------------------------------------------------


def mentioned_usernames(body: str) -> set[str]:
    return set(MENTION.findall(body or ""))


def _mention_people(comment: Comment):
    User = get_user_model()
    names = mentioned_usernames(comment.body)
    if not names:
        return User.objects.none()
    return User.objects.filter(username__in=names, is_active=True).exclude(pk=comment.author_id)


def _notify_mentions(comment: Comment) -> list:
    """Notify the people `comment` mentions who were not notified for it before."""
    already = set(
        Notification.objects.filter(comment=comment, kind=Notification.Kind.MENTION).values_list(
            "person_id", flat=True
        )
    )
    people = [person for person in _mention_people(comment) if person.pk not in already]
    if not people:
        return []
    paper = comment.paper
    reason = _("%(name)s mentioned you in the discussion") % {"name": comment.author.name}
    Notification.objects.bulk_create(
        [
            Notification(
                person=person,
                paper=paper,
                kind=Notification.Kind.MENTION,
                comment=comment,
                version=paper.version,
                reason=reason,
            )
            for person in people
        ],
        ignore_conflicts=True,  # a concurrent edit notified them first
    )
    item = Item(
        title=paper.title,
        authors=list(paper.authors),
        why=clip(comment.body, 400),
        portal_url=comment_url(comment),
        external_url=paper.abs_url,
    )
    subject = _("%(name)s mentioned you on “%(title)s”") % {"name": comment.author.name, "title": paper.title}
    for person in people:
        # The key names the comment and the person: notify() queues nothing twice for it.
        message = Message(
            subject=clip(subject, 250), dedupe_key=f"mention:{comment.pk}:{person.pk}", items=[item]
        )
        notify(person, message)
    return people


def comment_url(comment: Comment) -> str:
    return f"{comment.paper.get_absolute_url()}#comment-{comment.pk}"


def post_comment(
    paper: Paper, *, author, body: str, parent: Comment | None = None, from_chat: str = ""
) -> Comment:
    """A new comment in the paper's thread; `from_chat` names the Telegram chat it was written
    in, where it is already shown."""
    # One level of replies: a reply to a reply joins the thread of the top comment.
    replied = parent
    if parent is not None and parent.parent_id is not None:
        parent = parent.parent
    with transaction.atomic():
        comment = Comment.objects.create(paper=paper, author=author, parent=parent, body=body.strip())
        _notify_mentions(comment)
        # Under the comment it answers where that one is in the chat, else under the paper's message.
        about = [f"comment:{replied.pk}"] if replied is not None else []
        reply_in_chats(
            about=[*about, f"paper:{paper.arxiv_id}"], message=_chat_message(comment), skip_chat=from_chat
        )
    return comment


def edit_comment(comment: Comment, *, body: str) -> Comment:
    with transaction.atomic():
        comment.body = body.strip()
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        # Only people newly mentioned by the edit hear about it.
        _notify_mentions(comment)
        edit_in_chats(ref=f"comment:{comment.pk}", message=_chat_message(comment))
    return comment


def delete_comment(comment: Comment) -> Comment:
    """Soft delete: the text goes, the row stays so that its replies keep their place."""
    with transaction.atomic():
        comment.deleted_at = timezone.now()
        comment.body = ""
        comment.save(update_fields=["deleted_at", "body"])
        Reaction.objects.filter(comment=comment).delete()
        edit_in_chats(ref=f"comment:{comment.pk}", message=_chat_message(comment))
    return comment


def _chat_message(comment: Comment) -> Message:
    """A comment as the lab's groups show it (their language is the lab's)."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("%(name)s on “%(title)s”") % {"name": comment.author.name, "title": comment.paper.title}
        text = _("This comment was deleted.") if comment.is_deleted else clip(comment.body, 3000)
    return Message(
        subject=clip(subject, 250),
        dedupe_key=f"comment:{comment.pk}",
        text=text,
        url=comment_url(comment),
        ref=f"comment:{comment.pk}",
    )


def toggle_reaction(comment: Comment, *, person, emoji: str) -> bool:
    """Add the reaction, or take it back if it was there; True when it is there now."""
    deleted, _details = Reaction.objects.filter(comment=comment, person=person, emoji=emoji).delete()
    if deleted:
        return False
    Reaction.objects.get_or_create(comment=comment, person=person, emoji=emoji)
    return True


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


@dataclass
class Thread:
    """A paper's discussion as the page shows it: top comments, each with its replies."""

    paper: Paper
    comments: list[Comment] = field(default_factory=list)
    count: int = 0


def decorate(comments: list[Comment], *, viewer, usernames: set[str]) -> None:
    """Give each comment what its template needs: the HTML, whether the viewer may change it,
    and its reactions as (emoji, label, count, mine) for the whole fixed set."""
    for comment in comments:
        comment.html = "" if comment.is_deleted else link_mentions(render_markdown(comment.body), usernames)
        comment.can_edit = comment.editable_by(viewer)
        comment.reaction_summary = reaction_summary(comment, viewer)


def reaction_summary(comment: Comment, viewer) -> list[tuple[str, str, int, bool]]:
    reactions = list(comment.reactions.all())  # prefetched
    return [
        (
            emoji,
            label,
            sum(1 for r in reactions if r.emoji == emoji),
            any(r.emoji == emoji and r.person_id == viewer.pk for r in reactions),
        )
        for emoji, label in Reaction.Emoji.choices
    ]


def known_usernames(comments: list[Comment]) -> set[str]:
    names = set().union(*(mentioned_usernames(c.body) for c in comments)) if comments else set()
    if not names:
        return set()
    return set(get_user_model().objects.filter(username__in=names).values_list("username", flat=True))


def thread_comments():
    return Comment.objects.select_related("author").prefetch_related("reactions")


def load_thread(paper: Paper, *, viewer) -> Thread:
    """The whole thread of `paper` in three queries, whatever its size."""
    comments = list(thread_comments().filter(paper=paper))
    decorate(comments, viewer=viewer, usernames=known_usernames(comments))
    top = [c for c in comments if c.parent_id is None]
    by_parent: dict[int, list[Comment]] = {}
    for comment in comments:
        if comment.parent_id is not None:
            by_parent.setdefault(comment.parent_id, []).append(comment)
    for comment in top:
        comment.thread_replies = by_parent.get(comment.pk, [])
    # A deleted comment without replies has nothing left to show.
    top = [c for c in top if not (c.is_deleted and not c.thread_replies)]
    count = sum(1 for c in comments if not c.is_deleted)
    return Thread(paper=paper, comments=top, count=count)


def load_comment(pk: int, *, viewer) -> Comment:
    """One comment, decorated for its fragment (after an htmx post, edit, delete or reaction)."""
    comment = thread_comments().select_related("paper").get(pk=pk)
    decorate([comment], viewer=viewer, usernames=known_usernames([comment]))
    if comment.parent_id is None:
        replies = list(thread_comments().filter(parent=comment))
        decorate(replies, viewer=viewer, usernames=known_usernames(replies))
        comment.thread_replies = replies
    else:
        comment.thread_replies = []
    return comment


# Feeds ------------------------------------------------------------------------------------------


def new_feed_token(person) -> FeedToken:
    """A fresh key for the person's feed URLs; the old ones stop working."""
    return FeedToken.renew(person)


def revoke_feed_token(token: FeedToken) -> None:
    FeedToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
