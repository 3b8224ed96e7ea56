"""Recommendations: each person's ranking of the day's new papers, learned from their library.

Once per fetch run (never per request) the task `papers.train_recommendations`:

1. gathers every active person's library: their bookmarks (tagged ones count double) and the
   papers they wrote, found through the author index by the names on their profile, read as
   watch rules read them (accents, case, hyphens, initials and order: "J.-W. Há" is "Jungwoo Ha");
2. fits one TF-IDF over a corpus sample: the negative pool (a seeded random sample of
   `POOL_SIZE` papers first announced in the `POOL_DAYS` days before the day, or the latest
   papers before it when those days hold too few), every library
   paper and the day's new papers. Sublinear tf, smoothed idf, l2-normalised rows, stored as
   CSR-like NumPy arrays (no SciPy at runtime);
3. trains a class-balanced, L2-regularised logistic regression per person: positives are the
   library, negatives a per-person sample of the pool that leaves out their library (papers
   they did not save, which at arXiv's volume are almost all papers they would not pick) and,
   always, the papers they marked "not for me", which are never recommended to them;
4. scores the day's new papers and keeps the top `TOP_K` with a reason: the terms that pushed
   the paper up, and the library paper it is most like when that one is close.

The daily run's papers are matched and pushed before it starts; `papers/tasks.py` matches them
again once it is done, so "like my library" rules see the new scores.
"""

import logging
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from celery import shared_task
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lab_portal.models import User

from .models import Bookmark, Dismissal, FetchRun, Paper, Recommendation, RecommenderState, authored
from .watch import fold, stem

logger = logging.getLogger(__name__)

MIN_LIBRARY = 3  # fewer papers than this say too little about a person to rank for them
TOP_K = 20
POOL_DAYS = 30
POOL_SIZE = 4000
NEGATIVES_PER_POSITIVE = 2
MIN_NEGATIVES, MAX_NEGATIVES = 300, 1000
EPOCHS = 60
L2 = 1e-4
AUTHORED_WEIGHT = TAGGED_WEIGHT = 2.0
# A paper the person said is not for them is a negative they chose, among hundreds sampled at
# random: it weighs as much as this many of those.
NOT_FOR_ME_WEIGHT = 20.0
LIKE_COSINE = 0.3  # from this similarity on, the nearest library paper is named in the reason
REASON_TERMS = 3
TOP_TERMS = 12

