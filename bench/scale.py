"""Scale benchmark: the feed and search over a million papers in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/scale.py

Builds (once, then reuses) the database `lab_portal_scale` on the server in DATABASE_URL: the
real corpus repeated under new ids until it holds --papers rows, each repeat with its text
varied and its days moved further into the past, so days hold as many papers as real ones do.
Then it measures, through Django's test client against the real views, the server time of the
feed's first page, of a page a thousand pages deep, and of 50 varied searches, with the SQL
query count of each page and the peak memory of this (web) process. See bench/README.md.
"""

import argparse
import gzip
import json
import os
import random
import resource
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path("/work/shared/data/corpus/arxiv-cs-2025-2026.jsonl.gz")
DATABASE = "lab_portal_scale"
TARGET_FEED_MS, TARGET_SEARCH_MS = 30, 100

# Words swapped into the repeats' titles and abstracts, so no two repeats index identically.
VARIANTS = [
    "robust", "efficient", "scalable", "sparse", "causal", "federated", "multimodal", "adaptive",
    "hierarchical", "contrastive", "generative", "probabilistic", "interpretable", "streaming",
    "lightweight", "self-supervised", "compositional", "equivariant", "continual", "latent",
]  # fmt: skip

SEARCHES = [
    # very common words and phrases
    "learning", "model", "models", "neural network", "deep learning", "large language models",
    "language", "image", "data", "training", "transformer", "diffusion", "benchmark", "attention",
    "reinforcement learning", "graph", "vision", "generation", "detection", "segmentation",
    # phrases
    '"large language models"', '"diffusion models"', '"graph neural networks"', '"in-context learning"',
    '"vision transformer"', '"reinforcement learning from human feedback"', '"zero-shot"',
    '"speech recognition"', '"knowledge distillation"', '"retrieval-augmented generation"',
    # prefixes
    "diffus*", "transform*", "quant*", "segment*", "halluc*",
    # rare terms and names
    "photomosaics", "gaussian splatting", "Schmidhuber", "hypergraph", "quaternion", "tokenizer",
    "Kolmogorov-Arnold", "neuromorphic", "ultrasound", "hyperspectral", "Lipschitz", "mamba",
    "sarcasm", "wildfire", "kidney",
]  # fmt: skip


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=1_000_000, help="rows to build (default 1,000,000)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the scale database")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each feed page (default 20)")
    parser.add_argument(
        "--database", default=DATABASE, help=f"the database to build or reuse (default {DATABASE})"
    )
    return parser.parse_args()


def server_url(database: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit("bench/scale.py needs DATABASE_URL=postgres://... (a PostgreSQL server to build on)")
    return urlunsplit(parts._replace(scheme="postgresql", path=f"/{database}"))


def prepare_database(args) -> None:
    import psycopg

    database = args.database
    with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists and args.rebuild:
            admin.execute(f'DROP DATABASE "{database}"')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = server_url(database)


# What autovacuum does after a large load, at once: the visibility map lets the author lookups
# read the index alone (a person's papers are decided from it, papers.models.authored).
VACUUM_AUTHORS = "VACUUM ANALYZE papers_paperauthor"


def build(args) -> None:
    """COPY the repeated corpus in, with the indexes built afterwards (as a restore would)."""
    from django.core.management import call_command
    from django.db import connection

    from papers.models import Paper, PaperAuthor
    from papers.services import record_from_corpus

    call_command("migrate", verbosity=0)
    have = Paper.objects.count()
    if have >= args.papers:
        print(f"Reusing {args.database}: {have:,} papers.")
        if not PaperAuthor.objects.exists():  # a store built before the author index
            index_authors()
            with connection.cursor() as cursor:
                cursor.execute(VACUUM_AUTHORS)
        return
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE papers_paper CASCADE")
        cursor.execute("TRUNCATE papers_paperauthor")
    with gzip.open(args.corpus, "rt", encoding="utf-8") as corpus:
        rows = [json.loads(line) for line in corpus]
    print(f"Building {args.papers:,} papers from {len(rows):,} real records ...", flush=True)
    fields = [f for f in Paper._meta.concrete_fields if f.column != "id"]
    columns = ", ".join(f.column for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename IN ('papers_paper', 'papers_paperauthor') "
            "AND indexname NOT LIKE '%%pkey' AND indexname NOT LIKE '%%arxiv_id_key' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # The author index's unique constraint is rebuilt afterwards too, as a restore would.
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'papers_paperauthor'::regclass AND contype = 'u'"
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f'ALTER TABLE papers_paperauthor DROP CONSTRAINT "{name}"')
            indexes.append((name, f'ALTER TABLE papers_paperauthor ADD CONSTRAINT "{name}" {definition}'))
    started, written, repeat = time.perf_counter(), 0, 0
    rng = random.Random(7)
    while written < args.papers:
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY papers_paper ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                if written >= args.papers:
                    break
                paper = record_from_corpus(varied(row, repeat, rng)).as_paper()
                copy.write_row(
                    [field.get_db_prep_save(getattr(paper, field.attname), connection) for field in fields]
                )
                written += 1
        repeat += 1
        rate = written / (time.perf_counter() - started)
        print(f"  {written:,} rows, {rate:,.0f} rows/s", flush=True)
    index_authors()
    print("  building indexes ...", flush=True)
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("ANALYZE papers_paper")
        cursor.execute(VACUUM_AUTHORS)
    print(f"Built in {time.perf_counter() - started:,.0f} s.")


def index_authors() -> None:
    """The author index as upsert_papers writes it (PaperAuthor.rows_for), by COPY."""
    from django.db import connection, transaction

    from papers.models import PaperAuthor

    started, written = time.perf_counter(), 0
    copy_sql = "COPY papers_paperauthor (paper_id, position, surname, initial, first, given) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DECLARE papers NO SCROLL CURSOR FOR SELECT id, authors FROM papers_paper")
        while True:
            # One connection: each batch is read, then copied, never both at once.
            cursor.execute("FETCH 20000 FROM papers")
            rows = cursor.fetchall()
            if not rows:
                break
            with cursor.cursor.copy(copy_sql) as copy:
                for pk, authors in rows:
                    # Django reads jsonb as text and leaves the parsing to the field.
                    for row in PaperAuthor.rows_for(pk, json.loads(authors)):
                        copy.write_row((pk, row.position, row.surname, row.initial, row.first, row.given))
                        written += 1
    print(f"  {written:,} author index rows in {time.perf_counter() - started:,.0f} s", flush=True)


