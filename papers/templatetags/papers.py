"""Links a paper card repeats dozens of times a page, built without reversing each one.

A feed page shows 25 papers with up to a dozen authors and several categories each: reversing
every link costs more than the page's SQL. The route prefix is reversed once per script prefix.
"""

import functools
from datetime import datetime
from html import escape as _escape
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from papers import tex

register = template.Library()


@functools.cache
def _prefix(name: str, script_prefix: str) -> str:
    """The route's URL up to its one argument (the script prefix is part of the cache key)."""
    return reverse(name, args=["~"]).rsplit("~", 1)[0]


@functools.cache
def _author_page(script_prefix: str) -> str:
    return reverse("papers:author")


@register.filter
def author_url(name: str) -> str:
    return f"{_author_page(get_script_prefix())}?name={quote(name, safe='')}"


@register.filter
def category_url(code: str) -> str:
    return f"{_prefix('papers:category', get_script_prefix())}{quote(code, safe='')}/"


@register.filter
def paper_url(arxiv_id: str) -> str:
    return f"{_prefix('papers:paper', get_script_prefix())}{quote(arxiv_id, safe='/')}"


@register.filter
def bookmark_url(arxiv_id: str) -> str:
    return f"{_prefix('papers:bookmark', get_script_prefix())}{quote(arxiv_id, safe='/')}"


def share_url(arxiv_id: str) -> str:
    return f"{_prefix('papers:share', get_script_prefix())}{quote(arxiv_id, safe='/')}"


# These helpers escape with the standard library's html.escape, which is what Django's escape()
# calls, without the lazy-string wrappers around each call: a feed page makes about a thousand.


@register.filter
def author_links(authors: list[str], limit: int = 12):
    """The authors as links to their pages, the first `limit` of them and a count of the rest.

    Built in Python rather than a template loop: it is the longest part of every paper card.
    """
    links = ", ".join(
        f'<a href="{_escape(author_url(name))}">{_escape(name)}</a>' for name in authors[:limit]
    )
    rest = len(authors) - limit
    if rest > 0:
        links += _escape(ngettext(", and %(n)s more", ", and %(n)s more", rest) % {"n": rest})
    return mark_safe(links)  # noqa: S308 - every piece escaped above


@register.filter
def category_links(categories: list[str]):
    return mark_safe(  # noqa: S308 - every piece escaped
        "".join(
            f'<a class="tag{" primary" if i == 0 else ""}" href="{_escape(category_url(code))}">'
            f"{_escape(code)}</a>"
            for i, code in enumerate(categories)
        )
    )


@register.filter
def from_iso(text: str) -> datetime | None:
    """A moment from the ISO timestamps kept in a paper's list of versions, to format for the reader."""
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


@register.filter
def tex_text(text: str):
    """An abstract (or a comment) with its LaTeX text macros as text, its blank lines kept."""
    return tex.to_html(text, paragraphs=True)


@register.filter
def tex_title(text: str):
    """A title, to be put inside a link: LaTeX as text, and links as their words."""
    return tex.to_html(text, links=False)


def abstract_box(paper, *, expanded: bool) -> str:
    """The abstract, a few lines of it until opened (in place, without JavaScript): a <details>
    whose summary is the abstract itself. A search result shows its snippet around the match
    instead, and the whole abstract once opened."""
    if not paper.abstract:
        return ""
    whole = tex.to_html(paper.abstract)
    snippet = getattr(paper, "snippet", "")
    label, more, less = (_escape(text) for text in (_("Abstract"), _("Show all"), _("Show less")))
    if snippet:
        # A search snippet is escaped where it is made (papers/queries.py), around its <mark>s.
        summary = f'<span class="abstract-text snippet math">{conditional_escape(snippet)}</span>'
        rest = f'<div class="abstract-text">{whole}</div>'
    else:
        summary, rest = f'<span class="abstract-text">{whole}</span>', ""
    return (
        f'<details class="abstract-box{" with-snippet" if snippet else ""}"{" open" if expanded else ""}>'
        f'<summary><span class="visually-hidden">{label}: </span>{summary}'
        f'<span class="abstract-toggle when-folded" aria-hidden="true">▾ {more}</span>'
        f'<span class="abstract-toggle when-open" aria-hidden="true">▴ {less}</span>'
        "</summary>"
        f"{rest}</details>"
    )


@register.simple_tag(takes_context=True)
def paper_card(context, paper):
    """One paper of a listing: title, authors, identifiers, labels, the bookmark button, the abstract.

    Built in Python, like the links above: a feed page repeats it dozens of times, and through
    the template engine the cards took half of the page's server time (15 of 32 ms on /papers/
    over a million papers; bench/scale.py).
    """
    lab_categories = context.get("lab_categories")
    labels = []
    if lab_categories and paper.primary_category not in lab_categories:
        labels.append(("label cross", _("cross-list")))
    if paper.version > 1:
        labels.append(("label", _("updated to v%(v)s") % {"v": paper.version}))
    if paper.withdrawn:
        labels.append(("label warn", _("withdrawn")))
    if paper.is_new_since_visit:
        labels.append(("label new", _("new since your last visit")))
    spans = " ".join(f'<span class="{kind}">{_escape(text)}</span>' for kind, text in labels)
    request = context.get("request")
    expanded = getattr(getattr(request, "user", None), "expand_abstracts", False)
    return mark_safe(  # noqa: S308 - every value escaped here or where it was built
        f'<article class="paper{" withdrawn" if paper.withdrawn else ""}" id="paper-{paper.pk}">'
        f'<h3 class="paper-title"><a href="{_escape(paper_url(paper.arxiv_id))}">'
        f"{tex_title(paper.title)}</a></h3>"
        f'<p class="paper-authors">{author_links(paper.authors)}</p>'
        f'<div class="paper-meta"><a class="arxiv-id" href="{_escape(paper.abs_url)}" rel="noopener">'
        f"{_escape(paper.versioned_id)}</a> {category_links(paper.categories)} {spans} "
        f"{bookmark_button(context, paper)} {share_button(context, paper)}</div>"
        f"{abstract_box(paper, expanded=expanded)}"
        f'<div class="share-slot" id="share-slot-{paper.pk}"></div></article>'
    )


@register.simple_tag(takes_context=True)
def share_button(context, paper):
    """Share: the form opens under the card with htmx, or on its own page (which comes back here)."""
    request = context.get("request")
    here = quote(request.get_full_path() if request else "", safe="")
    url = _escape(f"{share_url(paper.arxiv_id)}?next={here}")
    return mark_safe(  # noqa: S308 - every value escaped
        f'<a class="button small" href="{url}" hx-get="{url}" hx-target="#share-slot-{paper.pk}" '
        f'hx-swap="innerHTML">{_escape(_("Share"))}</a>'
    )


@register.simple_tag(takes_context=True)
def bookmark_button(context, paper):
    """Save or unsave, with htmx or as a plain form that comes back to the same page."""
    action = _escape(bookmark_url(paper.arxiv_id))
    request = context.get("request")
    saved = paper.is_bookmarked
    token = _escape(str(context.get("csrf_token", "")))
    here = _escape(request.get_full_path() if request else "")
    label = _escape(_("Saved") if saved else _("Save"))
    return mark_safe(  # noqa: S308 - every value escaped
        f'<form class="inline bookmark" method="post" action="{action}" hx-post="{action}" '
        'hx-swap="outerHTML">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
        f'<input type="hidden" name="next" value="{here}">'
        f'<button type="submit" class="button small{" on" if saved else ""}" '
        f'aria-pressed="{"true" if saved else "false"}">{label}</button></form>'
    )
