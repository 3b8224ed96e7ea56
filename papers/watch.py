"""Watch rules as matchers: a rule is compiled once, a paper is tokenised once.

A rule's criteria must all hold: the keyword query (words, "quoted phrases", AND, OR, NOT and
parentheses, over title and abstract), any one of its authors, any one of its categories, and
the "like my library" score. Rules are indexed by one term each of them cannot match without
(an author's surname, a query word, a category), so each paper is tested only against the few
rules that could match it: 1,500 papers against 500 rules in well under two seconds
(bench/match.py), so a large announcement's pushes are not held up by the matching.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lab_portal.models import Channel, User
from lab_portal.notify import Message, notify

from .items import paper_item
from .models import Notification, Paper, PaperAuthor, Recommendation, WatchRule

# The name reading lives beside the models' author index; other modules import it from here too.
from .names import Name, author_anchors, fold, names_agree, parse_name  # noqa: F401

_WORD = re.compile(r"[a-z0-9]+")
_HYPHENATED = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
# Query syntax: a quoted phrase, a parenthesis, or a run of anything else.
_QUERY_TOKEN = re.compile(r'"([^"]*)"?|(\()|(\))|([^\s()"]+)')
_OPERATORS = {"AND", "OR", "NOT"}


class QueryError(ValueError):
    """A query that cannot be read, with a message fit to show under the form field."""


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    # Plurals only, the same way on both sides: "transformers" finds "transformer". Also the
    # recommender's features (papers/recommend.py), whose reasons must still read as words.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """The words matching works on; a hyphen splits words, so "self-supervised" is two."""
    found = _WORD.findall(fold(text))
    stems = {word: stem(word) for word in set(found)}
    return [stems[word] for word in found]


# Queries ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase
    label: str  # as the person wrote it, for the reason

    def matches(self, text: "PaperText") -> bool:
        if len(self.words) == 1:
            return self.words[0] in text.vocabulary
        if not all(word in text.vocabulary for word in self.words):
            return False
        return f" {' '.join(self.words)} " in text.joined

    def anchors(self) -> frozenset[str] | None:
        # The longest word of a phrase is the rarest, as a rule of thumb.
        return frozenset([max(self.words, key=len)])

    def found(self, text: "PaperText") -> list[str]:
        return [self.label] if self.matches(text) else []


@dataclass(frozen=True)
class Not:
    inner: object

    def matches(self, text) -> bool:
        return not self.inner.matches(text)

    def anchors(self) -> None:
        return None  # a paper without any of the words matches

    def found(self, text) -> list[str]:
        return []


@dataclass(frozen=True)
class And:
    parts: tuple

    def matches(self, text) -> bool:
        return all(part.matches(text) for part in self.parts)

    def anchors(self) -> frozenset[str] | None:
        # Every part must match, so any one part's anchors will do: take the smallest set.
        sets = [s for s in (part.anchors() for part in self.parts) if s is not None]
        return min(sets, key=len) if sets else None

    def found(self, text) -> list[str]:
        return [label for part in self.parts for label in part.found(text)]


@dataclass(frozen=True)
class Or:
    parts: tuple

    def matches(self, text) -> bool:
        return any(part.matches(text) for part in self.parts)

    def anchors(self) -> frozenset[str] | None:
        sets = [part.anchors() for part in self.parts]
        return None if any(s is None for s in sets) else frozenset().union(*sets)

    def found(self, text) -> list[str]:
        return [label for part in self.parts for label in part.found(text)]


def _lex(query: str) -> list[tuple[str, str]]:
    tokens = []
    for phrase, opening, closing, bare in _QUERY_TOKEN.findall(query):
        if opening:
            tokens.append(("(", opening))
        elif closing:
            tokens.append((")", closing))
        elif bare in _OPERATORS:
            tokens.append((bare, bare))
        elif bare.startswith("-") and len(bare) > 1:
            tokens.extend([("NOT", "-"), ("TERM", bare[1:])])
        elif bare:
            tokens.append(("TERM", bare))
        elif phrase.strip():
            tokens.append(("PHRASE", phrase.strip()))
    return tokens


class _Parser:
    """Recursive descent: OR binds loosest, then AND (also implied between terms), then NOT."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.position = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def parse(self):
        node = self.disjunction()
        if self.peek() is not None:
            raise QueryError(_("Unexpected “%(token)s”.") % {"token": self.tokens[self.position][1]})
        return node

    def disjunction(self):
        parts = [self.conjunction()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self):
        parts = [self.negation()]
        while self.peek() in ("AND", "NOT", "TERM", "PHRASE", "("):
            if self.peek() == "AND":
                self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def negation(self):
        if self.peek() == "NOT":
            self.take()
            return Not(self.negation())
        return self.atom()

    def atom(self):
        kind = self.peek()
        if kind is None:
            raise QueryError(_("The query ends where a word was expected."))
        kind, value = self.take()
        if kind == "(":
            node = self.disjunction()
            if self.peek() != ")":
                raise QueryError(_("A parenthesis is not closed."))
            self.take()
            return node
        if kind in ("TERM", "PHRASE"):
            found = tuple(words(value))
            if not found:
                raise QueryError(_("“%(term)s” has no letters or digits to look for.") % {"term": value})
            return Term(found, f'"{value}"' if kind == "PHRASE" else value)
        raise QueryError(_("Unexpected “%(token)s”.") % {"token": value})


