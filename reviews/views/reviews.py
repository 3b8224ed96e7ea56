"""The review form: an assigned reviewer writes their review of a draft, saved as they type (htmx)
or with the Save button, submits it, and may move it to a newer PDF version while in progress.

Who may see what: every page needs a logged-in person (LoginRequiredMiddleware). Anyone who may
not see the draft gets 404, the same as for a draft that does not exist; those who see it but are
not assigned to review it (its authors, the leads) get 403 from every view here. Reviews are read
on the draft page, as `reviewing.visible_reviews` allows. Every change is a POST with CSRF, htmx
included (base.html sends the token in a header).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lab_portal.forms import form_errors

from .. import reviewing
from ..forms import ReviewDraftForm, ReviewForm
from ..models import ReviewAssignment
from .drafts import _get_draft

STATUS_LINE = "reviews/includes/review_status.html"


def _get_assignment(request: HttpRequest, pk: int) -> ReviewAssignment:
    """This person's assignment to the draft: 404 if they may not see it, 403 if not assigned."""
    draft = _get_draft(request, pk)
    assignment = reviewing.assignment_of(draft, request.user)
    if assignment is None:
        raise PermissionDenied
    assignment.draft = draft
    return assignment


def _form_page(
    request: HttpRequest, assignment: ReviewAssignment, form, *, status: int = 200, revision=None, notice=""
) -> HttpResponse:
    draft = assignment.draft
    review = getattr(assignment, "review", None)
    # A list: the template reads the newest of them, and the page must not ask again.
    newer = list(reviewing.newer_versions(review)) if review and not review.is_submitted else []
    context = {
        "draft": draft,
        "assignment": assignment,
        "review": review,
        "form": form,
        "version": review.version if review else draft.latest_version,
        "newer_versions": newer,
        "revision": (review.revision if review else 0) if revision is None else revision,
        "notice": notice,
        "shows_authors": draft.shows_authors_to(request.user),
        "authors": draft.authors.select_related("person"),
    }
    return render(request, "reviews/review_form.html", context, status=status)


def _status_line(
    request: HttpRequest, assignment: ReviewAssignment, *, revision, notice="", status: int = 200
) -> HttpResponse:
    context = {
        "draft": assignment.draft,
        "review": getattr(assignment, "review", None),
        "revision": revision,
        "notice": notice,
    }
    return render(request, STATUS_LINE, context, status=status)


def _refused_page(request: HttpRequest, pk: int, form, refused: reviewing.ReviewRefused) -> HttpResponse:
    """The form again, with what this page sent, after a save was refused as out of date.

    The page now carries the stored revision: saving again is the reviewer's deliberate choice to
    replace what the other window saved, after reading this."""
    assignment = _get_assignment(request, pk)
    notice = _(
        "%(reason)s The form below still shows what this page sent; saving it replaces the saved "
        "review. Reload the page to continue from the saved review instead."
    ) % {"reason": refused}
    return _form_page(request, assignment, form, status=409, notice=notice)


@require_http_methods(["GET", "HEAD", "POST"])
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """The form; a plain POST (the Save button, without JavaScript) saves and comes back."""
    assignment = _get_assignment(request, pk)
    saved = getattr(assignment, "review", None)
    if request.method != "POST":
        form = ReviewDraftForm(instance=saved, initial={"revision": saved.revision if saved else 0})
        return _form_page(request, assignment, form)
    form = ReviewDraftForm(request.POST)
    if not form.is_valid():
        return _form_page(request, assignment, form, status=400, revision=request.POST.get("revision", ""))
    try:
        reviewing.save_review(
            assignment,
            fields=form.posted_fields(),
            revision=form.cleaned_data["revision"],
            version=form.cleaned_data["version"],
        )
    except reviewing.ReviewSubmitted as refused:
        messages.error(request, str(refused))
        return redirect(assignment.draft)
    except reviewing.ReviewRefused as refused:
        return _refused_page(request, pk, form, refused)
    messages.success(request, _("Your review is saved."))
    return redirect("reviews:review", pk)


@require_POST
def autosave(request: HttpRequest, pk: int) -> HttpResponse:
    """Save as the reviewer types: whatever is filled in, nothing required. Answers with the
    status line, which carries the new revision for the page's next save."""
    assignment = _get_assignment(request, pk)
    form = ReviewDraftForm(request.POST)
    page_revision = request.POST.get("revision", "")
    if not form.is_valid():
        notice = _("Not saved: %(errors)s") % {"errors": form_errors(form, labels=True)}
        return _status_line(request, assignment, revision=page_revision, notice=notice, status=400)
    try:
        review = reviewing.save_review(
            assignment,
            fields=form.posted_fields(),
            revision=form.cleaned_data["revision"],
            version=form.cleaned_data["version"],
        )
    except reviewing.ReviewRefused as refused:
        # The page keeps its old revision, so every later save from it is refused too until it
        # is reloaded: nothing another window saved is overwritten.
        return _status_line(request, assignment, revision=page_revision, notice=str(refused), status=409)
    return _status_line(request, assignment, revision=review.revision)


@require_POST
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = _get_assignment(request, pk)
    draft_form = ReviewDraftForm(request.POST)
    if not draft_form.is_valid():
        revision = request.POST.get("revision", "")
        return _form_page(request, assignment, draft_form, status=400, revision=revision)
    fields, revision = draft_form.posted_fields(), draft_form.cleaned_data["revision"]
    version = draft_form.cleaned_data["version"]
    form = ReviewForm(request.POST)
    try:
        if not form.is_valid():
            # Nothing typed is lost: what there is is saved as in progress, and the form says
            # what a submitted review still needs.
            saved = reviewing.save_review(assignment, fields=fields, revision=revision, version=version)
            notice = _("Not submitted yet: fill in the fields marked below. What you wrote is saved.")
            return _form_page(request, assignment, form, status=400, revision=saved.revision, notice=notice)
        submitted = reviewing.submit_review(assignment, fields=fields, revision=revision, version=version)
    except reviewing.ReviewSubmitted:
        submitted = False
    except reviewing.IncompleteReview as refused:
        return _form_page(request, assignment, form, status=400, notice=str(refused))
    except reviewing.ReviewRefused as refused:
        return _refused_page(request, pk, form, refused)
    if submitted:
        messages.success(request, _("Your review is submitted. You can now read the other reviews."))
    else:
        messages.info(request, _("Your review was already submitted; nothing changed."))
    return redirect(assignment.draft)


@require_POST
def move_version(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = _get_assignment(request, pk)
    saved = getattr(assignment, "review", None)
    if saved is None:
        messages.info(request, _("Your review will be on the latest version when you start it."))
        return redirect("reviews:review", pk)
    try:
        number = request.POST.get("version", "")
        latest = reviewing.move_to_latest_version(saved, number=int(number) if number.isdigit() else None)
    except reviewing.ReviewSubmitted as refused:
        messages.error(request, str(refused))
        return redirect(assignment.draft)
    if latest is not None:
        messages.success(request, _("Your review is now of version %(number)d.") % {"number": latest.number})
    return redirect("reviews:review", pk)
