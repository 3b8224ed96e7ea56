"""Markdown with math: what people write renders, and nothing they write can run."""

from html.parser import HTMLParser

import pytest
from django.template import Context, Template

from lab_portal.markdown import render_markdown

XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    '<div onmouseover="alert(1)">hover</div>',
    "$$</span><script>alert(1)</script>$$",
    '[x](https://a.example "t\\" onclick=\\"alert(1)")',
    "<svg/onload=alert(1)>",
    "![x](https://evil.example/pixel.png)",
]


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", XSS)
def test_markdown_renders_xss_payloads_inert(payload):
    html = str(render_markdown(payload))

    elements = Elements(html).tags
    assert {tag for tag, _ in elements} <= {"p", "a", "span", "div"}
    for tag, attributes in elements:
        assert not [name for name in attributes if name.startswith("on") or name in ("src", "style")]
        if tag == "a":
            assert attributes["href"].startswith("https://")
            assert attributes["rel"] == "nofollow noopener"


def test_markdown_keeps_raw_html_as_text():
    html = render_markdown("before <b>bold</b> after")

    assert html == "<p>before &lt;b&gt;bold&lt;/b&gt; after</p>\n"


def test_markdown_inline_math_survives_for_katex():
    html = render_markdown("Let $a_i < b^2$ hold.")

    assert html == '<p>Let <span class="math inline">\\(a_i &lt; b^2\\)</span> hold.</p>\n'


def test_markdown_display_math_survives_for_katex():
    html = render_markdown("$$\n\\sum_{i=1}^n x_i * y_i\n$$")

    assert '<div class="math block">' in html
    assert "\\[\\sum_{i=1}^n x_i * y_i\\]" in html
    assert "<em>" not in html


def test_markdown_display_math_inside_a_sentence_stays_in_the_paragraph():
    html = render_markdown("so $$E = mc^2$$ holds")

    assert html == '<p>so <span class="math inline">\\[E = mc^2\\]</span> holds</p>\n'


def test_markdown_dollar_amounts_are_not_math():
    html = render_markdown("It cost $5 and then $10.")

    assert "math" not in html
    assert "$5 and then $10" in html


def test_markdown_links_get_nofollow_noopener():
    html = render_markdown("[paper](https://arxiv.org/abs/2401.01234)")

    assert html == '<p><a href="https://arxiv.org/abs/2401.01234" rel="nofollow noopener">paper</a></p>\n'


def test_markdown_keeps_ordinary_formatting():
    html = render_markdown("# Title\n\n*em* **strong** `x<y`\n\n- one\n- two\n\n```\ncode\n```")

    assert "<h1>Title</h1>" in html
    assert "<em>em</em>" in html and "<strong>strong</strong>" in html
    assert "<code>x&lt;y</code>" in html
    assert "<li>one</li>" in html
    assert "<pre><code>code\n</code></pre>" in html


def test_markdown_of_nothing_is_empty():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


def test_markdown_filter_in_templates_is_not_escaped_again():
    template = Template("{% load portal_markdown %}{{ text|markdown }}")

    html = template.render(Context({"text": "**hi** <b>"}))

    assert html == "<p><strong>hi</strong> &lt;b&gt;</p>\n"


def test_table_alignment_is_a_class_not_a_style_attribute():
    html = render_markdown("| name | score |\n|:-----|------:|\n| a | 1 |\n")

    assert 'style="' not in html
    assert '<th class="align-left">name</th>' in html
    assert '<td class="align-right">1</td>' in html
