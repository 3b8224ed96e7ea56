"""Who knows what: affinity between drafts and reviewers from the paper store.

A person's expertise is the text of their own recent papers (found through the author index by
the arXiv names on their profile, read as watch rules read names, so "Ha, Jung-woo", "J.-W. Ha"
and "Jungwoo Ha" agree), the papers in their library and their declared research interests. A
draft's affinity to a reviewer is the cosine similarity of the TF-IDF vectors of the draft's title
and abstract and the reviewer's text.

`nan` marks a pair that may never be assigned: the reviewer wrote the draft or declared a conflict
with it. Conflicts are always one person and one draft; nothing here conflicts a whole team or an
e-mail domain, which in a lab would leave most drafts without reviewers who know the field.
Recent co-authorship with a draft's author only lowers the affinity: it is a bias to weigh, not a
bar (in a small lab most people have written with most others).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.utils import timezone

from papers.models import Bookmark, Paper, authored
from papers.names import Name, parse_name
from papers.recommend import TfIdf

from .models import Bid, Conflict, Draft, DraftAuthor

RECENT_YEARS = 3
COAUTHOR_FACTOR = 0.5  # affinity kept after recent co-authorship with one of the draft's authors
BID_BONUS = {Bid.Level.EAGER: 0.2, Bid.Level.WILLING: 0.0, Bid.Level.NOT_WILLING: -0.5}


@dataclass
class Affinity:
    drafts: list[Draft]
    reviewers: list  # users, in column order
    matrix: np.ndarray  # drafts x reviewers, nan where a pair may not be assigned
    coauthored: np.ndarray  # bool: lowered for recent co-authorship

    def column(self, reviewer_id: int) -> int | None:
        return next((j for j, r in enumerate(self.reviewers) if r.pk == reviewer_id), None)

    def row(self, draft_id: int) -> int | None:
        return next((i for i, d in enumerate(self.drafts) if d.pk == draft_id), None)

    def value(self, draft_id: int, reviewer_id: int) -> float:
        """The pair's affinity; nan when it may not be assigned or is not in the round."""
        i, j = self.row(draft_id), self.column(reviewer_id)
        return float("nan") if i is None or j is None else float(self.matrix[i, j])


def _names(person) -> list[str]:
    return [str(name) for name in person.arxiv_names or [] if str(name).strip()]


def _recent_papers(people, since) -> dict[int, list[tuple[str, list[str]]]]:
    """{person id: [(title and abstract, authors)]} of their own papers since `since`."""
    recent = Paper.objects.filter(published__gte=since, withdrawn=False)
    theirs = authored({person.pk: _names(person) for person in people}, recent)
    ids = {pk for papers in theirs.values() for pk in papers}
    rows = {pk: (f"{title}\n{abstract}", authors or []) for pk, title, abstract, authors in (
        Paper.objects.filter(pk__in=ids).values_list("pk", "title", "abstract", "authors")
    )}  # fmt: skip
    return {person: [rows[pk] for pk in sorted(papers)] for person, papers in theirs.items()}


class Names:
    """Name readings grouped by surname: whether any of them agrees with a name, in a lookup."""

    def __init__(self, names=()):
        self.by_surname: dict[str, list[Name]] = {}
        for name in names:
            self.add(str(name))

    def add(self, name: str) -> None:
        for reading in parse_name(name):
            self.by_surname.setdefault(reading.surname, []).append(reading)

    def agrees_with(self, name: str) -> bool:
        return any(
            reading.agrees_with(known)
            for reading in parse_name(name)
            for known in self.by_surname.get(reading.surname, ())
        )