# Words that say nothing about a paper's subject: English function words and arXiv boilerplate.
_STOP_TEXT = """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how however i if in into
    is it its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through thus to too under until up upon very via
    was we were what when where which while who whom why will with within without would you your
    yours yourself yourselves et al eg ie vs paper papers propose proposed proposes present
    presents show shows shown study studies work works approach approaches method methods result
    results new novel using use used based existing recent recently significantly significant
    demonstrate demonstrates extensive experiments experiment experimental state art sota
    performance code available github com https http www first two three one further moreover
    achieve achieves achieving well make makes may might must often across many much several
    various different including include includes however mathcal mathbf mathrm textit textbf emph
    leq geq cdot frac"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"[a-z][a-z0-9]+")


def tokens(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(fold(text)) if w not in STOP_WORDS]


# TF-IDF over NumPy arrays -----------------------------------------------------------------------


@dataclass
class Rows:
    """Sparse rows in CSR form: row r's columns are indices[indptr[r]:indptr[r+1]]."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    width: int

    @property
    def count(self) -> int:
        return len(self.indptr) - 1

    @property
    def row_of_entry(self) -> np.ndarray:
        return np.repeat(np.arange(self.count), np.diff(self.indptr))

    def take(self, rows: np.ndarray) -> "Rows":
        rows = np.asarray(rows, dtype=np.int64)
        starts, lengths = self.indptr[rows], np.diff(self.indptr)[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # Each kept entry's position in the source: its row's start plus its offset in the row.
        offsets = np.arange(indptr[-1]) - np.repeat(indptr[:-1], lengths)
        entries = np.repeat(starts, lengths) + offsets
        return Rows(indptr, self.indices[entries], self.data[entries], self.width)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        products = self.data * weights[self.indices]
        return np.bincount(self.row_of_entry, weights=products, minlength=self.count)

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.indptr[r], self.indptr[r + 1]
        return self.indices[start:end], self.data[start:end]


@dataclass
class TfIdf:
    """A vocabulary and its idf, fitted on one run's corpus sample, and that sample's rows."""

    terms: list[str]
    idf: np.ndarray
    rows: Rows

    @classmethod
    def fit(cls, texts: Sequence[str], *, min_df: int = 2, max_df: float = 0.5) -> "TfIdf":
        vocabulary: dict[str, int] = {}
        ids: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for n, text in enumerate(texts):
            words = tokens(text)
            lengths[n] = len(words)
            ids.extend([vocabulary.setdefault(w, len(vocabulary)) for w in words])
        width = max(len(vocabulary), 1)
        docs = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        # One sort counts every (document, term) pair: tf per row and df per term at once.
        pairs, tf = np.unique(docs * width + np.asarray(ids, dtype=np.int64), return_counts=True)
        doc_of, term_of = pairs // width, pairs % width
        df = np.bincount(term_of, minlength=width)
        keep_term = (df >= min_df) & (df <= max(max_df * len(texts), min_df))
        column = np.cumsum(keep_term) - 1
        keep = keep_term[term_of]
        doc_of, term_of, tf = doc_of[keep], term_of[keep], tf[keep]
        n_docs = len(texts)
        idf_all = np.log((1 + n_docs) / (1 + df)) + 1.0
        data = (1.0 + np.log(tf)) * idf_all[term_of]
        norms = np.sqrt(np.bincount(doc_of, weights=data * data, minlength=n_docs))
        data /= np.where(norms > 0, norms, 1.0)[doc_of]
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc_of, minlength=n_docs), out=indptr[1:])
        terms = [""] * int(keep_term.sum())
        for word, index in vocabulary.items():
            if keep_term[index]:
                terms[column[index]] = word
        rows = Rows(indptr, column[term_of].astype(np.int32), data, len(terms))
        return cls(terms=terms, idf=idf_all[keep_term], rows=rows)


# One person's model ----------------------------------------------------------------------------


@dataclass
class Model:
    columns: np.ndarray  # the global columns the training rows use; weights are over these only
    weights: np.ndarray
    bias: float

    def full_weights(self, width: int) -> np.ndarray:
        full = np.zeros(width)
        full[self.columns] = self.weights
        return full


def train(
    positives: Rows,
    negatives: Rows,
    *,
    sample_weight: np.ndarray | None = None,
    negative_weight: np.ndarray | None = None,
) -> Model:
    """Class-balanced logistic regression with an L2 penalty, by Nesterov-accelerated gradient
    descent. Rows have unit norm, so the loss's gradient is Lipschitz with constant at most
    0.25 * (1 + 1) (features and bias) and the step 1/L is safe without a line search."""
    n_pos, n_neg = positives.count, negatives.count
    both = Rows(
        np.concatenate([positives.indptr, negatives.indptr[1:] + positives.indptr[-1]]),
        np.concatenate([positives.indices, negatives.indices]),
        np.concatenate([positives.data, negatives.data]),
        positives.width,
    )
    # Train over the columns these rows use only: a few thousand instead of the whole vocabulary.
    columns, local = np.unique(both.indices, return_inverse=True)
    x = Rows(both.indptr, local.astype(np.int32), both.data, len(columns))
    rows_of = x.row_of_entry
    y = np.concatenate([np.ones(n_pos), -np.ones(n_neg)])
    pos_weight = np.ones(n_pos) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    neg_weight = np.ones(n_neg) if negative_weight is None else np.asarray(negative_weight, dtype=float)
    # Each class carries half of the loss, however many rows it has.
    c = np.concatenate([pos_weight / (2 * pos_weight.sum()), neg_weight / (2 * neg_weight.sum())])
    step = 1.0 / (0.5 + L2)
    w = np.zeros(len(columns))
    b = 0.0
    w_prev, b_prev = w, b
    for epoch in range(1, EPOCHS + 1):
        momentum = (epoch - 1) / (epoch + 2)
        v, vb = w + momentum * (w - w_prev), b + momentum * (b - b_prev)
        margin = y * (np.bincount(rows_of, weights=x.data * v[x.indices], minlength=x.count) + vb)
        g = -y * c / (1.0 + np.exp(np.clip(margin, -30, 30)))
        grad = np.bincount(x.indices, weights=x.data * g[rows_of], minlength=len(columns)) + L2 * v
        w_prev, b_prev = w, b
        w, b = v - step * grad, vb - step * g.sum()
    return Model(columns=columns, weights=w, bias=float(b))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


