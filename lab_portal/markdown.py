"""Markdown with math for everything people write in the portal (abstracts, bios, comments).

CommonMark through markdown-it-py, with raw HTML off, so `<script>` is text; `$...$` and `$$...$$`
become elements of class "math" holding the LaTeX between `\\(`/`\\[` delimiters, which
static/js/portal.js hands to KaTeX. The HTML is then cleaned with an allow-list (nh3), so even a
bug in the parser cannot let an attribute or a `javascript:` link through.
"""

import re
from functools import cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from mdit_py_plugins.dollarmath import dollarmath_plugin

TAGS = {
    "p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "span", "div",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALIGNED = {"align-left", "align-center", "align-right"}
CLASSES = {"span": {"math", "inline"}, "div": {"math", "block", "inline"}, "th": ALIGNED, "td": ALIGNED}
# A table column's alignment as markdown-it writes it; the Content-Security-Policy refuses style
# attributes, so it becomes a class the portal's stylesheet aligns.
TEXT_ALIGN = re.compile(r'style="text-align:(left|center|right)"')


def _math(content: str, options: dict) -> str:
    # KaTeX's auto-render looks for delimiters inside the element; \( \) and \[ \] never clash
    # with a dollar sign left in the surrounding text.
    if options.get("display_mode"):
        return escapeHtml(f"\\[{content}\\]")
    return escapeHtml(f"\\({content}\\)")


def _display_in_line(self, tokens, idx, options, env) -> str:
    return f'<span class="math inline">{_math(tokens[idx].content.strip(), {"display_mode": True})}</span>'


@cache
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )
    # Images would load from anywhere on every page view; a link does the job.
    parser.disable("image")
    dollarmath_plugin(parser, allow_labels=False, allow_digits=False, double_inline=True, renderer=_math)
    # The plugin puts `$$...$$` inside a sentence in a <div>, which breaks the paragraph apart.
    parser.add_render_rule("math_inline_double", _display_in_line)
    return parser


def render_markdown(text: str) -> SafeString:
    html = TEXT_ALIGN.sub(r'class="align-\1"', _parser().render(text or ""))
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        allowed_classes=CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
    )
    return mark_safe(cleaned)  # noqa: S308 - cleaned by nh3 with the allow-list above
