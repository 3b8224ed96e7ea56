"""Threads on papers: comments, replies, reactions and who hears of them.

A comment is Markdown with math, shown as lab_portal.comments shows a draft's too;
@mentions of usernames become links, and a Notification plus a push to the person. People who
follow a thread (everyone who commented in it, and whoever chose to) hear of every new comment.
Each person hears of a comment once, however often it is edited and whether they are mentioned
in it, follow the thread, or both.

One discussion, two places: a comment is also posted in every linked group that has the paper's
own message (a share, an urgent push, a Discuss), as a reply under it, and its edits follow
there; a comment that came from a group (papers/chat.py) is not echoed back into that group.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lab_portal.channels import clip
from lab_portal.comments import replace_body, show
from lab_portal.latex import readable
from lab_portal.mentions import known_usernames, mentioned_people
from lab_portal.notify import Message, edit_in_chats, notify, reply_in_chats

from .items import paper_item
from .models import Comment, Follower, Notification, Paper, Reaction


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
        if not replace_body(comment, body=body, rows=Comment.objects.filter(deleted_at__isnull=True)):
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


@dataclass
class Thread:
    """A paper's discussion as the page shows it: top comments, each with its replies."""

    paper: Paper
    comments: list[Comment] = field(default_factory=list)
    count: int = 0
    following: bool = False  # whether the viewer hears of every new comment


def decorate(comments: list[Comment], *, viewer) -> None:
    """Give each comment what its template needs: the HTML, whether the viewer may change it,
    and its reactions as (emoji, label, count, mine) for the whole fixed set."""
    usernames = known_usernames(comment.body for comment in comments)
    for comment in comments:
        author = comment.author
        can_edit = comment.editable_by(viewer)
        show(
            comment,
            name=author.name,
            author_url=author.get_absolute_url(),
            can_edit=can_edit,
            usernames=usernames,
        )
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


def thread_comments():
    return Comment.objects.select_related("author").prefetch_related("reactions")


def load_thread(paper: Paper, *, viewer) -> Thread:
    """The whole thread of `paper` in four queries, whatever its size."""
    comments = list(thread_comments().filter(paper=paper))
    decorate(comments, viewer=viewer)
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
    decorate([comment], viewer=viewer)
    if comment.parent_id is None:
        replies = list(thread_comments().filter(parent=comment))
        decorate(replies, viewer=viewer)
        comment.thread_replies = replies
    else:
        comment.thread_replies = []
    return comment
