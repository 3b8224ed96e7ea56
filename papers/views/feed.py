"""The paper feed, search, and a paper's page with its Save button and library box.

Who may see what: every view needs a logged-in person (LoginRequiredMiddleware); papers are
the whole lab's, and the library box on a paper's page shows only the viewer's own bookmark.
"""

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from lab_portal.navigation import back, safe_next

from .. import bibtex, queries
from ..forms import AbstractsForm, BookmarkForm, FeedFilterForm, SearchForm
from ..models import Bookmark, Dismissal, FeedVisit, Paper
from ..services import mark_not_for_me, remove_bookmark, unmark_not_for_me

# What an unreadable query string falls back to: the plain page, never an error.
NO_FILTERS = {"q": "", "author": "", "category": "", "day": None, "after": None}


def get_paper(arxiv_id: str) -> Paper:
    return get_object_or_404(Paper, arxiv_id=arxiv_id)


def mark_library(request: HttpRequest, papers: list[Paper]) -> None:
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
    mark_library(request, page.papers)
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
    mark_library(request, page.papers)
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
    mark_library(request, papers)
    return render(request, "papers/author.html", {"name": name, "papers": papers})


def paper(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = get_paper(arxiv_id)
    return render(request, "papers/paper.html", paper_page_context(request, paper))


# The part of a paper's page that its Save button and its library box swap with htmx.
PAPER_LIBRARY = "paper-library"


def paper_library_context(request: HttpRequest, paper: Paper, *, form=None, saved: bool = False) -> dict:
    """The paper with the viewer's bookmark of it and the form to edit it (`form` when bound)."""
    bookmark = Bookmark.objects.filter(user=request.user, paper=paper).prefetch_related("tags").first()
    paper.is_bookmarked = bookmark is not None
    if bookmark is not None and form is None:
        form = BookmarkForm(instance=bookmark)
    return {"paper": paper, "bookmark": bookmark, "form": form, "saved": saved, "next": safe_next(request)}


def paper_page_context(request: HttpRequest, paper: Paper, **library) -> dict:
    return {
        **paper_library_context(request, paper, **library),
        "not_for_me": Dismissal.objects.filter(person=request.user, paper=paper).exists(),
        "lab_categories": queries.feed_frame()["categories"],
    }


def paper_bibtex(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = get_paper(arxiv_id)
    return bibtex_response(bibtex.entry(paper), paper.arxiv_id.replace("/", "-"))


def bibtex_response(text: str, name: str) -> HttpResponse:
    response = HttpResponse(text, content_type="application/x-bibtex; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.bib"'
    return response


@require_POST
def toggle_bookmark(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = get_paper(arxiv_id)
    deleted = remove_bookmark(paper, person=request.user)
    if not deleted:
        Bookmark.objects.get_or_create(user=request.user, paper=paper)
    paper.is_bookmarked = not deleted
    if request.htmx and request.htmx.target == PAPER_LIBRARY:
        # On the paper's own page the library box comes and goes with the button.
        return render(request, "papers/paper.html#paper-library", paper_library_context(request, paper))
    if request.htmx:
        return render(request, "papers/paper_card.html#bookmark-button", {"paper": paper})
    messages.success(request, _("Removed from your library.") if deleted else _("Saved to your library."))
    return back(request, paper.get_absolute_url())


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
    return back(request, reverse("papers:index"))


@require_POST
def not_for_me(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Mark the paper "not for me" (a negative example for the person's recommendations), or undo."""
    paper = get_paper(arxiv_id)
    if request.POST.get("undo"):
        unmark_not_for_me(paper, person=request.user)
        messages.success(request, _("Marked as of interest again."))
    else:
        mark_not_for_me(paper, person=request.user)
        messages.success(request, _("Noted: fewer papers like this one."))
    return redirect(paper)


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
        mark_library(request, papers)
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
