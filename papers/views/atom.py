"""The person's Atom feeds of papers (the Lab page, each tag) and the secret keys in their URLs.

Who may see what: the feeds carry a secret key instead of a login (a revoked or unknown key
answers 404); the page of feed URLs and the keys are their owner's alone: anyone else's key
answers 404.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import linebreaks
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import lab_page
from ..models import Bookmark, FeedToken, Tag


def _get_feed_token(key: str) -> FeedToken:
    token = FeedToken.for_key(key)
    if token is None:
        raise Http404
    return token


def _get_own_feed_token(request: HttpRequest, pk: int) -> FeedToken:
    return get_object_or_404(FeedToken, pk=pk, person=request.user)


def feeds(request: HttpRequest) -> HttpResponse:
    """The person's secret feed URLs (the Lab page and each of their tags), with their key."""
    token = FeedToken.current(request.user)
    tags = list(Tag.objects.filter(user=request.user).order_by("name"))
    urls = []
    if token:
        urls.append(
            (_("The Lab page"), request.build_absolute_uri(reverse("papers:lab-atom", args=[token.key])))
        )
        urls += [
            (
                _("Tag “%(tag)s”") % {"tag": tag.name},
                request.build_absolute_uri(reverse("papers:tag-atom", args=[token.key, tag.pk])),
            )
            for tag in tags
        ]
    return render(request, "papers/feeds.html", {"token": token, "urls": urls})


@require_POST
def feed_key_new(request: HttpRequest) -> HttpResponse:
    FeedToken.renew(request.user)
    messages.success(request, _("New feed key created: the old feed addresses no longer work."))
    return redirect("papers:feeds")


@require_POST
def feed_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = _get_own_feed_token(request, pk)
    token.revoke()
    messages.success(request, _("Feed key revoked: its feed addresses no longer work."))
    return redirect("papers:feeds")


def _atom(request: HttpRequest, *, title: str, link: str, entries: list[dict]) -> HttpResponse:
    feed = Atom1Feed(
        title=title,
        link=request.build_absolute_uri(link),
        description="",
        feed_url=request.build_absolute_uri(),
        language=settings.LANGUAGE_CODE,
    )
    for entry in entries:
        paper = entry["paper"]
        url = request.build_absolute_uri(paper.get_absolute_url())
        feed.add_item(
            title=paper.title,
            link=url,
            unique_id=url,
            # The summary is HTML in Atom: the note or abstract is text, escaped here.
            description=linebreaks(entry["summary"], autoescape=True),
            author_name=", ".join(paper.authors),
            pubdate=entry["updated"],
            updateddate=entry["updated"],
            categories=paper.categories,
        )
    return HttpResponse(feed.writeString("utf-8"), content_type="application/atom+xml; charset=utf-8")


@login_not_required
def lab_atom(request: HttpRequest, key: str) -> HttpResponse:
    _get_feed_token(key)
    entries = []
    for paper in lab_page.lab_papers():
        notes = "\n\n".join(
            f"{share.person.name}: {share.note}" for share in paper.shares.all() if share.note
        )
        entries.append({"paper": paper, "summary": notes or paper.abstract, "updated": paper.last_shared})
    return _atom(request, title=_("Shared with the lab"), link=reverse("papers:lab"), entries=entries)


@login_not_required
def tag_atom(request: HttpRequest, key: str, tag_id: int) -> HttpResponse:
    token = _get_feed_token(key)
    tag_obj = get_object_or_404(Tag, user=token.person, pk=tag_id)
    bookmarks = Bookmark.objects.filter(user=token.person, tags=tag_obj).select_related("paper")[:100]
    entries = [{"paper": b.paper, "summary": b.paper.abstract, "updated": b.created_at} for b in bookmarks]
    title = _("Papers %(name)s tagged “%(tag)s”") % {"name": token.person.name, "tag": tag_obj.name}
    return _atom(request, title=title, link=tag_obj.get_absolute_url(), entries=entries)


@login_not_required
def tag_atom_by_name(request: HttpRequest, key: str, name: str) -> HttpResponse:
    token = _get_feed_token(key)
    tag = get_object_or_404(Tag, user=token.person, name=name)
    return redirect("papers:tag-atom", key=key, tag_id=tag.pk, permanent=True)
