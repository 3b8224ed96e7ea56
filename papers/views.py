"""The paper feed, search and library.

Who may see what: every view needs a logged-in person (LoginRequiredMiddleware); papers are
the whole lab's; a library (bookmarks, tags, notes, its BibTeX) is its owner's alone, and
anyone else's rows answer 404; the fetch status page and "fetch now" are for leads (403).
"""

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from . import bibtex, queries
from .announcement import retry_at
from .fetching import FetchError, add_paper, search_arxiv, start_daily_run
from .forms import AbstractsForm, AddPaperForm, BookmarkForm, FeedFilterForm, LibraryBibtexForm, SearchForm
from .models import Bookmark, Dismissal, FeedVisit, FetchRun, Paper, Tag
from .services import mark_not_for_me, remove_bookmark, save_bookmark, unmark_not_for_me
from .tasks import fetch_new_papers

# What an unreadable query string falls back to: the plain page, never an error.
NO_FILTERS = {"q": "", "author": "", "category": "", "day": None, "after": None}


def _get_paper(arxiv_id: str) -> Paper:
    return get_object_or_404(Paper, arxiv_id=arxiv_id)


def _get_bookmark_for_user(request: HttpRequest, pk: int) -> Bookmark:
    # Someone else's bookmark is as absent as one that never existed.
    return get_object_or_404(Bookmark.objects.select_related("paper"), pk=pk, user=request.user)


def _mark_library(request: HttpRequest, papers: list[Paper]) -> None:
    saved = set(
        Bookmark.objects.filter(user=request.user, paper__in=papers).values_list("paper_id", flat=True)
    )
    for paper in papers:
        paper.is_bookmarked = paper.pk in saved


def _next_url(request: HttpRequest, **changes) -> str:
    """This page's address with some query parameters changed: where "load more" leads."""
    query = request.GET.copy()
    for key, value in changes.items():
        query[key] = value  # replaces; QueryDict.update would append a second value
    return f"{request.path}?{query.urlencode()}"


# A page or, asked by htmx, a part of it: a cache or the back button must not mix the two.
@vary_on_headers("HX-Request")
def feed(request: HttpRequest, day: date | None = None, category: str = "") -> HttpResponse:
    """An announcement day (the latest by default), as arXiv lists it, for everyone in the lab."""
    form = FeedFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else dict(NO_FILTERS)
    category = category or filters["category"]
    frame = queries.feed_frame(day or filters["day"])
    lab_categories, latest = frame["categories"], frame["latest"]
    day = day or filters["day"] or latest
    since = FeedVisit.record(request.user) if not filters["after"] else None
    page = queries.Page([], None)
    if day:
        page = queries.day_listing(
            day,
            lab_categories=lab_categories,
            category=category,
            q=filters["q"],
            author=filters["author"],
            after=filters["after"],
        )
    _mark_library(request, page.papers)
    for paper in page.papers:
        paper.is_new_since_visit = since is not None and paper.fetched_at > since
    context = {
        "form": form,
        "day": day,
        "latest": latest,
        "category": category,
        "lab_categories": lab_categories,
        "page": page,
        "next_url": _next_url(request, after=page.cursor) if page.cursor else None,
        "groups": {
            queries.NEW: _("New submissions"),
            queries.CROSS_LIST: _("Cross-lists"),
            queries.UPDATED: _("Updated"),
        },
        "previous_day": frame["previous"],
        "next_day": frame["next"],
    }
    template = "papers/feed.html#paper-list" if request.htmx and filters["after"] else "papers/feed.html"
    return render(request, template, context)


def day_feed(request: HttpRequest, year: int, month: int, day: int) -> HttpResponse:
    try:
        return feed(request, day=date(year, month, day))
    except ValueError:
        raise Http404 from None


def category_feed(request: HttpRequest, code: str) -> HttpResponse:
    return feed(request, category=code)


@vary_on_headers("HX-Request")
def archive(request: HttpRequest) -> HttpResponse:
    """Everything stored, newest first, for browsing further back than one day."""
    form = FeedFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else dict(NO_FILTERS)
    page = queries.stream(
        category=filters["category"], author=filters["author"], q=filters["q"], after=filters["after"]
    )
    _mark_library(request, page.papers)
    context = {
        "form": form,
        "page": page,
        "next_url": _next_url(request, after=page.cursor) if page.cursor else None,
        "lab_categories": queries.feed_frame()["categories"],
    }
    template = (
        "papers/archive.html#paper-list" if request.htmx and filters["after"] else "papers/archive.html"
    )
    return render(request, template, context)