# Ranking a lab ---------------------------------------------------------------------------------


@dataclass
class Pick:
    paper: int
    score: float
    reason: str


@dataclass
class Ranking:
    library_size: int
    picks: list[Pick] = field(default_factory=list)
    top_terms: list[list] = field(default_factory=list)
    error: str = ""
    trained: bool = False


def rank_lab(
    texts: Mapping[int, str],
    titles: Mapping[int, str],
    libraries: Mapping[int, Mapping[int, float]],
    candidates: Sequence[int],
    pool: Sequence[int],
    *,
    top_k: int = TOP_K,
    seed: int = 0,
    languages: Mapping[int, str] | None = None,
    dismissed: Mapping[int, Iterable[int]] | None = None,
) -> dict[int, Ranking]:
    """Rank `candidates` (paper keys) for each person of `libraries` ({person: {paper: weight}}).

    `texts` holds title and abstract of every key in the libraries, the candidates, the
    `pool` of recent papers the negatives are drawn from and the `dismissed` ({person: papers
    marked "not for me"}). The TF-IDF is fitted once for all. Reasons are written in each
    person's language from `languages` (default: the active one).
    """
    dismissed = {person: set(papers) for person, papers in (dismissed or {}).items()}
    keys = list(
        dict.fromkeys(
            [
                *pool,
                *candidates,
                *(p for lib in libraries.values() for p in lib),
                *(p for papers in dismissed.values() for p in papers),
            ]
        )
    )
    keys = [key for key in keys if key in texts]
    tfidf = TfIdf.fit([texts[key] for key in keys])
    row_of = {key: n for n, key in enumerate(keys)}
    candidate_rows = np.array([row_of[key] for key in candidates if key in row_of], dtype=np.int64)
    candidate_keys = [keys[r] for r in candidate_rows]
    candidate_matrix = tfidf.rows.take(candidate_rows)
    pool_rows = np.array([row_of[key] for key in pool if key in row_of], dtype=np.int64)
    rng = np.random.default_rng(seed)
    rankings = {}
    for person, library in libraries.items():
        own = {key: weight for key, weight in library.items() if key in row_of}
        if len(own) < MIN_LIBRARY:
            rankings[person] = Ranking(library_size=len(own))
            continue
        try:
            with translation.override((languages or {}).get(person, translation.get_language())):
                rejected = np.array(
                    [row_of[key] for key in dismissed.get(person, ()) if key in row_of and key not in own],
                    dtype=np.int64,
                )
                rankings[person] = _rank_person(
                    tfidf,
                    own,
                    row_of,
                    pool_rows,
                    candidate_matrix,
                    candidate_keys,
                    titles,
                    rng,
                    top_k,
                    rejected,
                )
        except (ValueError, FloatingPointError, MemoryError) as exc:
            # One person's failure is recorded on their state; the rest of the lab still gets theirs.
            logger.exception("Recommendations for person %s failed", person)
            rankings[person] = Ranking(library_size=len(own), error=f"{exc.__class__.__name__}: {exc}")
    return rankings


