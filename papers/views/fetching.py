"""Fetching from arXiv by hand: the fetch status page and "fetch now" (leads only, 403 for
anyone else), adding one paper by its id, and searching arXiv for papers the portal lacks
(everyone logged in)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from ..announcement import retry_at
from ..fetching import FetchError, add_paper, search_arxiv, start_daily_run
from ..forms import AddPaperForm
from ..models import FetchRun, Paper
from ..tasks import fetch_new_papers


def _require_lead(request: HttpRequest) -> None:
    if not request.user.is_lead:
        raise PermissionDenied


@vary_on_headers("HX-Request")
def fetch_status(request: HttpRequest) -> HttpResponse:
    """For leads: what the last fetch runs did, when a failed daily run is tried again, and a
    button to fetch now. Everyone else gets 403."""
    _require_lead(request)
    runs = list(FetchRun.objects.all()[:20])
    latest = FetchRun.objects.daily().order_by("-started_at", "-pk").first()
    context = {
        "runs": runs,
        "running": any(run.status == FetchRun.Status.RUNNING for run in runs),
        "retry_at": retry_at(latest) if latest and latest.status == FetchRun.Status.FAILED else None,
    }
    template = "papers/fetch_status.html#run-list" if request.htmx else "papers/fetch_status.html"
    return render(request, template, context)


@require_POST
def fetch_now(request: HttpRequest) -> HttpResponse:
    _require_lead(request)
    run = start_daily_run()
    if run is None:
        messages.warning(request, _("A fetch is already running; its progress is below."))
    else:
        fetch_new_papers.delay_on_commit(run_id=run.pk)
        messages.success(request, _("Fetch started."))
    return redirect("papers:fetch-status")


def add(request: HttpRequest) -> HttpResponse:
    """Bring one paper into the portal by whatever id or link a person pastes."""
    form = AddPaperForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        arxiv_id, _version = form.cleaned_data["reference"]
        stored = Paper.objects.filter(arxiv_id=arxiv_id).first()
        if stored:
            messages.info(request, _("This paper is already in the portal."))
            return redirect(stored)
        try:
            paper = add_paper(arxiv_id)
        except FetchError as exc:
            reason = _("Could not fetch this paper from arXiv: %(reason)s") % {"reason": exc}
            form.add_error("reference", reason)
        else:
            messages.success(request, _("Added to the portal."))
            return redirect(paper)
    return render(request, "papers/add.html", {"form": form})


def search_arxiv_view(request: HttpRequest) -> HttpResponse:
    """Search arXiv itself for papers the portal has not stored; each can be added with a click."""
    query = request.GET.get("q", "").strip()[:300]
    results, error = [], ""
    if query:
        try:
            results = search_arxiv(query)
        except FetchError as exc:
            error = str(exc)
    stored = set(
        Paper.objects.filter(arxiv_id__in=[r.arxiv_id for r in results]).values_list("arxiv_id", flat=True)
    )
    context = {"query": query, "results": results, "stored": stored, "error": error}
    return render(request, "papers/search_arxiv.html", context)