def author(request: HttpRequest) -> HttpResponse:
    name = request.GET.get("name", "").strip()[:200]
    papers = (
        list(Paper.objects.by_author(name).order_by("-first_announced", "-arxiv_id")[:200]) if name else []
    )
    _mark_library(request, papers)
    return render(request, "papers/author.html", {"name": name, "papers": papers})


def paper(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = _get_paper(arxiv_id)
    return render(request, "papers/paper.html", _paper_page(request, paper))


# The part of a paper's page that its Save button and its library box swap with htmx.
PAPER_LIBRARY = "paper-library"


def _paper_library(request: HttpRequest, paper: Paper, *, form=None, saved: bool = False) -> dict:
    """The paper with the viewer's bookmark of it and the form to edit it (`form` when bound)."""
    bookmark = Bookmark.objects.filter(user=request.user, paper=paper).prefetch_related("tags").first()
    paper.is_bookmarked = bookmark is not None
    if bookmark is not None and form is None:
        form = BookmarkForm(instance=bookmark)
    return {"paper": paper, "bookmark": bookmark, "form": form, "saved": saved, "next": _safe_next(request)}


def _paper_page(request: HttpRequest, paper: Paper, **library) -> dict:
    return {
        **_paper_library(request, paper, **library),
        "not_for_me": Dismissal.objects.filter(person=request.user, paper=paper).exists(),
        "lab_categories": queries.feed_frame()["categories"],
    }


def paper_bibtex(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = _get_paper(arxiv_id)
    return _bibtex_response(bibtex.entry(paper), paper.arxiv_id.replace("/", "-"))


def _bibtex_response(text: str, name: str) -> HttpResponse:
    response = HttpResponse(text, content_type="application/x-bibtex; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.bib"'
    return response


@require_POST
def toggle_bookmark(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = _get_paper(arxiv_id)
    deleted = remove_bookmark(paper, person=request.user)
    if not deleted:
        Bookmark.objects.get_or_create(user=request.user, paper=paper)
    paper.is_bookmarked = not deleted
    if request.htmx and request.htmx.target == PAPER_LIBRARY:
        # On the paper's own page the library box comes and goes with the button.
        return render(request, "papers/paper.html#paper-library", _paper_library(request, paper))
    if request.htmx:
        return render(request, "papers/paper_card.html#bookmark-button", {"paper": paper})
    messages.success(request, _("Removed from your library.") if deleted else _("Saved to your library."))
    return _back(request, paper.get_absolute_url())


@require_POST
def abstracts(request: HttpRequest) -> HttpResponse:
    """Remember whether this person's paper lists show abstracts whole or a few lines of each.
    Only the person's own choice is written: there is nobody else's to name."""
    form = AbstractsForm(request.POST)
    if form.is_valid():
        request.user.expand_abstracts = form.cleaned_data["expanded"]
        request.user.save(update_fields=["expand_abstracts"])
    else:
        messages.error(request, _("Not saved: choose abstracts in full or a few lines of each."))
    return _back(request, reverse("papers:index"))


@require_POST
def not_for_me(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Mark the paper "not for me" (a negative example for the person's recommendations), or undo."""
    paper = _get_paper(arxiv_id)
    if request.POST.get("undo"):
        unmark_not_for_me(paper, person=request.user)
        messages.success(request, _("Marked as of interest again."))
    else:
        mark_not_for_me(paper, person=request.user)
        messages.success(request, _("Noted: fewer papers like this one."))
    return redirect(paper)


def _safe_next(request: HttpRequest) -> str:
    """The page a form came from (its `next`), if it is one of ours; empty otherwise."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    return redirect(_safe_next(request) or fallback)


def _tags_in_use(user) -> list[Tag]:
    # By name, said again: a query with an aggregate ignores the model's default ordering.
    tags = Tag.objects.filter(user=user).annotate(count=Count("bookmarks")).filter(count__gt=0)
    return tags.order_by("name")


def _get_tag_for_user(request: HttpRequest, tag_id: int) -> Tag:
    # Someone else's tag is as absent as one that never existed.
    return get_object_or_404(Tag, pk=tag_id, user=request.user)


def library(request: HttpRequest, tag_id: int | None = None) -> HttpResponse:
    """A person's own saved papers, with reading state, tags and private notes."""
    state = request.GET.get("state", "")
    bookmarks = (
        Bookmark.objects.filter(user=request.user)
        .select_related("paper")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    )
    tag = None
    if tag_id is not None:
        tag = _get_tag_for_user(request, tag_id)
        bookmarks = bookmarks.filter(tags=tag)
    if state in Bookmark.State.values:
        bookmarks = bookmarks.filter(state=state)
    rows = [(bookmark, BookmarkForm(instance=bookmark)) for bookmark in bookmarks[:500]]
    context = {
        "rows": rows,
        "tags": _tags_in_use(request.user),
        "tag": tag,
        "state": state,
        "states": Bookmark.State.choices,
    }
    return render(request, "papers/library.html", context)


@require_POST
def edit_bookmark(request: HttpRequest, pk: int) -> HttpResponse:
    """Save a bookmark's state, tags and note, from the paper's page or a library row.

    With htmx the part that sent it comes back (the paper page's library box, or the row with the
    library's tag filter beside it); without, a redirect with a message. A refused form comes back
    as typed, with its errors, so nothing the person wrote is lost.
    """
    bookmark = _get_bookmark_for_user(request, pk)
    form = BookmarkForm(request.POST, instance=bookmark)
    saved = form.is_valid()
    if saved and not save_bookmark(
        bookmark,
        state=form.cleaned_data["state"],
        note=form.cleaned_data["note"],
        tag_names=form.cleaned_data["tag_names"],
    ):
        raise Http404("The paper was removed from the library meanwhile.")
    # The refused form's instance holds half-applied values: what is shown is read again.
    bound = None if saved else form
    if request.htmx and request.htmx.target == PAPER_LIBRARY:
        context = _paper_library(request, bookmark.paper, form=bound, saved=saved)
        return render(request, "papers/paper.html#paper-library", context)
    if request.htmx:
        bookmark = _get_bookmark_for_user(request, pk)
        form = bound or BookmarkForm(instance=bookmark)
        row = {"bookmark": bookmark, "form": form, "saved": saved, "next": _safe_next(request)}
        tags = {"tags": _tags_in_use(request.user), "oob": True}
        return HttpResponse(
            render_to_string("papers/library.html#bookmark-row", row, request)
            + render_to_string("papers/library.html#library-tags", tags, request)
        )
    if not saved:
        context = _paper_page(request, bookmark.paper, form=form)
        return render(request, "papers/paper.html", context, status=400)
    messages.success(request, _("Saved."))
    return _back(request, reverse("papers:library"))


def library_bibtex(request: HttpRequest) -> HttpResponse:
    form = LibraryBibtexForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Not a tag of yours."))
    bookmarks = Bookmark.objects.filter(user=request.user).select_related("paper").order_by("paper__arxiv_id")
    name = "library"
    if tag_id := form.cleaned_data["tag"]:
        tag = _get_tag_for_user(request, tag_id)
        bookmarks = bookmarks.filter(tags=tag)
        name = f"library-{slugify(tag.name) or tag.pk}"
    return _bibtex_response(bibtex.entries(b.paper for b in bookmarks), name)


@vary_on_headers("HX-Request")
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    papers, more, terms = [], False, None
    if form.is_valid():
        data = form.cleaned_data
        terms = queries.parse_terms(data["q"])
        papers, more = queries.search(
            terms, category=data["category"], author=data["author"], sort=data["sort"], offset=data["offset"]
        )
        _mark_library(request, papers)
    next_url = _next_url(request, offset=form.cleaned_data["offset"] + queries.PAGE_SIZE) if more else None
    context = {
        "form": form,
        "papers": papers,
        "next_url": next_url,
        "searched": bool(terms),
        "candidates": queries.CANDIDATES,
        "query": urlencode({"q": request.GET.get("q", "")[:300]}),
    }
    template = (
        "papers/search.html#results" if request.htmx and request.GET.get("offset") else "papers/search.html"
    )
    return render(request, template, context)


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
