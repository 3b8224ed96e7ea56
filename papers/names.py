"""Reading authors' names the one way the portal compares them.

"Jung-Woo Ha", "J.-W. Ha", "Ha, Jungwoo" and "Jung-Woo Há" may name one person: accents and case
are folded, hyphens and initials read, and a name without a comma is read both ways, since the
surname comes first in many of the lab's languages. Watch rules, a person's own papers, co-authors
and publication links all compare names through `names_agree`, and the `PaperAuthor` index is
keyed by what agreement needs to hold: the same folded surname, and a first initial that agrees.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")
# Combining marks, which NFKD splits off letters: what "strip accents" removes.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters NFKD leaves whole, spelt the way English-language papers write them.
_UNDECOMPOSABLE = str.maketrans(
    {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "Æ": "AE", "æ": "ae", "Œ": "OE",
     "œ": "oe", "ß": "ss", "Þ": "Th", "þ": "th", "\u0131": "i"}
)  # fmt: skip
# Name particles that belong to the surname: "Ludwig van Beethoven" is filed under "van beethoven".
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la", "le", "dos", "das"}


def fold(text: str) -> str:
    """Lower case without accents: "Müller" → "muller", "Ångström" → "angstrom"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
    return _COMBINING.sub("", decomposed).lower()


@dataclass(frozen=True)
class Name:
    surname: str  # folded, without hyphens or spaces: "garcialopez"
    given: tuple[str, ...]  # folded given names; an initial is one letter: ("j", "w")

    def agrees_with(self, other: "Name") -> bool:
        if self.surname != other.surname:
            return False
        if not self.given or not other.given or "".join(self.given) == "".join(other.given):
            return True  # a bare surname matches any first name; "Jung-Woo" = "Jungwoo"
        # Given names side by side: full names must be equal, an initial agrees with any name
        # it begins. "J.-W." agrees with "Jung-Woo" and "Jungwoo"; "John A." with "John";
        # "Jung-Woo" does not agree with "Jung-Hoon", nor "J.-W." with "J.-H.".
        for mine, theirs in zip(self.given, other.given, strict=False):
            if len(mine) > 1 and len(theirs) > 1:
                if mine != theirs:
                    return False
            elif mine[0] != theirs[0]:
                return False
        return True


def _given_parts(text: str) -> tuple[str, ...]:
    parts = []
    for chunk in re.split(r"\s+", text.strip()):
        if chunk.isalpha() and chunk.isupper() and len(chunk) <= 3:
            parts.extend(fold(chunk))  # "JW" is two initials
            continue
        # "J.-W." → j, w; "Jung-Woo" → jung, woo; "J.W." → j, w
        for piece in re.split("[-\u2010.]+", chunk):
            folded = "".join(_WORD.findall(fold(piece)))
            if folded:
                parts.append(folded)
    return tuple(parts)


def _surname(text: str) -> str:
    return "".join(_WORD.findall(fold(text)))


def parse_name(name: str) -> list[Name]:
    """The readings of a name: "Ha, Jung-Woo" has one; "Jung-Woo Ha" is read both ways, since
    the surname comes first in many of the lab's languages ("Ha Jung-Woo")."""
    return list(_readings(name))


# A store's names repeat (a prolific author on hundreds of papers): each is read once.
@lru_cache(maxsize=65536)
def _readings(name: str) -> tuple[Name, ...]:
    name = " ".join(name.split())
    if "," in name:
        surname, given = name.split(",", 1)
        return (Name(_surname(surname), _given_parts(given)),) if _surname(surname) else ()
    tokens = name.split(" ")
    if not tokens or not tokens[0]:
        return ()
    if len(tokens) == 1:
        return (Name(_surname(tokens[0]), ()),) if _surname(tokens[0]) else ()
    cut = len(tokens) - 1
    while cut > 1 and fold(tokens[cut - 1]) in _PARTICLES:
        cut -= 1  # "Ludwig van Beethoven": the surname is "van Beethoven"
    readings = [Name(_surname(" ".join(tokens[cut:])), _given_parts(" ".join(tokens[:cut])))]
    surname_first = Name(_surname(tokens[0]), _given_parts(" ".join(tokens[1:])))
    if surname_first != readings[0] and not any(len(part) == 1 for part in readings[0].given):
        # "J. Smith" has an initial first: it is not written surname first.
        readings.append(surname_first)
    return tuple(reading for reading in readings if reading.surname)


