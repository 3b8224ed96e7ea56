"""A person's library: saved papers with reading state, tags, private notes and BibTeX.

Who may see what: a library (bookmarks, tags, notes, its BibTeX) is its owner's alone, and
anyone else's rows answer 404.
"""

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lab_portal.navigation import back, safe_next

from .. import bibtex
from ..forms import BookmarkForm, LibraryBibtexForm
from ..models import Bookmark, Tag
from ..services import save_bookmark
from .feed import PAPER_LIBRARY, bibtex_response, paper_library_context, paper_page_context


def _get_bookmark_for_user(request: HttpRequest, pk: int) -> Bookmark:
    # Someone else's bookmark is as absent as one that never existed.
    return get_object_or_404(Bookmark.objects.select_related("paper"), pk=pk, user=request.user)


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
        context = paper_library_context(request, bookmark.paper, form=bound, saved=saved)
        return render(request, "papers/paper.html#paper-library", context)
    if request.htmx:
        bookmark = _get_bookmark_for_user(request, pk)
        form = bound or BookmarkForm(instance=bookmark)
        row = {"bookmark": bookmark, "form": form, "saved": saved, "next": safe_next(request)}
        tags = {"tags": _tags_in_use(request.user), "oob": True}
        return HttpResponse(
            render_to_string("papers/library.html#bookmark-row", row, request)
            + render_to_string("papers/library.html#library-tags", tags, request)
        )
    if not saved:
        context = paper_page_context(request, bookmark.paper, form=form)
        return render(request, "papers/paper.html", context, status=400)
    messages.success(request, _("Saved."))
    return back(request, reverse("papers:library"))


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
    return bibtex_response(bibtex.entries(b.paper for b in bookmarks), name)
