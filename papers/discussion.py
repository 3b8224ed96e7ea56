"""Sharing papers, threads on papers, and the Atom feeds of both.

A share goes to the whole lab, teams or chosen people (and anyone its note @mentions), pushed at
once (lab_portal.notify, after the commit). A comment is Markdown with math, rendered and
sanitised by lab_portal.markdown on every display; @mentions of usernames become links, and a
Notification plus a push to the person. People who follow a thread (everyone who commented in it,
and whoever chose to) hear of every new comment. Each person hears of a comment once, however
often it is edited and whether they are mentioned in it, follow the thread, or both.

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

from lab_portal import chat
from lab_portal.channels import clip
from lab_portal.latex import readable
from lab_portal.markdown import render_markdown
from lab_portal.notify import Item, Message, edit_in_chats, notify, notify_lab, reply_in_chats

from .models import Bookmark, Comment, FeedToken, Follower, Notification, Paper, Reaction, Share

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


def paper_ref(paper: Paper) -> str:
    return f"paper:{paper.arxiv_id}"


def paper_item(paper: Paper, *, why: str = "", portal_url: str = "") -> Item:
    """`paper` as one item of a message: its title and opening sentences reach chat readable, and
    Telegram shows its buttons (labelled in the active language; lab_portal.chat)."""
    ref = paper_ref(paper)
    thread = f"{paper.get_absolute_url()}#thread"
    return Item(
        title=paper.title,
        authors=list(paper.authors),
        why=why,
        portal_url=portal_url or paper.get_absolute_url(),
        external_url=paper.abs_url,
        summary=paper.abstract,
        ref=ref,
        buttons=[
            chat.button("save", ref),
            chat.button("share", ref),
            chat.button("skip", ref),
            chat.button("discuss", ref, url=settings.SITE_URL + thread),
        ],
    )


# Sharing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipients:
    """Who a share goes to: the whole lab (its group chats, the Lab page and its feed), teams
    (each active member), chosen people; any mix of them."""

    lab: bool = False
    teams: tuple = ()
    people: tuple = ()

    def __bool__(self) -> bool:
        return bool(self.lab or self.teams or self.people)

    @classmethod
    def of(cls, share: Share, *, people=None) -> "Recipients":
        people = share.recipients.all() if people is None else people
        return cls(lab=share.to_lab, teams=tuple(share.teams.all()), people=tuple(people))

    @property
    def label(self) -> str:
        """Whom the share goes to, in words of the active language: "the lab, Vision, Taeho Yoon"."""
        names = ([_("the lab")] if self.lab else []) + [str(team) for team in self.teams]
        return ", ".join(names + [person.name for person in self.people])

    def same_as(self, other: "Recipients") -> bool:
        def key(chosen: Recipients) -> tuple:
            return chosen.lab, {team.pk for team in chosen.teams}, {person.pk for person in chosen.people}

        return key(self) == key(other)


def last_recipients(person) -> Recipients:
    """Whom `person` shared with last time (those still in the lab), or the whole lab."""
    last = (
        Share.objects.filter(person=person)
        .order_by("-created_at", "-pk")
        .prefetch_related("teams", Prefetch("recipients", queryset=_lab_members()))
        .first()
    )
    chosen = Recipients.of(last) if last is not None else None
    return chosen or Recipients(lab=True)


def _lab_members():
    return get_user_model().objects.active()


def share_paper(paper: Paper, *, sharer, note: str, recipients: Recipients | None = None) -> Share:
    """Tell `recipients` (by default whom `sharer` chose last time) about `paper`, with a note.

    Each person told (the chosen people, the teams' members and anyone the note @mentions, but
    never the sharer) gets a Notification and one message on their own channels, in their own
    language; the lab gets one message on its group channels. All after the commit. This is
    the one way to share: the paper page, the feed and a chat button all call it.
    """
    recipients = recipients if recipients is not None else last_recipients(sharer)
    if not recipients:
        raise ValueError("A share goes to the lab, a team or a person.")
    with transaction.atomic():
        # A double click, or the same share sent twice in a row, reaches everyone once.
        Paper.objects.select_for_update().filter(pk=paper.pk).exists()
        since = timezone.now() - SHARE_AGAIN_AFTER
        recent = Share.objects.filter(paper=paper, person=sharer, created_at__gte=since)
        for again in recent.prefetch_related("teams", "recipients"):
            if Recipients.of(again).same_as(recipients):
                return again
        share = Share.objects.create(paper=paper, person=sharer, note=note.strip(), to_lab=recipients.lab)
        share.teams.set(recipients.teams)
        share.recipients.set(recipients.people)
        _tell_people(share, recipients)
        if recipients.lab:
            with translation.override(settings.LANGUAGE_CODE):  # the lab's chats read the lab's language
                item = paper_item(paper, why=_shared_by(share))
                subject = _("%(name)s shared a paper with the lab") % {"name": sharer.name}
            notify_lab(Message(subject=subject, dedupe_key=f"share:{share.pk}", items=[item]))
    return share


def _shared_by(share: Share) -> str:
    why = _("Shared by %(name)s") % {"name": share.person.name}
    return f"{why}: {share.note}" if share.note else why


def _tell_people(share: Share, recipients: Recipients) -> None:
    chosen = {person.pk for person in recipients.people}
    if recipients.teams:
        chosen.update(_lab_members().filter(team__in=recipients.teams).values_list("pk", flat=True))
    mentioned = {person.pk for person in mentioned_people(share.note, author=share.person)}
    people = _lab_members().filter(pk__in=chosen | mentioned).exclude(pk=share.person_id)
    notifications, messages = [], []
    for person in people:
        with translation.override(person.language):
            why = _shared_by(share)
            if person.pk in chosen:
                subject = _("%(name)s shared a paper with you") % {"name": share.person.name}
            else:
                subject = _("%(name)s mentioned you in a share") % {"name": share.person.name}
            item = paper_item(share.paper, why=why)
        notifications.append(
            Notification(
                person=person,
                paper=share.paper,
                kind=Notification.Kind.SHARE,
                share=share,
                version=share.paper.version,
                reason=why,
            )
        )
        messages.append(
            (person, Message(subject=subject, dedupe_key=f"share:{share.pk}:{person.pk}", items=[item]))
        )
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    for person, message in messages:
        notify(person, message)


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
        # Shares with chosen people or teams are theirs: the Lab page shows what the lab was told.
        Paper.objects.filter(shares__created_at__gte=now - LAB_WINDOW, shares__to_lab=True)
        .annotate(last_shared=Max("shares__created_at"))
        .annotate(
            share_count=count_of(Share, to_lab=True),
            comment_count=count_of(Comment, deleted_at__isnull=True),
            bookmark_count=count_of(Bookmark),
        )
        .order_by("-last_shared", "-pk")
        .prefetch_related(
            Prefetch(
                "shares",
                queryset=Share.objects.with_lab().select_related("person").order_by("-created_at", "-pk"),
            )
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


def mentioned_people(text: str, *, author):
    """The active people `text` @mentions, never its author."""
    names = mentioned_usernames(text)
    if not names:
        return get_user_model().objects.none()
    return _lab_members().filter(username__in=names).exclude(pk=author.pk)


def _notify_comment(comment: Comment, people: list, *, kind: str, key: str) -> list:
    """Tell `people` about `comment` (each once: a person already told of it is skipped), each
    with a Notification and a message in their own language."""
    already = set(Notification.objects.filter(comment=comment).values_list("person_id", flat=True))
    people = [person for person in people if person.pk not in already]
    paper = comment.paper
    item = paper_item(paper, why=clip(comment.body, 400), portal_url=comment_url(comment))
    notifications, messages = [], []
    for person in people:
        with translation.override(person.language):
            reason, subject = _comment_texts(kind, author=comment.author.name, title=readable(paper.title))
        notifications.append(
            Notification(
                person=person, paper=paper, kind=kind, comment=comment, version=paper.version, reason=reason
            )
        )
        # The key names the comment and the person: notify() queues nothing twice for it.
        key_of = f"{key}:{comment.pk}:{person.pk}"
        messages.append((person, Message(subject=clip(subject, 250), dedupe_key=key_of, items=[item])))
    # ignore_conflicts: a concurrent edit or comment told them first.
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    for person, message in messages:
        notify(person, message)
    return people


def _comment_texts(kind: str, *, author: str, title: str) -> tuple[str, str]:
    """The reason and the subject of a notification about a comment, in the active language."""
    if kind == Notification.Kind.MENTION:
        return (
            _("%(name)s mentioned you in the discussion") % {"name": author},
            _("%(name)s mentioned you on “%(title)s”") % {"name": author, "title": title},
        )
    return (
        _("%(name)s commented") % {"name": author},
        _("%(name)s commented on “%(title)s”") % {"name": author, "title": title},
    )


def _notify_mentions(comment: Comment) -> list:
    """Notify the people `comment` mentions who were not told of it before."""
    people = list(mentioned_people(comment.body, author=comment.author))
    return _notify_comment(comment, people, kind=Notification.Kind.MENTION, key="mention")


def _notify_followers(comment: Comment) -> list:
    """Tell the thread's followers about a new comment; those it mentions heard already."""
    people = [
        follower.person
        for follower in Follower.objects.filter(paper=comment.paper, person__is_active=True)
        .exclude(person=comment.author)
        .select_related("person")
    ]
    return _notify_comment(comment, people, kind=Notification.Kind.COMMENT, key="comment")


