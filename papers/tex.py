"""arXiv titles and abstracts as HTML: LaTeX text macros become text, math is left for KaTeX.

Authors write abstracts in LaTeX, and arXiv serves them as they were typed: `\\emph{robust}`,
`\\textbf{X-Net}`, `20\\%`, `\\url{https://…}`, `\\cite{key}`, `{\\bf old style}`, `\\'e`. Outside math
these become the text and markup they stand for, escaped. A macro this module does not know stays
as its own source, plain: an author's private `\\method` reads better as itself than as an error.

Math (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`, found the way KaTeX's auto-render finds it) becomes a
`<span class="tex">` that holds the source as text, so the page reads well without JavaScript,
and the LaTeX to typeset in `data-tex`; static/js/portal.js typesets each one on its own and
leaves the source in place when KaTeX cannot read it.
"""

import re
import unicodedata
from functools import lru_cache
from html import escape
from urllib.parse import urlsplit

from django.utils.safestring import SafeString, mark_safe

# Nesting deeper than this (only a hostile or broken abstract has it) is shown as source.
MAX_DEPTH = 20

_SPECIAL = re.compile(r"[\\${`']")
_NAME = re.compile(r"[a-zA-Z]+")
_SPACE = re.compile(r"\s*")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_OLD_STYLE = re.compile(
    r"\{\\(bf|bfseries|it|itshape|em|sl|slshape|tt|ttfamily|sc|scshape|sf|sffamily|rm|rmfamily|upshape)"
    r"(?![a-zA-Z])\s*"
)
_UNICODE = re.compile(r"\\unicode\{\s*(x[0-9a-fA-F]{1,6}|[0-9]{1,7})\s*\}")
_PERCENT = re.compile(r"(?<!\\)((?:\\\\)*)%")
# A tie between a word and a number, a letter or a citation ("Fig.~2", "Variant~A", "et al.~\cite");
# a "~" after a space ("~10%") is an author's "approximately" and stays.
_TIE = re.compile(r"(?<=[A-Za-z0-9.)])~(?=[A-Z0-9\\$]|$)")

