"""Comments as a paper's thread and a draft's discussion both have them.

A comment is Markdown with math, rendered and sanitised on every display, changed only by its
author, and shown by one partial (templates/includes/comment.html) with its edit and delete
forms. What differs stays with each app: who may see and post, who is told, whether an author's
name is shown, and what a deletion leaves behind (papers.comments, reviews.discussion).
"""

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django_htmx.http import reswap, retarget

from .forms import form_errors
from .markdown import render_markdown
from .mentions import link_mentions


def replace_body(comment, *, body: str, rows: QuerySet) -> bool:
    """Replace a comment's text; False, with nothing written, when `rows` (the comments that may
    still be edited) no longer hold it: it was deleted since it was read."""
    comment.body = body.strip()
    comment.edited_at = timezone.now()
    # An UPDATE that finds no row writes nothing, so an edit that meets a deletion is lost, not
    # written back.
    return bool(rows.filter(pk=comment.pk).update(body=comment.body, edited_at=comment.edited_at))


def show(comment, *, name: str, author_url: str, can_edit: bool, usernames: set[str] = frozenset()) -> None:
    """Give `comment` what the partial shows: its HTML (@mentions of `usernames` linked), the name
    it is signed with, the author's page (empty: the name links nowhere) and whether the viewer
    may edit and delete it."""
    deleted = getattr(comment, "is_deleted", False)
    comment.html = "" if deleted else link_mentions(render_markdown(comment.body), usernames)
    comment.shown_name = name
    comment.author_url = author_url
    comment.can_edit = can_edit and not deleted


def refused_post(
    request: HttpRequest, form, *, partial: str, context: dict, form_id: str, url: str
) -> HttpResponse:
    """A new comment that the form refused: with htmx the form again, as typed and with its errors,
    in place of the one that aimed at the list; without, back to `url` with the errors said."""
    if request.htmx:
        context = {**context, "body": request.POST.get("body", ""), "errors": form.errors}
        response = render(request, partial, context)
        return reswap(retarget(response, f"#{form_id}"), "outerHTML")
    messages.error(request, _("Not posted: %(errors)s") % {"errors": form_errors(form)})
    return redirect(url)


def edit_answer(request: HttpRequest, form, *, partial: str, context: dict, url: str) -> HttpResponse:
    """What an edit answers: with htmx the comment's partial (its edit form open with the errors
    when refused); without, a redirect to the comment with a message."""
    if request.htmx:
        return render(request, partial, {**context, "errors": form.errors})
    if form.is_valid():
        messages.success(request, _("Comment saved."))
    else:
        messages.error(request, _("Not saved: %(errors)s") % {"errors": form_errors(form)})
    return redirect(url)
