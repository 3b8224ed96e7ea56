"""LaTeX as a phone shows it: the readable Unicode text of arXiv titles and abstracts.

arXiv serves titles and abstracts as their authors typed them, LaTeX and all:
"$\\mathcal{O}(\\sqrt{T})$ regret", "\\emph{Fast}", "Schr\\"odinger". The web pages let KaTeX
typeset that; chat and e-mail cannot, so messages carry pylatexenc's Unicode reading of it
instead ("𝒪(√(T)) regret", "Fast", "Schrödinger"). On top of pylatexenc's own rules: sub- and
superscripts in math become Unicode ones where every character has one ("x²", "∑ᵢ₌₁ⁿ"), else
"x^(d×d)"; a bare "%" (as in "by 37%", which arXiv's abstracts are full of) is a percent sign,
not the start of a comment; an author's own macro (\\ours) stays visible rather than vanishing.
Nothing here raises: text the parser cannot read comes back as it was, whitespace tidied.
"""  # noqa: RUF002 - the examples are the point

import logging
import re
from functools import lru_cache

from pylatexenc import latexwalker, macrospec
from pylatexenc.latex2text import (
    LatexNodes2Text,
    MacroTextSpec,
    SpecialsTextSpec,
    get_default_latex_context_db,
)

logger = logging.getLogger(__name__)

SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ",
        strict=True,
    )
)
SUBSCRIPTS = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
# A "%" not escaped as "\%": in an abstract it is a percent sign, never a LaTeX comment.
_BARE_PERCENT = re.compile(r"(?<!\\)((?:\\\\)*)%")
_PLACEHOLDER = re.compile(r"%\((\d+)\)s|(?<!%)%s")
# Old font switches and references, which say nothing in plain text.
_DROPPED = ["cite", "citet", "citep", "ref", "eqref", "label", "footnote", "sc", "it", "bf", "em", "rm",
            "tt", "sf", "sl", "small", "large", "Large", "normalsize", "noindent", "left", "right", "middle",
            "big", "Big", "bigl", "bigr", "Bigl", "Bigr"]  # fmt: skip
# Abbreviations that papers define as macros and arXiv shows as typed.
_SPELLED = {
    "eg": "e.g.",
    "ie": "i.e.",
    "etal": "et al.",
    "etc": "etc.",
    "wrt": "w.r.t.",
    "vs": "vs.",
    "deg": "°",
}


class _ScriptArgument(macrospec.MacroStandardArgsParser):
    """The argument of ^ or _: one character, a braced group, or a macro with its own arguments
    (x_\\mathrm{init}), which pylatexenc's standard parser would cut after the macro's name."""

    def __init__(self):
        super().__init__("{")

    def parse_args(self, w, pos, parsing_state=None):
        token = w.get_token(pos, environments=False, parsing_state=parsing_state)
        if token.tok == "macro":
            nodes, start, length = w.get_latex_nodes(token.pos, read_max_nodes=1, parsing_state=parsing_state)
            return macrospec.ParsedMacroArgs(argspec="{", argnlist=nodes[:1]), start, length
        return super().parse_args(w, pos, parsing_state=parsing_state)


def _script(table: dict[str, str], mark: str, *, math_only: bool = True):
    def render(node, l2tobj) -> str:
        args = node.nodeargd.argnlist if node.nodeargd and node.nodeargd.argnlist else []
        text = l2tobj.nodelist_to_text([arg for arg in args if arg is not None]).strip()
        if math_only and not node.parsing_state.in_math_mode:
            return mark + text  # snake_case_names in running text stay as written
        if text and all(char in table for char in text):
            return "".join(table[char] for char in text)
        return mark + (text if len(text) <= 1 else f"({text})")

    return render


def _unknown(node, l2tobj) -> str:
    # A macro the parser knows the arguments of (\texttt{…}) shows them; one it has never seen
    # is the paper's own (\ours) and stays visible as typed, rather than leaving a gap.
    if node.nodeargd and node.nodeargd.argnlist:
        return "".join(l2tobj.node_arg_to_text(node, k) for k in range(len(node.nodeargd.argnlist)))
    return "\\" + node.macroname + (" " if node.macro_post_space else "")


def _walker_context():
    db = latexwalker.get_default_latex_context_db()
    db.add_context_category(
        "lab-portal",
        prepend=True,
        macros=[
            macrospec.std_macro("href", False, 2),
            macrospec.std_macro("textsuperscript", False, 1),
            macrospec.std_macro("textsubscript", False, 1),
        ],
        environments=[],
        specials=[
            macrospec.SpecialsSpec("^", args_parser=_ScriptArgument()),
            macrospec.SpecialsSpec("_", args_parser=_ScriptArgument()),
        ],
    )
    return db