def _rank_person(
    tfidf, library, row_of, pool_rows, candidates, candidate_keys, titles, rng, top_k, rejected=None
):
    rejected = np.empty(0, dtype=np.int64) if rejected is None else rejected
    library_rows = np.array([row_of[key] for key in library], dtype=np.int64)
    outside = pool_rows[~np.isin(pool_rows, np.concatenate([library_rows, rejected]))]
    wanted = min(len(outside), max(MIN_NEGATIVES, min(MAX_NEGATIVES, NEGATIVES_PER_POSITIVE * len(library))))
    if wanted + len(rejected) == 0:
        raise ValueError("no recent papers outside the library to learn from")
    # What the person said is not for them is a negative every time; the sample fills the rest.
    negative_rows = np.concatenate([rejected, rng.choice(outside, size=wanted, replace=False)])
    negative_weight = np.concatenate([np.full(len(rejected), NOT_FOR_ME_WEIGHT), np.ones(wanted)])
    positives = tfidf.rows.take(library_rows)
    model = train(
        positives,
        tfidf.rows.take(negative_rows),
        sample_weight=np.array(list(library.values())),
        negative_weight=negative_weight,
    )
    weights = model.full_weights(tfidf.rows.width)
    scores = sigmoid(candidates.dot(weights) + model.bias)
    candidate_rows = np.array([row_of[key] for key in candidate_keys], dtype=np.int64)
    # A paper already in the library is no news to its owner; one marked "not for me" is not wanted.
    in_library = np.isin(candidate_rows, np.concatenate([library_rows, rejected]))
    scores[in_library] = -1.0
    order = np.argsort(-scores, kind="stable")[: min(top_k, int((~in_library).sum()))]
    library_keys = list(library)
    picks = []
    for r in order:
        columns, values = candidates.row(r)
        reason = _reason(tfidf.terms, columns, values, weights, positives, library_keys, titles)
        picks.append(Pick(paper=candidate_keys[r], score=round(float(scores[r]), 4), reason=reason))
    top = np.argsort(-model.weights)[:TOP_TERMS]
    top_terms = [[tfidf.terms[model.columns[i]], round(float(model.weights[i]), 3)] for i in top]
    return Ranking(library_size=len(library), picks=picks, top_terms=top_terms, trained=True)


def _reason(terms, columns, values, weights, library: Rows, library_keys, titles) -> str:
    contributions = values * weights[columns]
    best = np.argsort(-contributions)[:REASON_TERMS]
    words = [terms[columns[i]] for i in best if contributions[i] > 0]
    dense = np.zeros(library.width)
    dense[columns] = values
    cosines = library.dot(dense)
    nearest = int(np.argmax(cosines))
    about = ", ".join(words)
    if cosines[nearest] >= LIKE_COSINE:
        title = _short(titles.get(library_keys[nearest], ""))
        if about:
            return _("like “%(title)s”; about %(terms)s") % {"title": title, "terms": about}
        return _("like “%(title)s”") % {"title": title}
    return _("about %(terms)s") % {"terms": about} if about else ""


def _short(title: str, limit: int = 90) -> str:
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


# The database side -----------------------------------------------------------------------------


def authored_papers(people: Iterable[User], papers=None) -> dict[int, set[int]]:
    """{person id: ids of papers one of whose authors agrees with one of the person's names on
    arXiv}, read through the author index (papers.models.authored)."""
    return authored({person.pk: person.arxiv_names or [] for person in people}, papers)


def libraries_of(people: Sequence[User]) -> dict[int, dict[int, float]]:
    """{person id: {paper id: weight}}: bookmarks weigh 1, tagged bookmarks and own papers more."""
    libraries: dict[int, dict[int, float]] = {person.pk: {} for person in people}
    saved = Bookmark.objects.filter(user__in=[p.pk for p in people], paper__withdrawn=False)
    for person, paper in saved.values_list("user_id", "paper_id"):
        libraries[person][paper] = 1.0
    for person, paper in saved.filter(tags__isnull=False).values_list("user_id", "paper_id").distinct():
        libraries[person][paper] = TAGGED_WEIGHT
    for person, papers in authored_papers(people, Paper.objects.filter(withdrawn=False)).items():
        for paper in papers:
            libraries[person][paper] = AUTHORED_WEIGHT
    return libraries


def dismissed_of(people: Sequence[User]) -> dict[int, set[int]]:
    """{person id: papers they marked "not for me"}."""
    found: dict[int, set[int]] = {person.pk: set() for person in people}
    for person, paper in Dismissal.objects.filter(person__in=[p.pk for p in people]).values_list(
        "person_id", "paper_id"
    ):
        found[person].add(paper)
    return found


