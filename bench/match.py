"""Watch-rule matching benchmark: 1,500 real papers against 500 generated rules, target ≤ 2 s.

    .venv/bin/python bench/match.py [--papers 1500] [--rules 500] [--runs 5] [--seed 2026]
    DATABASE_URL=postgres://... .venv/bin/python bench/match.py --task   # also the whole task path

The papers are the last `--papers` of the lab's corpus (read with gzip and json, no database).
The rules are drawn from the same corpus so that they match something: topic words (title words
ranked 40 to 800 by frequency), "phrases",
AND/OR/NOT combinations with parentheses, authors written the other ways (initials, surname
first), categories, and mixes of these. The timed part is what the task does per run: compile
every rule once, then tokenise each paper once and test it against the rules its terms index.
The median of `--runs` is reported, with the process's CPU time beside it.

With `--task` the script also creates a throw-away database on the configured server, stores the
papers and rules, and times `papers.watch.notify_matches` (matching, plus writing the
notifications) end to end. See bench/README.md.
"""

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lab_portal.settings")

import django  # noqa: E402 (the project root is on the path only now)

django.setup()

from papers.watch import compile_rules, words  # noqa: E402

CORPUS = Path("/work/shared/data/corpus/arxiv-cs-2025-2026.jsonl.gz")
TARGET_SECONDS = 2.0
STOP = {"the", "of", "and", "a", "for", "in", "to", "on", "with", "via", "from", "by", "an", "is", "at"}


def load_papers(count: int) -> list[dict]:
    rows = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as corpus:
        for line in corpus:
            rows.append(json.loads(line))
    return rows[-count:]


def as_paper(index: int, row: dict) -> SimpleNamespace:
    return SimpleNamespace(
        pk=index + 1,
        arxiv_id=row["id"],
        version=1,
        title=row["title"],
        abstract=row["abstract"],
        authors=row["authors"],
        categories=row["categories"],
    )


def variant(name: str, rng: random.Random) -> str:
    """The same author as another paper might write them: initials, or surname first."""
    parts = name.split()
    if len(parts) < 2:
        return name
    given, surname = parts[:-1], parts[-1]
    if rng.random() < 0.5:
        return " ".join(f"{g[0]}." for g in given) + f" {surname}"
    return f"{surname}, {' '.join(given)}"


def make_rules(rows: list[dict], count: int, rng: random.Random) -> list[SimpleNamespace]:
    vocabulary = Counter(w for row in rows for w in words(row["title"]) if w not in STOP and len(w) > 3)
    # Topic words, not the forty commonest ("learning", "model", "based"), which nobody watches.
    common = [w for w, _n in vocabulary.most_common(800)[40:]]
    phrases = []
    for row in rows:
        title = [w for w in row["title"].split() if w.isalpha()]
        if len(title) >= 2:
            start = rng.randrange(len(title) - 1)
            phrases.append(" ".join(title[start : start + 2]).lower())
    authors = [a for row in rows for a in row["authors"]]
    categories = sorted({c for row in rows for c in row["categories"]})
    rules = []
    for index in range(count):
        kind = index % 8
        query, names, codes = "", [], []
        if kind == 0:
            query = rng.choice(common)
        elif kind == 1:
            query = f'"{rng.choice(phrases)}"'
        elif kind == 2:
            a, b, c = rng.sample(common, 3)
            query = f"({a} OR {b}) AND NOT {c}"
        elif kind == 3:
            a, b = rng.sample(common, 2)
            query = f'{a} {b} OR "{rng.choice(phrases)}"'
        elif kind == 4:
            names = [variant(rng.choice(authors), rng) for _ in range(rng.randint(1, 5))]
        elif kind == 5:
            query, codes = rng.choice(common), [rng.choice(categories)]
        elif kind == 6:
            codes = rng.sample(categories, 2)
            query = f"NOT {rng.choice(common)}"
        else:
            query = " OR ".join(rng.sample(common, 4))
            names = [variant(rng.choice(authors), rng)] if rng.random() < 0.3 else []
        rules.append(
            SimpleNamespace(
                pk=index + 1, person_id=1, team_id=None, query=query, authors=names, categories=codes,
                min_recommendation=None, include_updates=False,
            )
        )  # fmt: skip
    return rules


def time_matcher(papers, rules, runs: int) -> tuple[float, float, int]:
    walls, cpus, found = [], [], 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        found = len(compile_rules(rules).match(papers))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), found


def time_task(rows, rules) -> None:
    """Store the papers and rules in a fresh test database and time notify_matches end to end."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import get_runner

    from lab_portal.models import User
    from papers.models import Notification, Paper, WatchRule
    from papers.services import record_from_corpus, upsert_papers
    from papers.watch import notify_matches

    runner = get_runner(settings)(verbosity=0, interactive=False)
    old = runner.setup_databases()
    try:
        person = User.objects.create_user("bench", email="bench@example.org")
        records = [record_from_corpus(row) for row in rows]
        upsert_papers(records)
        WatchRule.objects.bulk_create(
            WatchRule(
                person=person, name=f"rule {r.pk}", query=r.query, authors=r.authors, categories=r.categories,
                in_chat=False,
            )
            for r in rules
        )  # fmt: skip
        wall = time.perf_counter()
        created = notify_matches(Paper.objects.all())
        first = time.perf_counter() - wall
        wall = time.perf_counter()
        again = notify_matches(Paper.objects.all())
        second = time.perf_counter() - wall
        print(
            f"task path on {connection.vendor}: {first:.2f} s, {created} notifications "
            f"(run again: {second:.2f} s, {again} new; {Notification.objects.count()} stored)"
        )
    finally:
        runner.teardown_databases(old)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=1500)
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--task", action="store_true", help="also time the task path on the database")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows = load_papers(args.papers)
    papers = [as_paper(i, row) for i, row in enumerate(rows)]
    rules = make_rules(rows, args.rules, rng)
    wall, cpu, found = time_matcher(papers, rules, args.runs)
    verdict = "ok" if wall <= TARGET_SECONDS else "MISSED"
    print(
        f"{len(papers)} papers x {len(rules)} rules: {wall:.3f} s wall, {cpu:.3f} s CPU "
        f"(median of {args.runs}), {found} matches; target ≤ {TARGET_SECONDS:.0f} s: {verdict}"
    )
    if args.task:
        time_task(rows, rules)
    return 0 if wall <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
