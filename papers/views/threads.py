"""Threads on papers: following, comments, replies and reactions.

Who may see what: everyone logged in (LoginRequiredMiddleware). Threads and reactions are the
whole lab's, and anyone may follow one; only a comment's author edits or deletes it (403 for
anyone else; a deleted comment is 404).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from lab_portal.comments import edit_answer, refused_post

from .. import comments
from ..forms import FollowForm, ThreadCommentForm
from ..models import Comment, Reaction
from .feed import get_paper


def _get_comment(pk: int) -> Comment:
    # A deleted comment can no longer be reacted to, edited or deleted: it is gone for the thread.
    return get_object_or_404(
        Comment.objects.select_related("paper", "author"), pk=pk, deleted_at__isnull=True
    )


def _get_comment_for_author(request: HttpRequest, pk: int) -> Comment:
    comment = _get_comment(pk)
    if not comment.editable_by(request.user):
        raise PermissionDenied
    return comment


@require_POST
@vary_on_headers("HX-Request")
def follow(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Follow a paper's thread, or stop: one's own following only, for any paper (a login)."""
    paper = get_paper(arxiv_id)
    form = FollowForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Say on or off."))
    following = form.cleaned_data["follow"]
    if following:
        comments.follow_thread(paper, person=request.user)
    else:
        comments.unfollow_thread(paper, person=request.user)
    if request.htmx:
        return render(request, "papers/thread.html#follow-button", {"paper": paper, "following": following})
    if following:
        messages.success(request, _("You follow this thread: every new comment reaches you."))
    else:
        messages.success(request, _("You no longer follow this thread."))
    return redirect(f"{paper.get_absolute_url()}#thread")


@require_POST
@vary_on_headers("HX-Request")
def comment_new(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = get_paper(arxiv_id)
    form = ThreadCommentForm(request.POST)
    valid = form.is_valid()
    parent = None
    # The parent is checked even when the body is refused: the errors go back to its reply form.
    if form.cleaned_data.get("parent"):
        parent = _get_comment(form.cleaned_data["parent"])
        if parent.paper_id != paper.pk:
            raise Http404
    if not valid:
        # The form aimed at the list; a refused post replaces the form, with its errors.
        form_id = f"reply-form-{parent.pk}" if parent else f"comment-form-{paper.pk}"
        context = {"paper": paper, "parent": parent}
        url = f"{paper.get_absolute_url()}#thread"
        return refused_post(
            request,
            form,
            partial="papers/thread.html#comment-form",
            context=context,
            form_id=form_id,
            url=url,
        )
    comment = comments.post_comment(paper, author=request.user, body=form.cleaned_data["body"], parent=parent)
    if request.htmx:
        context = {
            "paper": paper,
            "parent": parent,
            "comment": comments.load_comment(comment.pk, viewer=request.user),
        }
        return render(request, "papers/thread.html#comment-posted", context)
    messages.success(request, _("Comment posted."))
    return redirect(comments.comment_url(comment))


@require_POST
@vary_on_headers("HX-Request")
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _get_comment_for_author(request, pk)
    form = ThreadCommentForm(request.POST)
    if form.is_valid() and not comments.edit_comment(comment, body=form.cleaned_data["body"]):
        form.add_error(None, _("The comment was deleted meanwhile; the edit was not saved."))
    shown = comments.load_comment(comment.pk, viewer=request.user) if request.htmx else None
    context = {"comment": shown, "paper": comment.paper}
    url = comments.comment_url(comment)
    return edit_answer(request, form, partial="papers/thread.html#comment", context=context, url=url)


@require_POST
@vary_on_headers("HX-Request")
def comment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _get_comment_for_author(request, pk)
    comments.delete_comment(comment)
    if request.htmx:
        shown = comments.load_comment(comment.pk, viewer=request.user)
        return render(request, "papers/thread.html#comment", {"comment": shown, "paper": comment.paper})
    messages.success(request, _("Comment deleted."))
    return redirect(f"{comment.paper.get_absolute_url()}#thread")


@require_POST
@vary_on_headers("HX-Request")
def comment_react(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _get_comment(pk)
    emoji = request.POST.get("emoji", "")
    if emoji not in Reaction.Emoji.values:
        return HttpResponseBadRequest(_("Unknown reaction."))
    comments.toggle_reaction(comment, person=request.user, emoji=emoji)
    if request.htmx:
        shown = comments.load_comment(comment.pk, viewer=request.user)
        return render(request, "papers/thread.html#reactions", {"comment": shown})
    return redirect(comments.comment_url(comment))
