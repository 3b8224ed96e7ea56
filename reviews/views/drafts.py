"""Drafts and their PDF versions.

Who may see what: every page needs a logged-in person (LoginRequiredMiddleware). A draft's page
and its PDFs are for its lab authors, its assigned reviewers and the leads; anyone else gets 404,
the same as for a draft that does not exist. Uploading a version and changing the status are for
the draft's authors (403 for its reviewers; leads may change the status). Every change is a POST.
"""

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from lab_portal import files

from .. import services
from ..discussion import load_thread
from ..forms import DraftForm, OpenToLabForm, StatusForm, VersionForm
from ..models import Deadline, Draft
from ..queues import owed_reviews, with_review_counts
from ..reviewing import review_panel

LIST_RELATED = ("deadline__venue",)

logger = logging.getLogger(__name__)


def _require_lead(request: HttpRequest) -> None:
    if not request.user.is_lead:
        raise PermissionDenied


def _get_draft(request: HttpRequest, pk: int) -> Draft:
    """The draft if this person may see it; 404 otherwise, so its existence is not revealed."""
    drafts = Draft.objects.visible_to(request.user).select_related(*LIST_RELATED, "created_by", "paper")
    return get_object_or_404(drafts, pk=pk)


def _get_draft_for_reader(request: HttpRequest, pk: int) -> Draft:
    """The draft if this person may at least read its current version (a talk's audience, or a
    draft open to the lab); 404 otherwise."""
    drafts = Draft.objects.readable_by(request.user).select_related(*LIST_RELATED, "created_by", "paper")
    return get_object_or_404(drafts, pk=pk)


def _get_draft_for_author(request: HttpRequest, pk: int) -> Draft:
    draft = _get_draft(request, pk)
    if not draft.is_author(request.user):
        raise PermissionDenied
    return draft


def _listed(drafts):
    return drafts.select_related(*LIST_RELATED).annotate(
        version_count=Count("versions"), last_upload=Max("versions__uploaded_at")
    )


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "my_drafts": with_review_counts(_listed(Draft.objects.authored_by(user))),
        "owed": owed_reviews(user),
        # Leads run the review rounds: they see every draft that is in review.
        "in_review": with_review_counts(_listed(Draft.objects.in_review())) if user.is_lead else None,
    }
    return render(request, "reviews/index.html", context)


def new_draft(request: HttpRequest) -> HttpResponse:
    # `?project=<pk>` from a project's "add a draft" link; a malformed value is ignored.
    project = request.GET.get("project", "")
    initial = {"project": int(project)} if project.isdigit() and len(project) < 10 else {}
    form = DraftForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            draft = services.create_draft(
                form.instance,
                by=request.user,
                coauthors=data["coauthors"],
                outside_authors=data["outside_authors"],
                upload=data["pdf"],
                checked=data["pdf"].checked,
                note=data["note"],
            )
        except files.store_errors():
            status = _not_stored(form)
        else:
            messages.success(request, _("Your draft is saved with its first version."))
            return redirect(draft)
    no_deadlines = not Deadline.objects.upcoming().exists()
    context = {"form": form, "no_deadlines": no_deadlines}
    return render(request, "reviews/draft_form.html", context, status=status)


def _not_stored(form) -> int:
    # The storage failed, not the person: their upload rolled back whole, so they may try again.
    logger.exception("A draft PDF could not be stored")
    form.add_error("pdf", files.NOT_STORED)
    return 503


@require_safe
def draft(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get_draft_for_reader(request, pk)
    if not draft.is_visible_to(request.user):
        return _reader_page(request, draft)
    is_author = draft.is_author(request.user)
    context = {
        "draft": draft,
        "is_author": is_author,
        "shows_authors": draft.shows_authors_to(request.user),
        "authors": draft.authors.select_related("person"),
        "versions": draft.versions.select_related("uploaded_by"),
        "version_form": VersionForm() if is_author else None,
        "status_form": StatusForm(initial={"status": draft.status})
        if is_author or request.user.is_lead
        else None,
        "open_form": OpenToLabForm(initial={"open_to_lab": draft.open_to_lab}) if is_author else None,
        "talks": draft.talks.order_by("starts_at"),
        # What earlier seminars of the project asked for, beside the draft its reviewers read.
        "open_items": draft.project.action_items().open() if draft.project_id else [],
    }
    context["review_panel"] = review_panel(draft, request.user)
    context["discussion"] = load_thread(draft, viewer=request.user)
    return render(request, "reviews/draft.html", context)


def _reader_page(request: HttpRequest, draft: Draft) -> HttpResponse:
    """A reader who is neither author, reviewer nor lead: the current version and nothing else."""
    context = {
        "draft": draft,
        "reader": True,
        "shows_authors": draft.shows_authors_to(request.user),
        "authors": draft.authors.select_related("person"),
        "versions": [draft.latest_version] if draft.latest_version else [],
        "talks": draft.talks.order_by("starts_at"),
    }
    return render(request, "reviews/draft.html", context)


@require_POST
def open_to_lab(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get_draft_for_author(request, pk)
    form = OpenToLabForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the lab may read the draft."))
    else:
        services.set_open_to_lab(draft, open_to_lab=form.cleaned_data["open_to_lab"])
        if draft.open_to_lab:
            messages.success(request, _("Everyone in the lab may now read the current version."))
        else:
            messages.success(request, _("Only the authors, reviewers and leads may read the draft now."))
    return redirect(draft)


def upload_version(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get_draft_for_author(request, pk)
    form = VersionForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["pdf"]
        try:
            version = services.add_version(
                draft, upload=upload, checked=upload.checked, note=form.cleaned_data["note"], by=request.user
            )
        except files.store_errors():
            status = _not_stored(form)
        else:
            messages.success(request, _("Version %(number)d is uploaded.") % {"number": version.number})
            return redirect(draft)
    return render(request, "reviews/version_form.html", {"draft": draft, "form": form}, status=status)


@require_POST
def set_status(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get_draft(request, pk)
    if not (request.user.is_lead or draft.is_author(request.user)):
        raise PermissionDenied
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the listed statuses."))
    elif services.set_status(draft, status=form.cleaned_data["status"]):
        messages.success(
            request, _("The draft is now “%(status)s”.") % {"status": draft.get_status_display()}
        )
    return redirect(draft)


@require_safe
def download(request: HttpRequest, pk: int, number: int) -> FileResponse:
    draft = _get_draft_for_reader(request, pk)
    version = get_object_or_404(draft.versions, number=number)
    # A reader (a talk's audience, the lab) gets the current version only, never an earlier one.
    if not draft.is_visible_to(request.user) and version != draft.latest_version:
        raise Http404
    try:
        handle = version.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    name = f"{slugify(draft.title)[:80] or 'draft'}-v{version.number}.pdf"
    # An attachment, never inline: a PDF opened in the portal's own origin could run scripts.
    response = FileResponse(handle, as_attachment=True, filename=name, content_type="application/pdf")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
