"""Sharing papers, and the Lab page of what was shared with the whole lab.

Who may see what: everyone logged in (LoginRequiredMiddleware) may share any paper with the lab,
its teams or its people; the Lab page shows only what was shared with the whole lab.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from lab_portal.forms import form_errors
from lab_portal.navigation import back

from .. import lab_page, sharing
from ..forms import ShareForm
from ..models import Paper
from .feed import get_paper, mark_library


def lab(request: HttpRequest) -> HttpResponse:
    """What the lab shared in the last three months, most interesting first (see interest_score)."""
    papers = lab_page.lab_papers()
    mark_library(request, papers)
    return render(request, "papers/lab.html", {"papers": papers})


def _share_context(paper: Paper, form: ShareForm, *, next_url: str) -> dict:
    # `next` goes back where the form came from (checked when it is used); the note takes the focus.
    return {"paper": paper, "share_form": form, "next": next_url, "focus": True}


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def share(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Share a paper with the lab, teams or people: GET shows the form (its partial for htmx, under
    a paper of the feed), POST shares. Any member of the lab (a login), for any paper."""
    paper = get_paper(arxiv_id)
    if request.method == "GET":
        form = ShareForm(sharer=request.user, paper=paper)
        template = "papers/share.html#share-form" if request.htmx else "papers/share.html"
        return render(request, template, _share_context(paper, form, next_url=request.GET.get("next", "")))
    form = ShareForm(request.POST, sharer=request.user, paper=paper)
    if not form.is_valid():
        if request.htmx:
            context = _share_context(paper, form, next_url=request.POST.get("next", ""))
            return render(request, "papers/share.html#share-form", context)
        messages.error(request, _("Not shared: %(errors)s") % {"errors": form_errors(form)})
        return back(request, paper.get_absolute_url())
    sharing.share_paper(
        paper, sharer=request.user, note=form.cleaned_data["note"], recipients=form.recipients()
    )
    if request.htmx:
        context = {"paper": paper, "recipients": form.recipients_label}
        return render(request, "papers/share.html#share-done", context)
    messages.success(request, _("Shared with %(recipients)s.") % {"recipients": form.recipients_label})
    return back(request, reverse("papers:lab") if form.cleaned_data["lab"] else paper.get_absolute_url())