def expertise_texts(people: Sequence, *, now=None) -> tuple[dict[int, str], dict[int, Names]]:
    """Each person's expertise text, and the names of everyone they wrote with recently."""
    since = (now or timezone.now()) - timedelta(days=365 * RECENT_YEARS)
    papers = _recent_papers(people, since)
    library: dict[int, list[str]] = {}
    bookmarks = Bookmark.objects.filter(user__in=people, paper__withdrawn=False)
    for user_id, title, abstract in bookmarks.values_list("user_id", "paper__title", "paper__abstract"):
        library.setdefault(user_id, []).append(f"{title}\n{abstract}")
    texts, coauthors = {}, {}
    for person in people:
        own = papers.get(person.pk, [])
        texts[person.pk] = "\n".join(
            [person.research_interests, *(text for text, _authors in own), *library.get(person.pk, [])]
        )
        mine = Names(_names(person))
        coauthors[person.pk] = Names(
            name for _text, authors in own for name in authors if not mine.agrees_with(str(name))
        )
    return texts, coauthors


def _author_names(drafts) -> dict[int, set[str]]:
    names: dict[int, set[str]] = {draft.pk: set() for draft in drafts}
    for author in DraftAuthor.objects.filter(draft__in=drafts).select_related("person"):
        if author.person_id:
            names[author.draft_id].update([*_names(author.person), author.person.name])
        if author.name:
            names[author.draft_id].add(author.name)
    return {pk: {name for name in found if name.strip()} for pk, found in names.items()}


def affinity(drafts: Sequence[Draft], reviewers: Sequence, *, now=None) -> Affinity:
    drafts, reviewers = list(drafts), list(reviewers)
    m, n = len(drafts), len(reviewers)
    texts, coauthors = expertise_texts(reviewers, now=now)
    corpus = [f"{d.title}\n{d.abstract}" for d in drafts] + [texts[r.pk] for r in reviewers]
    matrix = np.zeros((m, n))
    if corpus:
        # A lab's corpus is small (a round, its reviewers): every word counts; idf alone weighs them.
        tfidf = TfIdf.fit(corpus, min_df=1, max_df=1.0)
        dense = np.zeros((len(corpus), tfidf.rows.width))
        dense[tfidf.rows.row_of_entry, tfidf.rows.indices] = tfidf.rows.data
        matrix = dense[:m] @ dense[m:].T  # rows are unit length: the dot product is the cosine
    draft_row = {d.pk: i for i, d in enumerate(drafts)}
    column = {r.pk: j for j, r in enumerate(reviewers)}

    author_names = _author_names(drafts)
    coauthored = np.zeros((m, n), dtype=bool)
    for i, draft in enumerate(drafts):
        for j, reviewer in enumerate(reviewers):
            coauthored[i, j] = any(
                coauthors[reviewer.pk].agrees_with(name) for name in author_names[draft.pk]
            )
    matrix = np.where(coauthored, matrix * COAUTHOR_FACTOR, matrix)

    for draft_id, person_id, level in Bid.objects.filter(draft__in=drafts, person__in=reviewers).values_list(
        "draft_id", "person_id", "level"
    ):
        matrix[draft_row[draft_id], column[person_id]] += BID_BONUS[level]
    # Forbidden pairs last, so that no bid or factor can bring them back.
    scores = Affinity(drafts=drafts, reviewers=reviewers, matrix=matrix, coauthored=coauthored)
    return forbid(scores)


def forbid(scores: Affinity) -> Affinity:
    """`scores` with nan for every pair whose reviewer wrote the draft or declared a conflict with
    it, as the database says now (two small indexed reads: a stored plan is checked again)."""
    drafts, reviewers = scores.drafts, scores.reviewers
    draft_row = {d.pk: i for i, d in enumerate(drafts)}
    column = {r.pk: j for j, r in enumerate(reviewers)}
    forbidden = DraftAuthor.objects.filter(draft__in=drafts, person__in=reviewers).values_list(
        "draft_id", "person_id"
    )
    conflicts = Conflict.objects.filter(draft__in=drafts, person__in=reviewers).values_list(
        "draft_id", "person_id"
    )
    for draft_id, person_id in [*forbidden, *conflicts]:
        scores.matrix[draft_row[draft_id], column[person_id]] = np.nan
    return scores
