"""The reads behind the feed and search: keyset pages whose cost does not grow with depth."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, Case, F, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .models import Category, Paper

PAGE_SIZE = 25

NEW, CROSS_LIST, UPDATED = 0, 1, 2


@dataclass
class Page:
    papers: list[Paper]
    cursor: str | None  # where the next page starts, or None at the end


def _words(text: str) -> list[str]:
    return [word for word in text.split() if word][:20]


def _narrow(papers: QuerySet, *, q: str = "", author: str = "") -> QuerySet:
    for word in _words(q):
        papers = papers.filter(Q(title__icontains=word) | Q(abstract__icontains=word))
    if author.strip():
        papers = papers.filter(authors__icontains=author.strip())
    return papers


def day_listing(day: date, *, lab_categories: list[str], category: str = "", q: str = "", author: str = "",
                after: tuple[str, str, str] | None = None) -> Page:  # fmt: skip
    """One announcement day as arXiv lists it: new, then cross-lists, then updated; by category."""
    papers = Paper.objects.announced_on(day)
    home = [category] if category else lab_categories
    if category:
        papers = papers.in_category(category)
    papers = _narrow(papers, q=q, author=author).annotate(
        group=Case(
            When(~Q(first_announced=day), then=Value(UPDATED)),
            When(primary_category__in=home, then=Value(NEW)),
            default=Value(CROSS_LIST),
            output_field=IntegerField(),
        )
    )
    if after:
        group, primary, arxiv_id = after
        if not group.isdigit():
            group = "0"
        papers = papers.filter(
            Q(group__gt=int(group))
            | Q(group=int(group), primary_category__gt=primary)
            | Q(group=int(group), primary_category=primary, arxiv_id__gt=arxiv_id)
        )
    rows = list(papers.order_by("group", "primary_category", "arxiv_id")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    last = rows[-1] if rows else None
    cursor = f"{last.group}~{last.primary_category}~{last.arxiv_id}" if more and last else None
    # Headings go where the group or category changes, also across "load more" pages.
    previous = (int(after[0]), after[1]) if after and after[0].isdigit() else None
    for paper in rows:
        paper.heading = (paper.group, paper.primary_category) != previous
        paper.new_group = previous is None or paper.group != previous[0]
        previous = (paper.group, paper.primary_category)
    return Page(rows, cursor)


def stream(
    *, category: str = "", author: str = "", q: str = "", after: tuple[str, str, str] | None = None
) -> Page:
    """Every stored paper, newest first."""
    papers = Paper.objects.all()
    if category:
        papers = papers.in_category(category)
    papers = _narrow(papers, q=q, author=author)
    if after:
        try:
            day = date.fromisoformat(after[0])
        except ValueError:
            day = None
        if day:
            # The plain bound lets PostgreSQL start its index scan at the cursor, not at the top.
            papers = papers.filter(first_announced__lte=day).filter(
                Q(first_announced__lt=day) | Q(first_announced=day, arxiv_id__lt=after[2])
            )
    rows = list(papers.order_by("-first_announced", "-arxiv_id")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    cursor = f"{rows[-1].first_announced.isoformat()}~~{rows[-1].arxiv_id}" if more else None
    return Page(rows, cursor)


# ---- what every feed page asks besides its papers ----------------------------------------------

FRAME_KEY = "papers:feed-frame"
# A frame computed while a fetch commits can miss that fetch; it lives this long at most.
FRAME_SECONDS = 300
FRAME_DAYS = 64


def feed_frame(day: date | None = None) -> dict:
    """The lab's categories, the latest announcement day, and the days before and after `day`.

    Four queries on every feed page view otherwise (bench/scale.py), for facts that change only
    when papers or categories are written; those writes call forget_feed_frame().
    """
    frame = cache.get(FRAME_KEY)
    if frame is None:
        frame = {
            "categories": Category.objects.lab_codes(),
            "latest": Paper.objects.latest_day(),
            "around": {},
        }
    shown = day or frame["latest"]
    if shown and shown not in frame["around"]:
        before = Paper.objects.filter(first_announced__lt=shown).latest_day()
        after = (
            Paper.objects.filter(first_announced__gt=shown)
            .order_by("first_announced")
            .values_list("first_announced", flat=True)
            .first()
        )
        # Bounded, so someone stepping through years of days cannot make every page load a big value.
        kept = frame["around"] if len(frame["around"]) < FRAME_DAYS else {}
        frame["around"] = {**kept, shown: (before, after)}
        cache.set(FRAME_KEY, frame, FRAME_SECONDS)
    elif not shown:
        cache.set(FRAME_KEY, frame, FRAME_SECONDS)
    previous, following = frame["around"].get(shown, (None, None))
    return {**frame, "previous": previous, "next": following}


def forget_feed_frame() -> None:
    cache.delete(FRAME_KEY)


# ---- search ---------------------------------------------------------------------------------

_TERM = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"[^\w\-]+", re.UNICODE)


@dataclass
class Terms:
    phrases: list[str]
    words: list[str]
    prefixes: list[str]

    def __bool__(self) -> bool:
        return bool(self.phrases or self.words or self.prefixes)

    @property
    def all(self) -> list[str]:
        return self.phrases + self.words + self.prefixes


def parse_terms(query: str) -> Terms:
    """Quoted phrases, plain words and `prefix*` words; anything else a person types is dropped."""
    terms = Terms([], [], [])
    for phrase, word in _TERM.findall(query[:1000]):
        if phrase:
            cleaned = " ".join(_WORD.sub(" ", phrase).split())
            if cleaned:
                terms.phrases.append(cleaned)
            continue
        prefix = word.endswith("*")
        cleaned = " ".join(_WORD.sub(" ", word).split())
        if not cleaned:
            continue
        if prefix and " " not in cleaned:
            terms.prefixes.append(cleaned)
        elif " " in cleaned:
            terms.phrases.append(cleaned)  # "self-attention:" and the like: keep the words together
        else:
            terms.words.append(cleaned)
    for bucket in (terms.phrases, terms.words, terms.prefixes):
        bucket[:] = bucket[:12]
    return terms


def _tsquery(terms: Terms) -> tuple[str, list[str]]:
    parts, params = [], []
    for phrase in terms.phrases:
        parts.append("phraseto_tsquery('english', %s)")
        params.append(phrase)
    for word in terms.words:
        parts.append("plainto_tsquery('english', %s)")
        params.append(word)
    for prefix in terms.prefixes:
        # to_tsquery needs a lexeme: strip to word characters and quote it for the parser.
        parts.append("to_tsquery('simple', %s)")
        params.append("'" + prefix.lower().replace("'", "") + "':*")
    return "(" + " && ".join(parts) + ")", params


# How many matches are ranked with the field weights: the most recent ones, the same set for
# every page, so pages never overlap. Ranking every match of "learning" among a million papers
# takes seconds (measured with bench/scale.py), so relevance ranks a bounded set: eight pages.
# With 500, prefixes of common stems ("transform*") and long phrases needed a second window and
# the 50 searches of bench/scale.py had a p95 of 97 ms in SQL alone; with 200, 53 ms. Sorting by
# date still reaches every match, and the search page says so.
CANDIDATES = 200

# The most recent matches are looked for in a widening window of days back from the newest
# announcement, so that a query reads about as many rows as it keeps: a common word fills the
# first window, a rare one reaches the whole store through windows that each cost little, and a
# word in between never walks the whole date index testing every paper's text (which took over a
# second for mid-frequency words and phrases in bench/scale.py).
WINDOWS = (14, 60, 240, 960)


def _recent_ids(papers: QuerySet, need: int) -> RawSQL:
    """One statement for the ids of the `need` most recent papers of `papers`.

    Each window is a materialised CTE that runs only when the one before it found fewer than
    `need` (PostgreSQL skips a plan under a false one-time filter), so the query count stays one.
    Windows nest, so the union of those that ran is the widest one's result.
    """
    ctes, params = [], []
    # The newest day as a value, not a subquery: PostgreSQL plans each window by how many papers
    # its dates hold, which it can only estimate from a constant.
    newest = Paper.objects.latest_day() or timezone.localdate()
    windows = [*WINDOWS, None]
    for number, days in enumerate(windows):
        window = papers
        if days is not None:
            window = window.filter(first_announced__gte=newest - timedelta(days=days))
        # `+ 0` hides the column from the date index, so PostgreSQL intersects the full-text and
        # date indexes instead of walking dates and reading every paper's text on the way.
        window = window.order_by(RawSQL("first_announced + 0", []).desc(), "-arxiv_id").values("pk")[:need]
        sql, window_params = window.query.sql_with_params()
        if number:
            # The widest window so far holds the most; a window that was skipped holds none.
            counts = ", ".join(f"(SELECT count(*) FROM window{before})" for before in range(number))  # noqa: S608
            sql = f"SELECT * FROM ({sql}) found WHERE GREATEST({counts}) < %s"  # noqa: S608
            window_params = (*window_params, need)
        ctes.append(f"window{number} AS MATERIALIZED ({sql})")
        params.extend(window_params)
    union = " UNION ".join(f"SELECT * FROM window{number}" for number in range(len(windows)))  # noqa: S608
    return RawSQL(f"WITH {', '.join(ctes)} {union}", params)  # noqa: S611 - values are parameters


def _ranked(papers: QuerySet, sql: str, params: list[str]) -> QuerySet:
    """The most recent matches, ranked: title above authors above abstract."""
    weights = "'{0.1, 0.2, 0.4, 1.0}'"  # D, C (abstract), B (authors), A (title)
    rank = RawSQL(f"ts_rank_cd({weights}, search, {sql}, 32)", params, output_field=FloatField())  # noqa: S611
    return (
        Paper.objects.filter(pk__in=_recent_ids(papers, CANDIDATES))
        .annotate(rank=rank)
        .order_by("-rank", "-first_announced", "-arxiv_id")
    )


def search(terms: Terms, *, category: str = "", author: str = "", sort: str = "relevance", offset: int = 0):
    """A page of matches and whether more follow. PostgreSQL ranks; SQLite matches words."""
    if not terms:
        return [], False
    papers = Paper.objects.all()
    if category:
        papers = papers.in_category(category)
    if author.strip():
        papers = papers.filter(authors__icontains=author.strip())
    if connection.vendor == "postgresql":
        sql, params = _tsquery(terms)
        # The SQL is fixed text; every value the person typed travels as a parameter.
        hit = RawSQL(f"search @@ {sql}", params, output_field=BooleanField())  # noqa: S611
        papers = papers.alias(hit=hit).filter(hit=True)
        if sort == "relevance":
            papers = _ranked(papers, sql, params)
    else:
        for term in terms.all:
            papers = papers.filter(
                Q(title__icontains=term) | Q(abstract__icontains=term) | Q(authors__icontains=term)
            )
        if sort == "relevance":
            in_title = Q()
            for term in terms.all:
                in_title &= Q(title__icontains=term)
            papers = papers.annotate(
                rank=Case(When(in_title, then=Value(1.0)), default=Value(0.0), output_field=FloatField())
            ).order_by("-rank", "-first_announced", "-arxiv_id")
    if sort != "relevance":
        if connection.vendor == "postgresql":
            papers = Paper.objects.filter(pk__in=_recent_ids(papers, offset + PAGE_SIZE + 1))
        papers = papers.order_by(F("first_announced").desc(), "-arxiv_id")
    rows = list(papers[offset : offset + PAGE_SIZE + 1])
    for paper in rows:
        paper.snippet = snippet(paper.abstract, terms)
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def snippet(text: str, terms: Terms, width: int = 240) -> SafeString:
    """A window of the text around the first match, escaped, with the matches marked."""
    words = [re.escape(term) for term in terms.all]
    stems = [re.escape(term[:-1]) if len(term) > 4 else re.escape(term) for term in terms.words]
    pattern = re.compile("|".join(sorted(set(words + stems), key=len, reverse=True)), re.IGNORECASE)
    found = pattern.search(text)
    start = max(0, found.start() - width // 3) if found else 0
    window = text[start : start + width]
    marked, last = [], 0
    for match in pattern.finditer(window):
        marked.append(escape(window[last : match.start()]))
        marked.append(f"<mark>{escape(match.group())}</mark>")
        last = match.end()
    marked.append(escape(window[last:]))
    prefix = "… " if start else ""
    suffix = " …" if start + width < len(text) else ""
    return mark_safe(prefix + "".join(marked) + suffix)  # noqa: S308 - every piece escaped above
