"""arXiv's LaTeX in titles and abstracts as HTML: text macros as text, math kept for KaTeX."""

import json
import re
from pathlib import Path

import pytest

from papers.tex import MAX_DEPTH, to_html

DEMO_PAPERS = Path(__file__).resolve().parents[1] / "data" / "demo_papers.jsonl"


def outside_math(html: str) -> str:
    return re.sub(r'<span class="tex"[^>]*>.*?</span>', "", html, flags=re.DOTALL)


def test_tex_text_macros_become_markup():
    html = to_html(
        r"We propose \textbf{X-Net}, an \emph{efficient} and \textit{simple} \texttt{pip} tool, "
        r"{\bf bold and \em nested}, \underline{key}, \textsc{AlignX} and \mbox{kept}."
    )

    assert html == (
        "We propose <strong>X-Net</strong>, an <em>efficient</em> and <em>simple</em> <code>pip</code> "
        "tool, <strong>bold and <em>nested</em></strong>, <u>key</u>, "
        '<span class="smallcaps">AlignX</span> and kept.'
    )


def test_tex_escaped_characters_accents_quotes_and_words_read_as_text():
    html = to_html(
        r"margins of 20.43\% on Q\&A, (\$148K), Part \_A, \#params, Do\~nana, \'{e}cole, "
        r"Erd\H{o}s, \c{c}a, na\"ive, ``quoted'' \LaTeX{} \eg{} Fig.~3 and Variant~A at ~10\%"
    )

    assert html == (
        "margins of 20.43% on Q&amp;A, ($148K), Part _A, #params, Doñana, école, "
        "Erdős, ça, naïve, “quoted” LaTeX e.g. Fig.\u00a03 and Variant\u00a0A at ~10%"
    )


def test_tex_links_go_only_to_the_web():
    html = to_html(
        r"Code at \url{https://github.com/lab/x}, \href{https://example.org/a?b=1&c=2}{the \emph{site}}, "
        r"\href{javascript:alert(1)}{bad} and \url{ftp://old.example.org}."
    )

    assert '<a href="https://github.com/lab/x" rel="nofollow noopener">https://github.com/lab/x</a>' in html
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener">the <em>site</em></a>' in html
    assert "javascript" not in html and ", bad and ftp://old.example.org." in html


def test_tex_title_inside_a_link_gets_no_links_of_its_own():
    html = to_html(r"\href{https://example.org}{Demo}: a \url{https://x.org} toolkit", links=False)

    assert html == "Demo: a https://x.org toolkit"


def test_tex_citations_footnotes_and_colours_become_text():
    html = to_html(
        r"benchmark~\cite{yang2022openood} and~\citep[p.~3]{a,b}, a field\footnote{See \url{https://x.org}.} "
        r"\textcolor{red}{hot} \color{blue}\small done"
    )

    assert html == (
        "benchmark\u00a0[yang2022openood] and\u00a0[a, b], a field (See "
        '<a href="https://x.org" rel="nofollow noopener">https://x.org</a>.) hot done'
    )


def test_tex_unknown_macro_stays_as_its_own_source():
    html = to_html(r"We propose \method, which beats \baseline{v2}.")

    assert html == r"We propose \method, which beats \baseline{v2}."


def test_tex_math_is_kept_as_source_for_katex():
    html = to_html(r"PSNR of $21.41\db$, a $$\sum_i x_i$$ and \(a<b\) with $\unicode{x2013}16.3%$.")

    assert html == (
        'PSNR of <span class="tex" data-tex="21.41\\db">$21.41\\db$</span>, a '
        '<span class="tex" data-tex="\\sum_i x_i" data-display="true">$$\\sum_i x_i$$</span> and '
        '<span class="tex" data-tex="a&lt;b">\\(a&lt;b\\)</span> with '
        '<span class="tex" data-tex="–16.3\\%">$\\unicode{x2013}16.3%$</span>.'  # noqa: RUF001
    )


def test_tex_math_inside_a_text_macro_and_unclosed_dollars():
    html = to_html(r"\textbf{Ours: $x^2$} costs $5 in all")
    unclosed = to_html(r"a $$ never closed, nor \( this")

    assert html == '<strong>Ours: <span class="tex" data-tex="x^2">$x^2$</span></strong> costs $5 in all'
    assert unclosed == r"a $$ never closed, nor \( this"


def test_tex_escapes_everything_a_person_wrote():
    html = to_html(r'<script>alert(1)</script> \emph{<b>} $x" onmouseover="y$ \href{https://a.org/"x}{<i>}')

    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;" in html and "<em>&lt;b&gt;</em>" in html
    assert 'data-tex="x&quot; onmouseover=&quot;y"' in html
    assert 'href="https://a.org/&quot;x"' in html


@pytest.mark.parametrize(
    "text",
    [
        r"\textbf{never closed",
        r"\emph",
        r"{" * 5000,
        r"\textbf{" * 5000 + "x" + "}" * 5000,
        "$" * 1001,
        r"\'",
        r"\c",
        r"\href{https://a.org}",
        "\\",
        "",
    ],
)
def test_tex_broken_or_hostile_input_never_fails(text):
    html = to_html(text)

    assert isinstance(html, str)
    assert "<script" not in html


def test_tex_nesting_deeper_than_the_limit_is_shown_as_source():
    deep = r"\emph{" * (MAX_DEPTH + 5) + "core" + "}" * (MAX_DEPTH + 5)

    html = to_html(deep)

    assert html.count("<em>") == MAX_DEPTH + 1
    assert r"\emph{core}" in html


def test_tex_paragraphs_keep_the_authors_blank_lines():
    html = to_html("First line\nwraps here.\n\n  Second paragraph.", paragraphs=True)

    assert html == "First line\nwraps here.<br><br>Second paragraph."


def test_tex_real_abstracts_keep_no_text_macro_raw():
    papers = [json.loads(line) for line in DEMO_PAPERS.read_text().splitlines()]
    with_macros = [
        p for p in papers if re.search(r"\\(emph|textbf|textit|texttt|textsc|href|citep?)\b", p["abstract"])
    ]

    leftovers = {
        paper["id"]: re.findall(
            r"\\(?:emph|textbf|textit|texttt|textsc|href|citep?)\b", outside_math(to_html(paper["abstract"]))
        )
        for paper in with_macros
    }

    assert len(with_macros) >= 15
    assert {key: found for key, found in leftovers.items() if found} == {}