def _pool(day: date) -> list[int]:
    before = Paper.objects.filter(first_announced__lt=day, withdrawn=False)
    ids = sorted(
        before.filter(first_announced__gte=day - timedelta(days=POOL_DAYS)).values_list("pk", flat=True)
    )
    if len(ids) < MIN_NEGATIVES:
        # A young portal: the latest papers before the day, however old.
        ids = sorted(before.order_by("-first_announced", "-pk").values_list("pk", flat=True)[:POOL_SIZE])
    # Seeded by the day: a second run over the same day learns from the same negatives.
    return random.Random(day.toordinal()).sample(ids, min(POOL_SIZE, len(ids)))


def _texts(ids: Iterable[int]) -> tuple[dict[int, str], dict[int, str]]:
    ids = list(ids)
    texts, titles = {}, {}
    for start in range(0, len(ids), 2000):
        chunk = Paper.objects.filter(pk__in=ids[start : start + 2000]).values_list("pk", "title", "abstract")
        for pk, title, abstract in chunk:
            texts[pk], titles[pk] = f"{title}\n{abstract}", title
    return texts, titles


def recommend_day(day: date | None = None) -> dict:
    """Train every active person's model and store their top papers of `day` (default: the latest
    announcement day). Safe to run again: rows are updated in place and stale ones removed."""
    day = day or Paper.objects.filter(withdrawn=False).latest_day()
    if day is None:
        return {"day": None, "people": 0, "recommendations": 0}
    people = list(User.objects.active())
    libraries = libraries_of(people)
    candidates = list(
        Paper.objects.filter(first_announced=day, withdrawn=False).order_by("pk").values_list("pk", flat=True)
    )
    pool = _pool(day)
    dismissed = dismissed_of(people)
    wanted = {*pool, *candidates, *(p for lib in libraries.values() for p in lib)}
    texts, titles = _texts(wanted | {p for papers in dismissed.values() for p in papers})
    # Reasons are stored text: each is written in its reader's language.
    languages = {person.pk: person.language for person in people}
    rankings = rank_lab(
        texts,
        titles,
        libraries,
        candidates,
        pool,
        seed=day.toordinal(),
        languages=languages,
        dismissed=dismissed,
    )
    written = _store(day, rankings)
    return {
        "day": day.isoformat(),
        "people": sum(r.trained for r in rankings.values()),
        "recommendations": written,
    }


def _store(day: date, rankings: Mapping[int, Ranking]) -> int:
    now = timezone.now()
    rows = [
        Recommendation(person_id=person, paper_id=pick.paper, score=pick.score, reason=pick.reason, day=day)
        for person, ranking in rankings.items()
        for pick in ranking.picks
    ]
    states = [
        RecommenderState(
            person_id=person,
            trained_at=now if ranking.trained else None,
            library_size=ranking.library_size,
            top_terms=ranking.top_terms,
            error=ranking.error,
        )
        for person, ranking in rankings.items()
    ]
    with transaction.atomic():
        for person, ranking in rankings.items():
            # What fell out of the top since the last run over this day goes.
            Recommendation.objects.filter(person_id=person, day=day).exclude(
                paper_id__in=[pick.paper for pick in ranking.picks]
            ).delete()
        Recommendation.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["person", "paper", "day"],
            update_fields=["score", "reason"],
        )
        RecommenderState.objects.bulk_create(
            states,
            update_conflicts=True,
            unique_fields=["person"],
            update_fields=["trained_at", "library_size", "top_terms", "error"],
        )
    return len(rows)


@shared_task(name="papers.train_recommendations")
def train_recommendations(*, run_id: int) -> dict | None:
    """After fetch run `run_id`: retrain everyone's recommender and rank the latest day's papers
    (papers/tasks.py then matches the run's papers again, for the "like my library" rules)."""
    if not FetchRun.objects.filter(pk=run_id).exists():
        logger.info("Fetch run %s is gone; no recommendations to train.", run_id)
        return None
    summary = recommend_day()
    logger.info("Recommendations after fetch run %s: %s", run_id, summary)
    return {"run_id": run_id, **summary}
