"""The discussion on a draft between its authors, its reviewers and the leads, and the notice
reviewers get when a new PDF version is uploaded.

A comment is Markdown with math, rendered and sanitised on every display. Posting one tells the
other participants (the draft's lab authors, its assigned reviewers and whoever has commented),
never the poster, once per comment, after the commit. On an anonymous draft a reviewer never
learns an author's name: an author's comment is signed "An author" on the page and in the
message alike.
"""

from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from lab_portal.channels import clip
from lab_portal.comments import replace_body, show
from lab_portal.models import User
from lab_portal.notify import Message, notify

from .models import Draft, DraftComment, DraftVersion

# How much of a comment a chat message quotes: the rest is a click away.
QUOTE_MAX = 400


def comment_url(comment: DraftComment) -> str:
    return f"{comment.draft.get_absolute_url()}#comment-{comment.pk}"


def _author_ids(draft: Draft) -> set[int]:
    return set(draft.authors.filter(person__isnull=False).values_list("person_id", flat=True))


def signature(comment: DraftComment, *, author_ids: set[int], shows_authors: bool) -> str:
    """The name a viewer sees on a comment: an author's stays hidden where the draft hides it."""
    if comment.author_id is None:
        return _("A former member")
    if comment.author_id in author_ids and not shows_authors:
        return _("An author")
    return comment.author.name


def participants(draft: Draft, *, besides) -> list:
    """Who hears about a new comment: lab authors, assigned reviewers and earlier commenters who
    may still see the draft (a reviewer taken off it is not told any more), active, each once."""
    may_see = _author_ids(draft) | set(draft.assignments.values_list("reviewer_id", flat=True))
    commenters = set(draft.comments.exclude(author=None).values_list("author_id", flat=True))
    people = User.objects.filter(is_active=True).exclude(pk=besides.pk)
    leads = {person.pk for person in people.filter(pk__in=commenters - may_see) if person.is_lead}
    return list(people.filter(pk__in=may_see | leads).order_by("pk"))


def _notify_comment(comment_pk: int) -> None:
    comment = DraftComment.objects.select_related("draft", "author").filter(pk=comment_pk).first()
    if comment is None or comment.author is None:
        return  # deleted before the commit's callbacks ran
    draft = comment.draft
    author_ids = _author_ids(draft)
    for person in participants(draft, besides=comment.author):
        with translation.override(person.language):
            name = signature(comment, author_ids=author_ids, shows_authors=draft.shows_authors_to(person))
            values = {"name": name, "title": draft.title}
            message = Message(
                subject=clip(_("%(name)s commented on “%(title)s”") % values, 250),
                dedupe_key=f"draft-comment:{comment.pk}",
                text=clip(comment.body, QUOTE_MAX),
                url=comment_url(comment),
            )
        notify(person, message)


def post_comment(draft: Draft, *, author, body: str) -> DraftComment:
    with transaction.atomic():
        comment = DraftComment.objects.create(draft=draft, author=author, body=body.strip())
        # Robust: a notice that fails is logged; the comment stands.
        transaction.on_commit(partial(_notify_comment, comment.pk), robust=True)
    return comment


def edit_comment(comment: DraftComment, *, body: str) -> bool:
    """Replace a comment's text; False when it was deleted since it was read (nothing is written)."""
    # An edit tells nobody again: the comment's link already leads to its current text.
    return replace_body(comment, body=body, rows=DraftComment.objects.all())


def delete_comment(comment: DraftComment) -> None:
    comment.delete()


@dataclass
class Thread:
    """A draft's discussion as one viewer sees it, oldest first."""

    draft: Draft
    comments: list[DraftComment] = field(default_factory=list)


def decorate(comments: list[DraftComment], *, draft: Draft, viewer) -> list[DraftComment]:
    """Give each comment what the partial needs: its HTML, the name shown (an author's hidden where
    the draft hides it, then linking nowhere) and whether the viewer may change it."""
    author_ids = _author_ids(draft)
    shows_authors = draft.shows_authors_to(viewer)
    for comment in comments:
        hidden = comment.author is None or (comment.author_id in author_ids and not shows_authors)
        show(
            comment,
            name=signature(comment, author_ids=author_ids, shows_authors=shows_authors),
            author_url="" if hidden else comment.author.get_absolute_url(),
            can_edit=comment.author_id is not None and comment.author_id == viewer.pk,
        )
    return comments


def load_thread(draft: Draft, *, viewer) -> Thread:
    comments = list(draft.comments.select_related("author").order_by("created_at", "pk"))
    return Thread(draft=draft, comments=decorate(comments, draft=draft, viewer=viewer))


def load_comment(comment: DraftComment, *, viewer) -> DraftComment:
    [shown] = decorate([comment], draft=comment.draft, viewer=viewer)
    return shown


# New versions -----------------------------------------------------------------------------------


def notify_new_version(version: DraftVersion) -> None:
    """Tell every assigned reviewer (never an author) the version's number and change note.

    Called after the upload's commit; the uploader's name stays out, as an anonymous draft needs."""
    draft = version.draft
    authors = _author_ids(draft)
    reviewers = [
        assignment.reviewer
        for assignment in draft.assignments.select_related("reviewer").filter(reviewer__is_active=True)
        if assignment.reviewer_id not in authors
    ]
    for reviewer in reviewers:
        with translation.override(reviewer.language):
            values = {"number": version.number, "title": draft.title}
            note = version.note.strip() or _("The authors left no note on what changed.")
            message = Message(
                subject=clip(_("Version %(number)d of “%(title)s”") % values, 250),
                dedupe_key=f"draft-version:{version.pk}",
                text=_("What changed: %(note)s") % {"note": clip(note, 1500)},
                url=draft.get_absolute_url(),
            )
        notify(reviewer, message)
