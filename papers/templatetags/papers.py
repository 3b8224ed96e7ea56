"""Links a paper card repeats dozens of times a page, built without reversing each one.

A feed page shows 25 papers with up to a dozen authors and several categories each: reversing
every link costs more than the page's SQL. The route prefix is reversed once per script prefix.
"""

import functools
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

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


@register.filter
def author_links(authors: list[str], limit: int = 12):
    """The authors as links to their pages, the first `limit` of them and a count of the rest.

    Built in Python rather than a template loop: it is the longest part of every paper card.
    """
    links = format_html_join(
        ", ", '<a href="{}">{}</a>', ((author_url(name), name) for name in authors[:limit])
    )
    rest = len(authors) - limit
    if rest > 0:
        more = ngettext(", and %(n)s more", ", and %(n)s more", rest) % {"n": rest}
        return format_html("{}{}", links, more)
    return links


@register.filter
def category_links(categories: list[str]):
    return format_html_join(
        "",
        '<a class="tag{}" href="{}">{}</a>',
        ((" primary" if i == 0 else "", category_url(code), code) for i, code in enumerate(categories)),
    )