# The parser and the matcher recurse once per parenthesis or NOT: bounding them means a query can
# never exhaust the stack of the task that matches every rule after a fetch.
MAX_QUERY_LENGTH = 500
MAX_NESTING = 30


def parse_query(query: str):
    """The query's tree, or None for an empty query. Raises QueryError when it cannot be read."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(_("A query can be at most %(n)s characters long.") % {"n": MAX_QUERY_LENGTH})
    tokens = _lex(query)
    if sum(kind in ("(", "NOT") for kind, _value in tokens) > MAX_NESTING:
        raise QueryError(_("A query can have at most %(n)s parentheses and NOTs.") % {"n": MAX_NESTING})
    return _Parser(tokens).parse() if tokens else None


# Papers and rules -------------------------------------------------------------------------------


class PaperText:
    """What matching needs of a paper, computed once per paper and only when a rule asks."""

    def __init__(self, paper):
        self.paper = paper

    @cached_property
    def words(self) -> list[str]:
        return words(f"{self.paper.title}\n{self.paper.abstract}")

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self.words)

    @cached_property
    def joined(self) -> str:
        return f" {' '.join(self.words)} "

    @cached_property
    def names(self) -> list[tuple[str, list[Name]]]:
        return [(author, parse_name(author)) for author in self.paper.authors]

    @cached_property
    def author_words(self) -> frozenset[str]:
        # One pass over all the names; each is read in full only for a rule that may want it.
        folded = fold(" ".join(self.paper.authors))
        found = set(_WORD.findall(folded))
        found.update(compound.replace("-", "") for compound in _HYPHENATED.findall(folded))
        return frozenset(found)

    @cached_property
    def categories(self) -> frozenset[str]:
        codes = set(self.paper.categories)
        codes.update(code.split(".", 1)[0] for code in self.paper.categories)  # "cs" for "cs.LG"
        return frozenset(codes)


@dataclass
class CompiledRule:
    rule: object
    query: object  # the parsed tree, or None
    authors: list[tuple[str, list[Name]]]
    author_anchors: frozenset[str]
    categories: frozenset[str]
    min_score: float | None
    # Whose "like my library" scores count: the owner, or every member of a team.
    people: tuple[int, ...] = ()
    anchors: dict = field(default_factory=dict)
    by_surname: dict = field(default_factory=dict)  # the rule's author readings, by surname

    @classmethod
    def of(cls, rule, *, people: Iterable[int] = ()) -> "CompiledRule":
        authors = [(author, parse_name(author)) for author in rule.authors if author.strip()]
        anchors = frozenset().union(*(author_anchors(author) for author, _readings in authors))
        compiled = cls(
            rule=rule,
            query=parse_query(rule.query),
            authors=authors,
            author_anchors=anchors,
            categories=frozenset(code.strip() for code in rule.categories if code.strip()),
            min_score=rule.min_recommendation,
            people=tuple(people) or ((rule.person_id,) if rule.person_id else ()),
        )
        compiled.anchors = compiled._anchors()
        for _written, readings in authors:
            for reading in readings:
                compiled.by_surname.setdefault(reading.surname, []).append(reading)
        return compiled

    def _anchors(self) -> dict:
        # Authors are the rarest terms, then query words; categories narrow least.
        if self.author_anchors:
            return {"author": self.author_anchors}
        query_anchors = self.query.anchors() if self.query is not None else None
        if query_anchors is not None:
            return {"word": query_anchors}
        if self.categories:
            return {"category": self.categories}
        return {}

    def _names_author(self, readings: list[Name]) -> bool:
        return any(
            reading.agrees_with(wanted)
            for reading in readings
            for wanted in self.by_surname.get(reading.surname, ())
        )

    def match(self, text: PaperText, scores: Mapping[tuple[int, int], float], labels=None) -> str | None:
        """Why the paper matches, or None. The cheap tests go first; reasons only for a match."""
        if self.categories and not self.categories & text.categories:
            return None
        if self.query is not None and not self.query.matches(text):
            return None
        authors = []
        if self.authors:
            authors = [written for written, readings in text.names if self._names_author(readings)]
            if not authors:
                return None
        best = None
        if self.min_score is not None:
            best = max((scores.get((person, text.paper.pk), -1.0) for person in self.people), default=-1.0)
            if best < self.min_score:
                return None
        labels = labels or reason_labels()
        reasons = []
        if self.query is not None and (found := list(dict.fromkeys(self.query.found(text)))):
            reasons.append(labels["keywords"] % {"terms": ", ".join(found)})
        if authors:
            reasons.append(labels["author"] % {"names": ", ".join(authors)})
        if self.categories:
            reasons.append(
                labels["category"] % {"codes": ", ".join(sorted(self.categories & text.categories))}
            )
        if best is not None:
            reasons.append(labels["library"] % {"score": best})
        return "; ".join(reasons)


def reason_labels() -> dict[str, str]:
    """The words of a reason, translated once per batch rather than once per match."""
    return {
        "keywords": _("keywords: %(terms)s"),
        "author": _("author: %(names)s"),
        "category": _("category: %(codes)s"),
        "library": _("like your library (score %(score).2f)"),
    }


class RuleSet:
    """Compiled rules with an index from terms to the rules that need them."""

    def __init__(self, compiled: Iterable[CompiledRule]):
        self.rules = list(compiled)
        self.by_word: dict[str, list[int]] = defaultdict(list)
        self.by_author: dict[str, list[int]] = defaultdict(list)
        self.by_category: dict[str, list[int]] = defaultdict(list)
        self.always: list[int] = []
        indexes = {"word": self.by_word, "author": self.by_author, "category": self.by_category}
        for position, rule in enumerate(self.rules):
            if not rule.anchors:
                self.always.append(position)
            for kind, terms in rule.anchors.items():
                for term in terms:
                    indexes[kind][term].append(position)

    def candidates(self, text: PaperText) -> list[int]:
        found = set(self.always)
        for word in text.vocabulary:
            if word in self.by_word:
                found.update(self.by_word[word])
        if self.by_author:
            for word in text.author_words:
                if word in self.by_author:
                    found.update(self.by_author[word])
        for code in text.categories:
            if code in self.by_category:
                found.update(self.by_category[code])
        return sorted(found)

    def match(self, papers: Iterable, *, scores: Mapping[tuple[int, int], float] | None = None):
        """[(rule, paper, reason)] for every rule each paper matches, in rule order per paper."""
        scores = scores or {}
        labels = reason_labels()
        matches = []
        for paper in papers:
            text = PaperText(paper)
            for position in self.candidates(text):
                compiled = self.rules[position]
                reason = compiled.match(text, scores, labels)
                if reason is not None:
                    matches.append((compiled.rule, paper, reason))
        return matches


def compile_rules(rules: Iterable, *, members: Mapping[int, Iterable[int]] | None = None) -> RuleSet:
    """Compile rules once; `members` maps a team's id to its people's ids (for library scores).
    A rule whose query cannot be read is left out: the form never saves one."""
    members = members or {}
    compiled = []
    for rule in rules:
        try:
            compiled.append(
                CompiledRule.of(rule, people=members.get(rule.team_id, ()) if rule.team_id else ())
            )
        except (QueryError, RecursionError):  # a rule saved before today's limits: skip, don't stop
            continue
    return RuleSet(compiled)


def match_papers(papers: Iterable, rules: Iterable, *, scores=None, members=None) -> list[tuple]:
    """Every (rule, paper, reason) where a rule matches a paper."""
    return compile_rules(rules, members=members).match(papers, scores=scores)


# Running the rules after a fetch ----------------------------------------------------------------

MATCH_BATCH = 2000  # papers matched per round, so a large backfill never sits in memory at once
_PAPER_FIELDS = ["id", "arxiv_id", "version", "title", "abstract", "authors", "categories", "withdrawn"]


def papers_of_run(run):
    """The papers a run stored as new or changed, as `upsert_papers` recorded them with the run."""
    return Paper.objects.filter(fetch_runs=run, withdrawn=False)


def notify_matches(papers) -> int:
    """Match `papers` against every active rule and record each match once per person, rule and
    version; push urgent rules to chat. Returns how many notifications were created.

    A paper at version 1 is new; a later version goes only to rules that ask for updates. Safe to
    run again: existing notifications are skipped, and each push is keyed by paper and version.
    """
    rules = list(
        WatchRule.objects.active()
        .exclude(person__is_active=False)  # a departed person's rules stay, silent
        .select_related("person", "team")
    )
    if not rules:
        return 0
    members = _team_members(rules)
    every_rule = compile_rules(rules, members=members)
    update_rules = compile_rules([rule for rule in rules if rule.include_updates], members=members)
    created = 0
    ids = list(papers.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), MATCH_BATCH):
        batch = list(
            papers.model.objects.filter(pk__in=ids[start : start + MATCH_BATCH]).only(*_PAPER_FIELDS)
        )
        scores = _scores(rules, members, batch)
        matches = every_rule.match([p for p in batch if p.version == 1], scores=scores)
        matches += update_rules.match([p for p in batch if p.version > 1], scores=scores)
        created += _record(matches, members)
    return created


def _team_members(rules) -> dict[int, list[int]]:
    teams = {rule.team_id for rule in rules if rule.team_id}
    members: dict[int, list[int]] = defaultdict(list)
    for person_id, team_id in User.objects.active().filter(team_id__in=teams).values_list("pk", "team_id"):
        members[team_id].append(person_id)
    return members


def _scores(rules, members, papers) -> dict[tuple[int, int], float]:
    people = set()
    for rule in rules:
        if rule.min_recommendation is not None:
            people.update(members.get(rule.team_id, []) if rule.team_id else [rule.person_id])
    if not people:
        return {}
    rows = Recommendation.objects.filter(person_id__in=people, paper__in=papers).values_list(
        "person_id", "paper_id", "score"
    )
    scores: dict[tuple[int, int], float] = {}
    for person_id, paper_id, score in rows:
        scores[(person_id, paper_id)] = max(score, scores.get((person_id, paper_id), score))
    return scores


def _record(matches, members) -> int:
    if not matches:
        return 0
    existing = set(
        Notification.objects.filter(
            rule__in={rule.pk for rule, _paper, _reason in matches},
            paper__in={paper.pk for _rule, paper, _reason in matches},
        ).values_list("person_id", "paper_id", "rule_id", "version")
    )
    rows, urgent = [], {}
    for rule, paper, reason in matches:
        people = members.get(rule.team_id, []) if rule.team_id else [rule.person_id]
        new = [
            (person, paper.pk, rule.pk, paper.version, reason)
            for person in people
            if (person, paper.pk, rule.pk, paper.version) not in existing
        ]
        if new:
            rows.extend(new)
            if rule.urgent:
                # One push per owner and paper, however many of the owner's urgent rules matched it.
                urgent.setdefault((rule.person_id, rule.team_id, paper.pk), []).append((rule, paper, reason))
    with transaction.atomic():
        _insert_matches(rows)
        for found in urgent.values():
            if push(found):
                paper = found[0][1]
                Notification.objects.filter(
                    rule__in=[rule for rule, _paper, _reason in found],
                    paper=paper,
                    version=paper.version,
                    pushed_at__isnull=True,
                ).update(pushed_at=timezone.now())
    return len(rows)


# Every row of a batch in one statement over arrays: building tens of thousands of model instances
# and an INSERT's placeholders cost Django seconds, several times what PostgreSQL spends storing
# them. A row another worker stored meanwhile is skipped by the unique constraint, as before.
_INSERT_MATCHES = """
    INSERT INTO {table} (person_id, paper_id, rule_id, version, reason, kind, created_at)
    SELECT person, paper, rule, version, reason, %s, %s
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::smallint[], %s::text[])
      AS found (person, paper, rule, version, reason)
    ON CONFLICT DO NOTHING