def _text_context():
    db = get_default_latex_context_db()
    db.add_context_category(
        "lab-portal",
        prepend=True,
        macros=[
            *(MacroTextSpec(name, discard=True) for name in _DROPPED),
            *(MacroTextSpec(name, simplify_repl=text) for name, text in _SPELLED.items()),
            MacroTextSpec("href", simplify_repl="%(2)s"),
            MacroTextSpec("textsuperscript", simplify_repl=_script(SUPERSCRIPTS, "^", math_only=False)),
            MacroTextSpec("textsubscript", simplify_repl=_script(SUBSCRIPTS, "_", math_only=False)),
        ],
        environments=[],
        specials=[
            SpecialsTextSpec("^", simplify_repl=_script(SUPERSCRIPTS, "^")),
            SpecialsTextSpec("_", simplify_repl=_script(SUBSCRIPTS, "_")),
            SpecialsTextSpec("&", "&"),  # an "&" in a title is an ampersand, not a table's column
        ],
    )
    db.set_unknown_macro_spec(MacroTextSpec("", simplify_repl=_unknown))
    return db


class _Reader(LatexNodes2Text):
    def apply_simplify_repl(self, node, simplify_repl, what):
        # A macro cut short ("\frac{a" at the end of a title) lacks arguments its rule names:
        # show the ones it has rather than the rule's "%s/%s".
        args = node.nodeargd.argnlist if getattr(node, "nodeargd", None) and node.nodeargd.argnlist else []
        if isinstance(simplify_repl, str) and len(simplify_repl) > 1:
            wanted = [int(n) if n else 1 for n in _PLACEHOLDER.findall(simplify_repl)]
            if len(args) < max(wanted, default=0) or len(args) < len(wanted):
                return "".join(self.node_arg_to_text(node, k) for k in range(len(args)))
        return super().apply_simplify_repl(node, simplify_repl, what)

    def macro_node_to_text(self, node):
        text = super().macro_node_to_text(node)
        # In math "\leq \epsilon" reads better as "≤ ϵ" than as "≤ϵ": keep the space typed.
        bare = not (node.nodeargd and node.nodeargd.argnlist)
        if node.parsing_state.in_math_mode and node.macro_post_space and text and bare:
            return text + " "
        return text


_WALKER_CONTEXT = _walker_context()
_READER = _Reader(
    latex_context=_text_context(),
    math_mode="text",
    # Spaces as typed, also between $…$ and the words around it.
    strict_latex_spaces={
        "between-macro-and-chars": False,
        "between-latex-constructs": True,
        "after-comment": False,
        "in-equations": None,
    },
)


@lru_cache(maxsize=4096)
def readable(text: str) -> str:
    """`text` with its LaTeX as Unicode, on one line: for titles and abstracts in messages."""
    if "\\" not in text and "$" not in text and "{" not in text and "~" not in text:
        return " ".join(text.split())  # most titles: nothing to read
    source = _BARE_PERCENT.sub(r"\1\\%", text)
    try:
        walker = latexwalker.LatexWalker(source, latex_context=_WALKER_CONTEXT, tolerant_parsing=True)
        nodes, _pos, _length = walker.get_latex_nodes()
        shown = _READER.nodelist_to_text(nodes)
    except Exception as error:  # a parser's limit (deep nesting) must never cost a message
        logger.warning("Could not read the LaTeX of %r: %r", text[:80], error)
        shown = text
    return " ".join(shown.split())


# A sentence ends at . ! or ? followed by a space and a capital, digit or opening mark, unless
# the word before the stop is one of these abbreviations or a lone initial ("J. Smith").
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"\u201c\u2018'(\[])")
_ABBREVIATIONS = {"e.g.", "i.e.", "et al.", "al.", "vs.", "cf.", "fig.", "figs.", "eq.", "eqs.", "sec.",
                  "no.", "approx.", "resp.", "dr.", "prof.", "etc.", "ref.", "refs.", "tab."}  # fmt: skip


def sentences(text: str) -> list[str]:
    pieces, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        before = text[start : end.start()]
        last_word = before.rsplit(" ", 1)[-1].lower()
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last_word):
            continue
        pieces.append(before.strip())
        start = end.end()
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def lead(abstract: str, *, count: int = 2, enough: int = 120) -> str:
    """What a paper is about, for a line under its title: the abstract's first sentence, and
    the second too when the first is short (under `enough` characters). Readable Unicode."""
    found = sentences(readable(abstract))
    chosen = found[:1]
    for sentence in found[1:count]:
        if len(" ".join(chosen)) >= enough:
            break
        chosen.append(sentence)
    return " ".join(chosen)
