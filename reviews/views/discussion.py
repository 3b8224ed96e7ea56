"""The discussion on a draft's page.

Who may see what: a draft's discussion is for whoever may see the draft (its lab authors, its
assigned reviewers and the leads); anyone else gets the 404 of reviews.views.drafts._get_draft, and
nobody logged out gets past the login page. Anyone who sees the draft may post; only a comment's
author edits or deletes it (403 for everyone else, leads included). Every change is a POST. With
htmx a post answers its partial; without, a redirect back to the draft with a message.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from lab_portal.comments import edit_answer, refused_post
from lab_portal.forms import CommentForm

from .. import discussion
from ..models import Draft, DraftComment
from .drafts import _get_draft

PARTIALS = "reviews/includes/discussion.html"


def _get_comment_for_author(request: HttpRequest, pk: int, comment_pk: int) -> DraftComment:
    draft = _get_draft(request, pk)
    comment = get_object_or_404(draft.comments.select_related("author"), pk=comment_pk)
    if comment.author_id is None or comment.author_id != request.user.pk:
        raise PermissionDenied
    comment.draft = draft
    return comment


def _thread_url(draft: Draft) -> str:
    return f"{draft.get_absolute_url()}#discussion"


@require_POST
@vary_on_headers("HX-Request")
def comment_new(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get_draft(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        # The form aimed at the list; a refused post replaces the form instead, with its errors.
        context = {"draft": draft}
        form_id = f"comment-form-{draft.pk}"
        return refused_post(
            request,
            form,
            partial=f"{PARTIALS}#comment-form",
            context=context,
            form_id=form_id,
            url=_thread_url(draft),
        )
    comment = discussion.post_comment(draft, author=request.user, body=form.cleaned_data["body"])
    if request.htmx:
        context = {"draft": draft, "comment": discussion.load_comment(comment, viewer=request.user)}
        return render(request, f"{PARTIALS}#comment-posted", context)
    messages.success(request, _("Comment posted."))
    return redirect(discussion.comment_url(comment))


@require_POST
@vary_on_headers("HX-Request")
def comment_edit(request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
    comment = _get_comment_for_author(request, pk, comment_pk)
    form = CommentForm(request.POST)
    if form.is_valid() and not discussion.edit_comment(comment, body=form.cleaned_data["body"]):
        raise Http404("The comment was deleted meanwhile.")
    context = {"draft": comment.draft, "comment": discussion.load_comment(comment, viewer=request.user)}
    url = discussion.comment_url(comment)
    return edit_answer(request, form, partial=f"{PARTIALS}#comment", context=context, url=url)


@require_POST
@vary_on_headers("HX-Request")
def comment_delete(request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
    comment = _get_comment_for_author(request, pk, comment_pk)
    draft = comment.draft
    discussion.delete_comment(comment)
    if request.htmx:
        return HttpResponse("")  # the comment's <li> is swapped for nothing
    messages.success(request, _("Comment deleted."))
    return redirect(_thread_url(draft))