# One argument, shown inside this element (None: as plain text).
_STYLES = {
    "textbf": "strong", "textit": "em", "emph": "em", "textsl": "em", "texttt": "code",
    "underline": "u", "uline": "u", "textsuperscript": "sup", "textsubscript": "sub",
    "textsc": "smallcaps", "textup": None, "textmd": None, "textnormal": None, "textrm": None,
    "textsf": None, "mbox": None, "hbox": None, "text": None,
}  # fmt: skip
_OLD_STYLES = {
    "bf": "strong", "bfseries": "strong", "it": "em", "itshape": "em", "em": "em", "sl": "em",
    "slshape": "em", "tt": "code", "ttfamily": "code", "sc": "smallcaps", "scshape": "smallcaps",
}  # fmt: skip
# The first argument is dropped (a colour, a link target), the second shown.
_SECOND_SHOWN = {"textcolor", "colorbox", "hyperlink"}
# Dropped with their one argument.
_DROPPED_WITH_ARGUMENT = {"color", "label", "vspace", "hspace", "phantom", "hypertarget", "index"}
# Dropped: size and layout switches that mean nothing in a paragraph of the web page.
_DROPPED = {
    "tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large", "LARGE", "huge",
    "Huge", "centering", "noindent", "smallskip", "medskip", "bigskip", "clearpage", "newpage",
    "mdseries", "upshape", "normalfont", "relax", "xspace", "protect",
}  # fmt: skip
_CITES = {
    "cite", "citep", "citet", "citealp", "citealt", "citeauthor", "citeyear", "parencite",
    "textcite", "ref", "eqref", "autoref", "cref", "Cref",
}  # fmt: skip
_BREAKS = {"newline", "linebreak", "par"}
_WORDS = {
    "LaTeX": "LaTeX", "TeX": "TeX", "ldots": "…", "dots": "…", "textellipsis": "…",
    "textendash": "–", "textemdash": "—", "textasciitilde": "~", "textasciicircum": "^",  # noqa: RUF001
    "textless": "<", "textgreater": ">",
    "textbackslash": "\\", "textdegree": "°", "deg": "°", "textregistered": "®",
    "texttrademark": "™", "textcopyright": "©", "copyright": "©", "pm": "±", "textpm": "±",
    "times": "×", "texttimes": "×", "approx": "≈", "sim": "∼", "checkmark": "✓", "S": "§",  # noqa: RUF001
    "textquotedblleft": "“", "textquotedblright": "”", "textquoteleft": "‘", "textquoteright": "’",  # noqa: RUF001
    "ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ",
    "OE": "Œ", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "eg": "e.g.", "ie": "i.e.", "etal": "et al.",  # noqa: RUF001
    "wrt": "w.r.t.", "vs": "vs.", "etc": "etc.",
    # Greek letters written outside math ("10 {\\mu}m").
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε",  # noqa: RUF001
    "zeta": "ζ", "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ",  # noqa: RUF001
    "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ",  # noqa: RUF001
    "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ",
    "Omega": "Ω",
}  # fmt: skip
_ESCAPED = set("%&_#{}$")
_SPACES = {",": "\u2009", ";": " ", ":": " ", " ": " ", "\n": " ", "-": "", "@": "", "/": ""}
_ACCENTS = {
    "'": "\u0301", "`": "\u0300", '"': "\u0308", "~": "\u0303", "^": "\u0302", "=": "\u0304",
    ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328",
    "r": "\u030a", "d": "\u0323", "b": "\u0331",
}  # fmt: skip
_DOTLESS = {"\\i": "i", "\\j": "j"}
_MATH = (("$$", "$$", True), ("$", "$", False), ("\\[", "\\]", True), ("\\(", "\\)", False))


def to_html(text: str, *, links: bool = True, paragraphs: bool = False) -> SafeString:
    """`text` (a title or an abstract) as safe HTML. `links=False` inside a link (a title in a
    listing); `paragraphs` keeps the author's blank lines as breaks, single newlines are spaces."""
    return mark_safe(_convert(text or "", links, paragraphs))  # noqa: S308 - escaped piece by piece


@lru_cache(maxsize=4096)
def _convert(text: str, links: bool, paragraphs: bool) -> str:
    return _Converter(text, links=links, paragraphs=paragraphs).run(0, len(text), 0)


def _find_end(text: str, right: str, start: int, end: int) -> int:
    """Where `right` closes the math that starts at `start`: outside braces, not escaped (as
    KaTeX's auto-render decides, so the same text is math here and there)."""
    depth, i = 0, start
    while i < end:
        if depth <= 0 and text.startswith(right, i) and i + len(right) <= end:
            return i
        char = text[i]
        if char == "\\":
            i += 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        i += 1
    return -1


def _group_end(text: str, start: int, end: int) -> int:
    """The index of the `}` closing the group opened at `start`, or -1."""
    depth, i = 0, start
    while i < end:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _math_source(latex: str) -> str:
    """What KaTeX is given: `\\unicode{x2013}` as its character, and `%` as a percent sign (in
    an abstract it never starts a TeX comment, which would swallow the rest of the math)."""
    latex = _UNICODE.sub(lambda m: _char(m.group(1)), latex)
    return _PERCENT.sub(lambda m: f"{m.group(1)}\\%", latex)


def _char(code: str) -> str:
    number = int(code[1:], 16) if code.startswith("x") else int(code)
    return chr(number) if 0 < number <= 0x10FFFF and not 0xD800 <= number <= 0xDFFF else "\ufffd"


def _safe_url(url: str) -> str | None:
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