"""


def _insert_matches(rows: list[tuple]) -> None:
    """Store (person, paper, rule, version, reason) rows as match notifications."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Notification.objects.bulk_create(
            [
                Notification(person_id=person, paper_id=paper, rule_id=rule, version=version, reason=reason)
                for person, paper, rule, version, reason in rows
            ],
            ignore_conflicts=True,
        )
        return
    columns = [list(column) for column in zip(*rows, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_MATCHES.format(table=Notification._meta.db_table),
            [Notification.Kind.MATCH, timezone.now(), *columns],
        )


def push(found: list[tuple]) -> bool:
    """Send one paper at once to the chat channels of the person or team whose urgent rules
    (`found`: [(rule, paper, reason)], one owner) matched it."""
    rule, paper = found[0][0], found[0][1]
    language = rule.person.language if rule.person_id else settings.LANGUAGE_CODE
    with translation.override(language):
        if len(found) > 1:
            subject = _("New paper for %(count)d of your watch rules") % {"count": len(found)}
        elif paper.version > 1:
            subject = _("New version for your watch rule “%(rule)s”") % {"rule": rule.name}
        else:
            subject = _("New paper for your watch rule “%(rule)s”") % {"rule": rule.name}
        why = "; ".join(reason if len(found) == 1 else f"{r.name}: {reason}" for r, _paper, reason in found)
        item = paper_item(paper, why=why)
    # The key names the owner's paper and version, not the rule: one push, whichever rule found it.
    message = Message(subject=subject, dedupe_key=f"urgent:{paper.arxiv_id}v{paper.version}", items=[item])
    kinds = [Channel.Kind.TELEGRAM, Channel.Kind.SLACK]
    return bool(notify(rule.owner, message, kinds=kinds))


# Preview while a person edits a rule ------------------------------------------------------------

PREVIEW_DAYS = 30
# A preview tests at most this many candidates, newest first: a broad rule ("diffusion OR
# transformer OR ...") has thousands within the days, and testing each one costs the keystroke.
# Past it, the preview counts over the newest whole days it read, and says since which day.
PREVIEW_READ = 250


def preview_candidates(compiled: CompiledRule, *, since):
    """The papers since `since` that may match the rule, newest first, read through indexes."""
    rule = compiled.rule
    window = Q(first_announced__gte=since)
    if rule.include_updates:
        window |= Q(last_announced__gte=since)
    papers = Paper.objects.filter(window, withdrawn=False).filter(_narrowing(compiled, list(compiled.people)))
    return papers.order_by("-first_announced", "-arxiv_id").only(*_PAPER_FIELDS, "first_announced")


@dataclass
class Preview:
    count: int
    matches: list[tuple]  # (paper, reason), newest first
    since: object
    days: int = PREVIEW_DAYS  # fewer when the rule is so broad that only its newest days were read


def preview(rule, *, days: int = PREVIEW_DAYS, limit: int = 20) -> Preview:
    """What `rule` (saved or not) would have matched among the papers of the last `days` days."""
    today = timezone.localdate()
    since = today - timedelta(days=days)
    people = list(rule.recipients().values_list("pk", flat=True)) if rule.team_id else [rule.person_id]
    compiled = CompiledRule.of(rule, people=people)
    papers = preview_candidates(compiled, since=since)
    read = list(papers[: PREVIEW_READ + 1])
    if len(read) > PREVIEW_READ:
        # Whole days only: the oldest day read may hold more candidates than were read.
        oldest = read[-1].first_announced
        if oldest == read[0].first_announced:
            read = list(papers.filter(first_announced__gte=oldest))  # one day holds them all
            since = oldest
        else:
            read = [paper for paper in read if paper.first_announced > oldest]
            since = max(since, oldest + timedelta(days=1))
    scores = {}
    if compiled.min_score is not None:
        rows = Recommendation.objects.filter(person_id__in=people, paper__in=[paper.pk for paper in read])
        scores = {
            (person, paper): score
            for person, paper, score in rows.values_list("person_id", "paper_id", "score")
        }
    labels = reason_labels()
    matches, count = [], 0
    for paper in read:
        reason = compiled.match(PaperText(paper), scores, labels)
        if reason is not None:
            count += 1
            if len(matches) < limit:
                matches.append((paper, reason))
    return Preview(count=count, matches=matches, since=since, days=(today - since).days)


def _narrowing(compiled: CompiledRule, people: list[int]) -> Q:
    """A database filter every match passes, served by an index, so the preview reads only the
    papers that may match: the author index for the rule's authors, the stored scores for "like
    my library", the full-text index for its words and the categories' index. Each is a
    necessary condition, so all of them hold together; the matcher then decides."""
    narrowing = Q()
    if compiled.authors:
        names = [written for written, _readings in compiled.authors]
        narrowing &= Q(pk__in=PaperAuthor.objects.agreeing(names).values("paper_id"))
    if compiled.min_score is not None:
        scored = Recommendation.objects.filter(person_id__in=people, score__gte=compiled.min_score)
        narrowing &= Q(pk__in=scored.values("paper_id"))
    if "word" in compiled.anchors:
        narrowing &= _any_word(compiled.anchors["word"])
    if compiled.categories:
        narrowing &= _any_category(compiled.categories)
    return narrowing


def _any_word(anchors) -> Q:
    if connection.vendor != "postgresql":
        found = Q(pk__in=[])
        for word in anchors:
            stem = word[:-1] if word.endswith("y") and len(word) > 3 else word
            found |= Q(title__icontains=stem) | Q(abstract__icontains=stem)
        return found
    # A word PostgreSQL's English dictionary drops ("the", "with") would match nothing there, so
    # a rule anchored on one is not narrowed by words at all.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT word FROM unnest(%s::text[]) word WHERE numnode(plainto_tsquery('english', word)) = 0",
            [sorted(anchors)],
        )
        if cursor.fetchall():
            return Q()
    # The words travel as parameters; the anchors are letters and digits only.
    sql = " || ".join(["plainto_tsquery('english', %s)"] * len(anchors))
    hit = RawSQL(f"search @@ ({sql})", sorted(anchors), output_field=BooleanField())  # noqa: S611
    return Q(hit)


def _any_category(codes) -> Q:
    found = Q(pk__in=[])
    for code in codes:
        if "." not in code:
            return Q()  # an archive ("cs") holds most of a lab's papers: nothing to narrow by
        if connection.vendor == "postgresql":
            found |= Q(categories__contains=[code])  # the categories' GIN index
        else:
            found |= Q(categories__icontains=f'"{code}"')
    return found