def author_anchors(name: str) -> set[str]:
    """Words under which a rule naming this author is indexed: each reading's surname, whole
    ("vanbeethoven", "jungwoo") and as its last word ("beethoven", "woo"), since a paper's
    authors give their surnames in one of these forms."""
    readings = parse_name(name)
    anchors = {reading.surname for reading in readings}
    for word in _WORD.findall(fold(name)):
        if word not in _PARTICLES and any(reading.surname.endswith(word) for reading in readings):
            anchors.add(word)
    return anchors


def names_agree(a: str, b: str) -> bool:
    """Whether two spellings may name the same person ("Jung-Woo Ha", "J.-W. Ha", "Ha, Jungwoo")."""
    return any(x.agrees_with(y) for x in parse_name(a) for y in parse_name(b))


# The longest surname, first given name and given names the index keeps; longer ones are cut
# the same way on both sides.
SURNAME_LENGTH = 64
FIRST_LENGTH = 32
GIVEN_LENGTH = 128


def index_entries(name: str) -> list[tuple[str, str, str, str]]:
    """`index_keys` with each reading's given names in full, space-separated ("jung woo"): the
    index then holds the whole reading, and agreement is decided from the index alone
    (`stored_reading`). One entry per key; sorted, so a name is always filed the same way."""
    entries: dict[tuple[str, str, str], str] = {}
    for reading in sorted(parse_name(name), key=lambda r: (r.surname, r.given)):
        key = (
            reading.surname[:SURNAME_LENGTH],
            reading.given[0][0] if reading.given else "",
            reading.given[0][:FIRST_LENGTH] if reading.given else "",
        )
        entries.setdefault(key, " ".join(reading.given)[:GIVEN_LENGTH])
    return sorted((*key, given) for key, given in entries.items())


def stored_reading(surname: str, given: str) -> Name:
    """A reading as the index holds it (see `index_entries`)."""
    return Name(surname, tuple(given.split()))


def cut(reading: Name) -> Name:
    """A reading cut to what the index keeps of it, to compare with `stored_reading`."""
    given = " ".join(reading.given)[:GIVEN_LENGTH]
    return Name(reading.surname[:SURNAME_LENGTH], tuple(given.split()))


def index_keys(name: str) -> set[tuple[str, str, str]]:
    """(folded surname, first initial, first given name) of each reading of `name`, "" for none.

    Two names agree only when a reading of each has the same surname and, both having given
    names, the first given names agree: equal, or one an initial of the other, or one the start
    of the other's names run together ("Jung" of "Jungwoo"). `lookups` turns a wanted name into
    the keys that may agree with it; `names_agree` then decides."""
    return {
        (
            reading.surname[:SURNAME_LENGTH],
            reading.given[0][0] if reading.given else "",
            reading.given[0][:FIRST_LENGTH] if reading.given else "",
        )
        for reading in parse_name(name)
    }


def lookups(name: str) -> list[tuple[str, list[str] | None, list[str] | None]]:
    """For each reading of `name`: (surname, initials, first names) a paper's author must have
    to agree with it; None where any will do. A bare surname agrees with every given name, an
    initial with every name it begins, a full name with itself, its initial and its starts."""
    found = []
    for reading in parse_name(name):
        surname = reading.surname[:SURNAME_LENGTH]
        if not reading.given:
            found.append((surname, None, None))
        elif len(reading.given[0]) == 1:
            found.append((surname, [reading.given[0], ""], None))
        else:
            joined = "".join(reading.given)[:FIRST_LENGTH]
            found.append((surname, [""], None))
            found.append((surname, [joined[0]], [joined[:n] for n in range(1, len(joined) + 1)]))
    return found