def varied(row: dict, repeat: int, rng: random.Random) -> dict:
    if repeat == 0:
        return row
    days = [date.fromisoformat(day) - timedelta(days=490 * repeat) for day in row["announced"]]
    # Keep listing days on weekdays, as arXiv's are.
    days = [day - timedelta(days=max(0, day.weekday() - 4)) for day in days]
    words = rng.sample(VARIANTS, 2)
    sentences = row["abstract"].split(". ")
    rotated = sentences[repeat % len(sentences) :] + sentences[: repeat % len(sentences)]
    return {
        **row,
        "id": f"{row['id']}r{repeat}",
        "title": f"{words[0].capitalize()} {row['title']}",
        "abstract": f"{'. '.join(rotated)} We call it {words[1]}.",
        "announced": [day.isoformat() for day in days],
    }


def timed(client, url: str, repeat: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], set()
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries.add(len(captured.captured_queries))
    return times, queries


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def measure(args) -> bool:
    from django.db import connection
    from django.test import Client

    from lab_portal.models import User
    from papers.models import Paper

    user, _ = User.objects.get_or_create(username="bench", defaults={"display_name": "Bench"})
    client = Client()
    client.force_login(user)
    total = Paper.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT first_announced, arxiv_id FROM papers_paper ORDER BY first_announced DESC, arxiv_id DESC "
            "OFFSET %s LIMIT 1",
            [min(25 * 1000, total) - 1],
        )
        deep_day, deep_id = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'paper_search_rum'")
        rum = cursor.fetchone()[0] == 1
    deep = f"{deep_day.isoformat()}~~{deep_id}"
    pages = {
        "feed, latest day": "/papers/",
        "feed, latest day, cs.CV": "/papers/?category=cs.CV",
        "all papers, first page": "/papers/all/",
        "all papers, page 1,000": f"/papers/all/?after={deep}",
        "all papers cs.CL, first page": "/papers/all/?category=cs.CL",
    }
    for url in pages.values():  # warm caches, as a running server's are
        client.get(url)
    print(f"\n{total:,} papers; search index: {'RUM' if rum else 'GIN'}; {args.repeat} runs each\n")
    print(f"{'page':<34} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    feed_ok = True
    for label, url in pages.items():
        times, queries = timed(client, url, args.repeat)
        feed_ok &= p95(times) <= TARGET_FEED_MS and len(queries) == 1
        counts = "/".join(map(str, sorted(queries)))
        print(f"{label:<34} {statistics.median(times):>8.1f} {p95(times):>8.1f} {counts:>8}")

    search_times, search_queries, slowest = [], set(), []
    for query in SEARCHES:
        client.get("/papers/search/", {"q": query})  # the first run of a term reads it from disk
        times, queries = timed(client, f"/papers/search/?q={query.replace(' ', '+').replace('"', '%22')}", 3)
        search_times.append(statistics.median(times))
        search_queries |= queries
        slowest.append((statistics.median(times), query))
    by_date, _ = timed(client, "/papers/search/?q=learning&sort=date", args.repeat)
    counts = "/".join(map(str, sorted(search_queries)))
    median, high = statistics.median(search_times), p95(search_times)
    print(f"{'50 searches (median of 3 each)':<34} {median:>8.1f} {high:>8.1f} {counts:>8}")
    print(f"{'search "learning", by date':<34} {statistics.median(by_date):>8.1f} {p95(by_date):>8.1f}")
    print("slowest searches:", ", ".join(f"{q!r} {t:.0f} ms" for t, q in sorted(slowest, reverse=True)[:5]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this web process: {peak:,.0f} MB")
    search_ok = p95(search_times) <= TARGET_SEARCH_MS
    verdict = {True: "met", False: "MISSED"}
    print(f"\ntargets: feed p95 <= {TARGET_FEED_MS} ms, constant queries: {verdict[feed_ok]}")
    print(f"         search p95 <= {TARGET_SEARCH_MS} ms: {verdict[search_ok]}")
    return feed_ok and search_ok


def main() -> int:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    prepare_database(args)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lab_portal.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # as in production: no per-query bookkeeping outside the measurement
    build(args)
    return 0 if measure(args) else 1


if __name__ == "__main__":
    sys.exit(main())