def follow_thread(paper: Paper, *, person) -> None:
    Follower.objects.get_or_create(paper=paper, person=person)


def unfollow_thread(paper: Paper, *, person) -> None:
    Follower.objects.filter(paper=paper, person=person).delete()


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
        # Whoever joins a discussion wants its answers: commenting follows the thread.
        follow_thread(paper, person=author)
        _notify_mentions(comment)
        _notify_followers(comment)
        # Under the comment it answers where that one is in the chat, else under the paper's message.
        about = [f"comment:{replied.pk}"] if replied is not None else []
        reply_in_chats(
            about=[*about, f"paper:{paper.arxiv_id}"], message=_chat_message(comment), skip_chat=from_chat
        )
    return comment


def edit_comment(comment: Comment, *, body: str) -> bool:
    """Replace a comment's text; False, with nothing written, when it was deleted since it was read."""
    with transaction.atomic():
        comment.body = body.strip()
        comment.edited_at = timezone.now()
        # Conditional, so an edit that meets a deletion never writes the text back.
        live = Comment.objects.filter(pk=comment.pk, deleted_at__isnull=True)
        if not live.update(body=comment.body, edited_at=comment.edited_at):
            return False
        # Only people newly mentioned by the edit hear about it.
        _notify_mentions(comment)
        edit_in_chats(ref=f"comment:{comment.pk}", message=_chat_message(comment))
    return True


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
        title = readable(comment.paper.title)  # as the paper's own message above it shows it
        subject = _("%(name)s on “%(title)s”") % {"name": comment.author.name, "title": title}
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
    following: bool = False  # whether the viewer hears of every new comment


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
    """The whole thread of `paper` in four queries, whatever its size."""
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
    following = Follower.objects.filter(paper=paper, person=viewer).exists()
    return Thread(paper=paper, comments=top, count=count, following=following)


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