class _Converter:
    def __init__(self, text: str, *, links: bool, paragraphs: bool):
        self.text, self.links, self.paragraphs = text, links, paragraphs

    def run(self, pos: int, end: int, depth: int) -> str:
        """The HTML of text[pos:end], in text mode."""
        text, out = self.text, []
        if depth > MAX_DEPTH:
            return self.plain(text[pos:end])
        while pos < end:
            found = _SPECIAL.search(text, pos, end)
            if not found:
                out.append(self.plain(text[pos:end]))
                break
            out.append(self.plain(text[pos : found.start()]))
            pos = found.start()
            mark = text[pos : pos + 2] if text[pos] in "`'" else text[pos]
            if mark in ("`", "'"):  # a single quote or apostrophe is itself
                out.append(escape(mark))
                pos += 1
            elif mark == "``":
                out.append("“")
                pos += 2
            elif mark == "''":
                out.append("”")
                pos += 2
            elif mark == "{":
                html, pos = self.group(pos, end, depth)
                out.append(html)
            elif math := self.math(pos, end):
                html, pos = math
                out.append(html)
            elif mark == "$":
                out.append("$")  # a lone dollar sign: a price, or math never closed
                pos += 1
            else:
                html, pos = self.macro(pos, end, depth)
                out.append(html)
        return "".join(out)

    def plain(self, text: str) -> str:
        if "~" in text:
            text = _TIE.sub("\u00a0", text)
        if self.paragraphs:
            return "<br><br>".join(escape(part) for part in _PARAGRAPH.split(text))
        return escape(text)

    def math(self, pos: int, end: int) -> tuple[str, int] | None:
        # The first delimiter that fits, and only that one: "$$x$" is no math, as for KaTeX.
        left, right, display = next((d for d in _MATH if self.text.startswith(d[0], pos)), ("", "", False))
        close = _find_end(self.text, right, pos + len(left), end) if left else -1
        if close == -1:
            return None
        after = close + len(right)
        latex = _math_source(self.text[pos + len(left) : close])
        attributes = f' data-tex="{escape(latex)}"' + (' data-display="true"' if display else "")
        return f'<span class="tex"{attributes}>{escape(self.text[pos:after])}</span>', after

    def group(self, pos: int, end: int, depth: int) -> tuple[str, int]:
        """A group's braces only group, as in LaTeX ("{BERT}", "{\\mu}m"); `{\\bf old style}` is
        a style to its closing brace. A brace never closed is shown."""
        close = _group_end(self.text, pos, end)
        if close == -1:
            return "{", pos + 1
        old = _OLD_STYLE.match(self.text, pos, close)
        if not old:
            return self.run(pos + 1, close, depth + 1), close + 1
        return self.wrap(_OLD_STYLES.get(old.group(1)), self.run(old.end(), close, depth + 1)), close + 1

    def argument(self, pos: int, end: int) -> tuple[int, int] | None:
        """The span inside the `{…}` argument at `pos` (spaces before it allowed), or None."""
        pos = _SPACE.match(self.text, pos, end).end()
        if pos >= end or self.text[pos] != "{":
            return None
        close = _group_end(self.text, pos, end)
        return (pos + 1, close) if close != -1 else None

    def optional(self, pos: int, end: int) -> int:
        """Past an optional `[…]` argument at `pos`, if there is one."""
        if pos < end and self.text[pos] == "[":
            close = self.text.find("]", pos, end)
            if close != -1:
                return close + 1
        return pos

    def macro(self, pos: int, end: int, depth: int) -> tuple[str, int]:
        text = self.text
        after = pos + 1
        if after >= end:
            return "\\", after
        char = text[after]
        if char == "\\":
            return ("<br>" if self.paragraphs else " "), after + 1
        if char in _ESCAPED:
            return escape(char), after + 1
        if char in _SPACES:
            return _SPACES[char], after + 1
        if char in _ACCENTS and not char.isalpha():
            return self.accent(char, after + 1, end, source_end=after + 1)
        name_match = _NAME.match(text, after, end)
        if not name_match:
            return escape("\\" + char), after + 1
        name, after = name_match.group(), name_match.end()
        return self.named(name, pos, after, end, depth)

    def named(self, name: str, pos: int, after: int, end: int, depth: int) -> tuple[str, int]:
        text = self.text
        source = self.source(pos, after, end)  # an unknown macro: its own source, plain
        if name in _ACCENTS and (accented := self.accent(name, after, end, source_end=after)):
            return accented
        if name in _WORDS:
            empty = text.startswith("{}", after)
            return escape(_WORDS[name]), after + 2 if empty else after
        if name in _OLD_STYLES:  # a switch such as \em inside a group: to the group's end
            rest = self.run(_SPACE.match(text, after, end).end(), end, depth + 1)
            return self.wrap(_OLD_STYLES[name], rest), end
        if name in _DROPPED:
            return "", _SPACE.match(text, after, end).end() if text.startswith(" ", after) else after
        if name in _BREAKS:
            return ("<br>" if self.paragraphs else " "), after
        if name in _CITES:
            arg = self.argument(self.optional(after, end), end)
            if not arg:
                return source
            keys = ", ".join(key.strip() for key in text[arg[0] : arg[1]].split(","))
            return escape(f"[{keys}]"), arg[1] + 1
        arg = self.argument(after, end)
        if not arg:
            return source
        inside, close = arg
        if name in _STYLES:
            return self.wrap(_STYLES[name], self.run(inside, close, depth + 1)), close + 1
        if name in _DROPPED_WITH_ARGUMENT:
            return "", close + 1
        if name == "footnote":
            return f" ({self.run(inside, close, depth + 1)})", close + 1
        if name == "url":
            return self.link(text[inside:close], escape(text[inside:close])), close + 1
        second = self.argument(close + 1, end)
        if name in _SECOND_SHOWN and second:
            return self.run(second[0], second[1], depth + 1), second[1] + 1
        if name == "href" and second:
            return self.link(text[inside:close], self.run(second[0], second[1], depth + 1)), second[1] + 1
        return source

    def source(self, pos: int, after: int, end: int) -> tuple[str, int]:
        """An unknown macro as it was written, with the arguments that follow it at once."""
        while after < end and self.text[after] == "{":
            close = _group_end(self.text, after, end)
            if close == -1:
                break
            after = close + 1
        return escape(self.text[pos:after]), after

    def accent(self, accent: str, pos: int, end: int, *, source_end: int) -> tuple[str, int] | None:
        """`\\'e`, `\\'{e}`, `\\c{c}`, `\\'{\\i}` as one accented letter."""
        text = self.text
        if accent.isalpha():  # \c c or \c{c}: a letter accent needs a space or braces
            pos = _SPACE.match(text, pos, end).end() if text.startswith(" ", pos) else pos
            if pos == source_end and not text.startswith("{", pos):
                return None
        if text.startswith("{", pos):
            close = _group_end(text, pos, end)
            base = text[pos + 1 : close].strip() if close != -1 else ""
            base = _DOTLESS.get(base, base)
            if len(base) != 1 or not base.isalpha():
                return None if accent.isalpha() else (escape(text[pos - 2 : pos]), pos)
            return escape(unicodedata.normalize("NFC", base + _ACCENTS[accent])), close + 1
        if pos < end and text[pos].isalpha():
            return escape(unicodedata.normalize("NFC", text[pos] + _ACCENTS[accent])), pos + 1
        return None if accent.isalpha() else (escape(text[pos - 2 : pos]), pos)

    def link(self, url: str, label: str) -> str:
        target = _safe_url(url)
        if not self.links or not target:
            return label
        return f'<a href="{escape(target)}" rel="nofollow noopener">{label}</a>'

    @staticmethod
    def wrap(tag: str | None, html: str) -> str:
        if tag is None:
            return html
        if tag == "smallcaps":
            return f'<span class="smallcaps">{html}</span>'
        return f"<{tag}>{html}</{tag}>"
