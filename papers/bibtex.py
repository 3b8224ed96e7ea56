"""BibTeX entries that LaTeX compiles: special characters escaped, accents as LaTeX commands."""

import re
import unicodedata

from .models import Paper

# Combining marks and the LaTeX accent command that draws each.
_ACCENTS = {
    "\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0306": "u",
    "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H", "\u030c": "v", "\u0323": "d",
    "\u0327": "c", "\u0328": "k",
}  # fmt: skip
# Letters that are not a base letter plus an accent.
_LETTERS = {
    "ø": r"{\o}", "Ø": r"{\O}", "ł": r"{\l}", "Ł": r"{\L}", "ß": r"{\ss}", "æ": r"{\ae}",
    "Æ": r"{\AE}", "œ": r"{\oe}", "Œ": r"{\OE}", "đ": r"{\dj}", "Đ": r"{\DJ}",
    "\u0131": r"{\i}",
    "þ": r"{\th}", "Þ": r"{\TH}", "ð": r"{\dh}", "Ð": r"{\DH}",
}  # fmt: skip
_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
    "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip
_MATH = re.compile(r"(\$[^$]+\$)")


def latex_text(text: str) -> str:
    """Plain text as LaTeX: specials escaped, accented letters as accent commands."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char in _SPECIAL:
            out.append(_SPECIAL[char])
        elif char in _LETTERS:
            out.append(_LETTERS[char])
        elif ord(char) < 128:
            out.append(char)
        else:
            out.append(_accented(char))
    return "".join(out)


def _accented(char: str) -> str:
    base, *marks = unicodedata.normalize("NFD", char)
    if not marks or any(mark not in _ACCENTS for mark in marks) or ord(base) >= 128:
        return char  # a script LaTeX spells natively with UTF-8 (Hangul, CJK, Greek): keep it
    result = r"\i" if base == "i" else base
    for mark in marks:
        result = f"\\{_ACCENTS[mark]}{{{result}}}"
    return "{" + result + "}"


def latex_title(title: str) -> str:
    """Escape a title but keep its $...$ math as LaTeX, which it already is."""
    return "".join(part if _MATH.fullmatch(part) else latex_text(part) for part in _MATH.split(title))


def cite_key(paper: Paper) -> str:
    surname = paper.authors[0].split()[-1] if paper.authors else "anon"
    first_word = next((w for w in re.findall(r"[A-Za-z]+", paper.title) if len(w) > 3), "paper")
    ascii_surname = unicodedata.normalize("NFKD", surname).encode("ascii", "ignore").decode() or "anon"
    return re.sub(r"[^a-z0-9]", "", f"{ascii_surname}{paper.published:%Y}{first_word}".lower())


def entry(paper: Paper) -> str:
    fields = [
        ("title", "{" + latex_title(paper.title) + "}"),
        ("author", " and ".join(latex_text(name) for name in paper.authors)),
        ("year", f"{paper.published:%Y}"),
        ("eprint", paper.arxiv_id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", paper.primary_category),
        ("url", paper.abs_url),
    ]
    if paper.doi:
        fields.append(("doi", latex_text(paper.doi)))
    if paper.journal_ref:
        fields.append(("note", latex_text(paper.journal_ref)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{cite_key(paper)},\n{body}\n}}\n"


def entries(papers) -> str:
    return "\n".join(entry(paper) for paper in papers)
