"""LaTeX in titles and abstracts as a phone shows it (lab_portal.latex, through pylatexenc)."""

# ruff: noqa: RUF001 - the expected texts are Unicode mathematics on purpose

import json
import re
from pathlib import Path

import pytest

from lab_portal.latex import lead, readable, sentences

DEMO_PAPERS = Path(__file__).resolve().parents[2] / "papers" / "data" / "demo_papers.jsonl"


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        (r"Regret $\mathcal{O}(\sqrt{T})$ for bandits", "Regret 𝒪(√(T)) for bandits"),
        (r"\emph{Fast} and \textbf{bold} \textit{GPT-4o}", "Fast and bold GPT-4o"),
        (r"Schr\"odinger, Erd\H{o}s and \'{E}tienne", "Schrödinger, Erdős and Étienne"),
        (r"$\alpha$-divergence and $\beta$-VAE", "α-divergence and β-VAE"),
        (r"$x^2 + y_{t}$, $10^{-3}$ and $\sum_{i=1}^n$", "x² + yₜ, 10⁻³ and ∑ᵢ₌₁ⁿ"),
        (r"F$^3$Set, CaO$_2$ and H$_{2}$OT", "F³Set, CaO₂ and H₂OT"),
        # No Unicode superscript for every character: marked, grouped, still readable.
        (r"$\mathbb{R}^{d\times d}$ and $y_{i,j}$", "ℝ^(d× d) and y_(i,j)"),
        (r"$x_\mathrm{init}$", "xᵢₙᵢₜ"),
        (r"$\leq \epsilon$, $\to$, $\infty$", "≤ ϵ, →, ∞"),
        (r"accuracy up by 37.3% on average, 50\% of \$5", "accuracy up by 37.3% on average, 50% of $5"),
        ("R&D for A & B", "R&D for A & B"),
        (r"\href{https://example.org/code}{our code}, 5\textsuperscript{th}", "our code, 5ᵗʰ"),
        (r"We propose \ours, a \method{} for \eg recall", r"We propose \ours, a \method for e.g. recall"),
        ("A   title\n  wrapped by arXiv", "A title wrapped by arXiv"),
        ("Plain title, nothing to read", "Plain title, nothing to read"),
        ("", ""),
    ],
)
def test_readable_turns_latex_into_unicode_text(source, shown):
    assert readable(source) == shown


@pytest.mark.parametrize(
    "malformed",
    [
        r"unbalanced $ { \frac{a}{b",
        r"\frac{",
        "}}}{{{",
        "{" * 5000,
        "$" * 7,
        "\\",
        r"$x^",
        r"\begin{itemize} never ended",
        r"\href{only-one-argument}",
        "a_",
        "\x00 and \ufffd",
    ],
)
def test_readable_never_raises_on_malformed_input(malformed):
    shown = readable(malformed)

    assert isinstance(shown, str)
    assert "%s" not in shown
    assert "\n" not in shown


def test_readable_reads_every_demo_paper_without_latex_left_over():
    papers = [json.loads(line) for line in DEMO_PAPERS.read_text().splitlines()]
    with_math = [paper for paper in papers if "$" in paper["title"] + paper["abstract"]]

    shown = [readable(paper["title"]) + " " + readable(paper["abstract"]) for paper in papers]

    assert len(with_math) >= 10
    # A dollar sign left is money ("US$28.31"), never an unread formula.
    unread = re.compile(r"\\(mathcal|mathbb|frac|sqrt|emph|textbf)\b|\$(?!\d)")
    leftovers = [text for text in shown if unread.search(text)]
    assert leftovers == []


def test_sentences_split_at_full_stops_not_at_abbreviations():
    text = "We study X, e.g. in Fig. 2 as J. Smith et al. did. It works! Does it? Yes (mostly)."

    assert sentences(text) == [
        "We study X, e.g. in Fig. 2 as J. Smith et al. did.",
        "It works!",
        "Does it?",
        "Yes (mostly).",
    ]


def test_lead_takes_the_first_sentence_and_a_second_when_the_first_is_short():
    short = r"We bound regret by $\mathcal{O}(\sqrt{T})$. The bound is tight. A third sentence."
    long = "A first sentence " + "that goes on " * 12 + "to the end. The second one."

    assert lead(short) == "We bound regret by 𝒪(√(T)). The bound is tight."
    assert lead(long) == "A first sentence " + "that goes on " * 12 + "to the end."
    assert lead("") == ""
