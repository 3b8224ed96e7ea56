"""Ingest benchmark: `upsert_papers` against a one-row-at-a-time loop and PostgreSQL's COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/ingest.py

DATABASE_URL names a PostgreSQL server and a database to connect to for administration; the
benchmark creates its own database `lab_portal_bench_<pid>` on that server, migrates it, and
drops it at the end, also when it fails or is interrupted. See bench/README.md.
"""

import argparse
import gzip
import json
import os
import platform
import re
import signal
import sys
import threading
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from itertools import batched
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path("/work/shared/data/corpus/arxiv-cs-2025-2026.jsonl.gz")
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
TARGET_VS_COPY = 0.7  # upsert rows/s at least this share of COPY's
TARGET_VS_LOOP = 3.0  # and at least this many times the loop's


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="a .jsonl or .jsonl.gz corpus file"
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N records")
    parser.add_argument(
        "--loop-sample", type=int, default=5000, help="records for the one-at-a-time loop (default 5000)"
    )
    parser.add_argument(
        "--page-size", type=int, default=None, help="records per upsert_papers call (default ARXIV_PAGE_SIZE)"
    )
    parser.add_argument(
        "--search-index",
        choices=["migrated", "gin", "rum", "none"],
        default="migrated",
        help="the full-text index on papers_paper.search: as the migrations leave it (default), "
        "GIN, RUM (needs the rum extension on the server) or none in its place",
    )
    parser.add_argument(
        "--experiments",
        choices=["auto", "on", "off"],
        default="auto",
        help="profile alternatives when a target is missed (auto, the default), always (on) or never (off)",
    )
    parser.add_argument(
        "--experiment-records", type=int, default=3000, help="records each experiment writes (default 3000)"
    )
    return parser.parse_args()


# --- the throwaway database ----------------------------------------------------------------------


def libpq_url(url: str) -> str:
    """DATABASE_URL as libpq takes it (it knows postgres:// and postgresql://, not pgsql://)."""
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql"))


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def create_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- measuring -----------------------------------------------------------------------------------


class SqlTimer:
    """Time spent executing SQL, by statement kind, through Django's execute_wrapper."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.cpu = defaultdict(float)  # of which this process was on the CPU (quoting parameters)
        self.statements = defaultdict(int)

    def __call__(self, execute, sql, params, many, context):
        kind = sql.lstrip().split(None, 1)[0].upper()
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[kind] += time.perf_counter() - started
            self.cpu[kind] += time.process_time() - cpu
            self.statements[kind] += 1

    def summary(self, result: "Result") -> str:
        parts = [
            f"{kind} {self.seconds[kind]:.1f} s ({self.statements[kind]}x, client CPU {self.cpu[kind]:.1f} s)"
            for kind in sorted(self.seconds)
            if self.seconds[kind] >= 0.05 or kind in ("SELECT", "INSERT")
        ]
        outside = result.seconds - sum(self.seconds.values())
        return (
            f"{result.seconds:.1f} s = through Django's execute(): {', '.join(parts)}; the rest (Python, "
            f"COPY streams, commits): {outside:.1f} s. Client CPU in all: {result.cpu:.1f} s"
        )


class Result:
    def __init__(self, label: str, rows: int, seconds: float, wal=None, note="", busy=False, cpu=None):
        self.label, self.rows, self.seconds, self.wal, self.note = label, rows, seconds, wal, note
        self.busy, self.cpu = busy, cpu

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


@contextmanager
def measure():
    """Wall time, this process's CPU time, the WAL PostgreSQL wrote meanwhile (by every session),
    and whether a session in another database ran statements meanwhile (skewing time and WAL)."""
    box = {}
    watch = Watch()
    watch.start()
    lsn = sql("SELECT pg_current_wal_lsn()")[0][0]
    started, cpu = time.perf_counter(), time.process_time()
    try:
        yield box
    finally:
        watch.done.set()
    box["seconds"], box["cpu"] = time.perf_counter() - started, time.process_time() - cpu
    box["wal"] = int(sql("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [lsn])[0][0])
    watch.join()
    box["busy"] = watch.busy


class Watch(threading.Thread):
    """Looks every second, on its own connection, for statements running in other databases."""

    def __init__(self):
        super().__init__(daemon=True)
        self.done, self.busy = threading.Event(), False

    def run(self):
        import psycopg

        with psycopg.connect(libpq_url(os.environ["DATABASE_URL"]), autocommit=True) as conn:
            while True:
                others = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND backend_type = 'client backend' AND datname IS DISTINCT FROM current_database()"
                ).fetchone()[0]
                self.busy = self.busy or others > 0
                if self.done.wait(1.0):
                    return


def sql(statement: str, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def checkpoint() -> None:
    """Flush to disk, so every measurement starts alike (skipped without the right to)."""
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic():
            sql("CHECKPOINT")
    except DatabaseError:
        pass


def empty_papers() -> None:
    sql("TRUNCATE papers_paper RESTART IDENTITY CASCADE")
    checkpoint()


def paper_count() -> int:
    return sql("SELECT count(*) FROM papers_paper")[0][0]


def paper_indexes() -> list[tuple[str, str]]:
    """(name, access method) of every index on papers_paper."""
    return sql(
        "SELECT i.relname, am.amname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam "
        "WHERE t.relname = 'papers_paper' ORDER BY am.amname, i.relname"
    )


def describe_indexes() -> str:
    methods = defaultdict(list)
    for name, method in paper_indexes():
        methods[method].append(name)
    return ", ".join(
        f"{len(names)} {method}" if method == "btree" else f"{method} ({', '.join(names)})"
        for method, names in methods.items()
    )


def fulltext_indexes() -> list[tuple[str, str, str]]:
    """(name, access method, definition) of every index on papers_paper that is not a B-tree."""
    return sql(
        "SELECT i.relname, am.amname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_am am ON am.oid = i.relam WHERE t.relname = 'papers_paper' AND am.amname <> 'btree' "
        "ORDER BY i.relname"
    )


SEARCH_INDEXES = {
    "gin": "CREATE INDEX bench_search_gin ON papers_paper USING gin (search)",
    "rum": "CREATE INDEX bench_search_rum ON papers_paper USING rum (search rum_tsvector_ops)",
}


def use_search_index(kind: str) -> None:
    """Replace the full-text indexes on papers_paper by one of `kind` (gin, rum) or by none."""
    from django.db import DatabaseError, transaction

    for name, _, _ in fulltext_indexes():
        sql(f'DROP INDEX "{name}"')
    if kind == "rum":
        try:
            with transaction.atomic():
                sql("CREATE EXTENSION IF NOT EXISTS rum")
        except DatabaseError as exc:
            sys.exit(f"--search-index rum needs the rum extension on the server: {exc}")
    if kind in SEARCH_INDEXES:
        sql(SEARCH_INDEXES[kind])


def build_indexes(definitions: list[str], prefix: str = "") -> None:
    """Run CREATE INDEX definitions, the index names prefixed (to build a copy beside the original)."""
    for definition in definitions:
        sql(re.sub(r"^CREATE INDEX (\S+) ON", lambda m: f"CREATE INDEX {prefix}{m[1]} ON", definition))


# --- the candidates ------------------------------------------------------------------------------


def run_upsert(records, page_size: int, timer: SqlTimer | None = None):
    """The real path, as the fetchers call it: one page per call, counted on a FetchRun."""
    from django.db import connection

    from papers.models import FetchRun
    from papers.services import UpsertCounts, upsert_papers

    run = FetchRun.objects.create(kind=FetchRun.Kind.BACKFILL)
    total = UpsertCounts()
    with connection.execute_wrapper(timer) if timer else nullcontext(), measure() as box:
        for page in batched(records, page_size):
            counts = upsert_papers(list(page), run=run)
            total.new += counts.new
            total.updated += counts.updated
            total.unchanged += counts.unchanged
    return box, total


def run_loop(records):
    """What naive code does: one Paper.save() per record, each committed on its own."""
    with measure() as box:
        for record in records:
            record.as_paper().save()
    return box


def paper_columns():
    """Paper's columns as upsert writes them: all but the id (and `search`, which is generated)."""
    from papers.models import Paper

    return [field for field in Paper._meta.concrete_fields if not field.primary_key]


def copy_row(paper, fields) -> list:
    # The baseline's own encoding of a row, the plainest one psycopg takes: COPY is the limit
    # upsert is measured against, not a second implementation of it.
    return [
        json.dumps(value) if isinstance(value, list | dict) else value
        for value in (getattr(paper, field.attname) for field in fields)
    ]


def run_copy(records, table: str):
    """COPY the records into `table` in one transaction; box["building"] = seconds spent in Python."""
    from django.db import connection, transaction

    fields = paper_columns()
    columns = ", ".join(field.column for field in fields)
    building = 0.0
    statement = f"COPY {table} ({columns}) FROM STDIN"
    with (
        measure() as box,
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(statement) as copy,
    ):
        for record in records:
            started = time.perf_counter()
            row = copy_row(record.as_paper(), fields)
            building += time.perf_counter() - started
            copy.write_row(row)
    box["building"] = building
    return box


def copy_table(records) -> dict:
    """Measure COPY into a fresh table made LIKE papers_paper INCLUDING ALL (columns, indexes)."""
    sql("DROP TABLE IF EXISTS bench_copy")
    sql("CREATE TABLE bench_copy (LIKE papers_paper INCLUDING ALL)")
    checkpoint()
    return run_copy(records, "bench_copy")


@contextmanager
def server_side_binding():
    """Django's PostgreSQL option: parameters sent apart from the SQL instead of quoted into it."""
    from django.db import connection

    connection.close()
    options = connection.settings_dict.setdefault("OPTIONS", {})
    options["server_side_binding"] = True
    try:
        yield
    finally:
        connection.close()
        options.pop("server_side_binding")


# --- the report ----------------------------------------------------------------------------------


def show(results: list[Result]) -> None:
    width = max(len(result.label) for result in results)
    print(f"  {'benchmark':<{width}}  {'rows':>7}  {'seconds':>8}  {'rows/s':>7}  {'WAL/row':>8}")
    for result in results:
        wal = f"{result.wal / result.rows / 1024:,.1f} kB" if result.wal is not None else ""
        note = f"  {result.note}" if result.note else ""
        print(
            f"  {result.label:<{width}}  {result.rows:>7,}  {result.seconds:>8.1f}  {result.rate:>7,.0f}"
            f"{'*' if result.busy else ' '} {wal:>8}{note}"
        )
    if any(result.busy for result in results):
        print("  * a session in another database ran statements meanwhile: its work skews time and WAL")


def machine() -> None:
    import django

    server = sql("SHOW server_version")[0][0]
    rows = sql(
        "SELECT name, setting, coalesce(unit, '') FROM pg_settings WHERE name = ANY(%s) ORDER BY name",
        [["shared_buffers", "synchronous_commit", "full_page_writes", "max_wal_size"]],
    )
    pg_settings = ", ".join(f"{name}={value}{unit and ' x ' + unit}" for name, value, unit in rows)
    print(f"Machine: {os.cpu_count()} CPUs ({platform.machine()}), load average {load()}")
    print(f"Python {platform.python_version()}, Django {django.get_version()}, PostgreSQL {server}")
    print(f"PostgreSQL settings: {pg_settings}")
    print(f"papers_paper indexes: {describe_indexes()}")


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def read_corpus(path: Path, limit: int | None) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                rows.append(json.loads(line))
                if limit is not None and len(rows) >= limit:
                    break
    return rows


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def benchmark(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from papers.services import record_from_corpus

    # Production runs with DEBUG off; with it on, Django keeps a log of every query.
    settings.DEBUG = False
    page_size = args.page_size or settings.ARXIV_PAGE_SIZE
    started = time.perf_counter()
    print(f"Database {settings.DATABASES['default']['NAME']}: migrating ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    if args.search_index != "migrated":
        use_search_index(args.search_index)
    machine()

    with measure() as reading:
        rows = read_corpus(args.corpus, args.limit)
        records = [record_from_corpus(row) for row in rows]
    if not records:
        sys.exit("The corpus holds no records.")
    print(
        f"Corpus {args.corpus}: {len(records):,} records read and made PaperRecords in "
        f"{reading['seconds']:.1f} s (not counted below)",
        flush=True,
    )
    results = {}

    empty_papers()
    print(f"a. upsert_papers, pages of {page_size}, onto an empty table ...", flush=True)
    timer = SqlTimer()
    box, counts = run_upsert(records, page_size, timer)
    assert paper_count() == len(records) == counts.new, (paper_count(), counts)
    results["upsert"] = Result(f"a. upsert_papers, pages of {page_size}", len(records), **box)

    checkpoint()
    print("d. upsert_papers again, every row unchanged ...", flush=True)
    again_timer = SqlTimer()
    box, again = run_upsert(records, page_size, again_timer)
    assert again.unchanged == len(records), again
    results["again"] = Result("d. upsert_papers again (all unchanged)", len(records), **box)

    fulltext = fulltext_indexes()
    if fulltext:
        print("e. building the full-text index over the full table in one go ...", flush=True)
        checkpoint()
        with measure() as box:
            build_indexes([definition for _, _, definition in fulltext], prefix="bench_")
        for name, _, _ in fulltext:
            sql(f'DROP INDEX "bench_{name}"')
        methods = ", ".join(method.upper() for _, method, _ in fulltext)
        results["build"] = Result(f"e. CREATE INDEX {methods} over the loaded rows", len(records), **box)

    print("c. COPY into a table LIKE papers_paper INCLUDING ALL ...", flush=True)
    box = copy_table(records)
    results["copy"] = Result(
        "c. COPY, one transaction",
        len(records),
        box["seconds"],
        box["wal"],
        f"(of which {box['building']:.1f} s building rows in Python)",
        box["busy"],
    )
    compared = [field.column for field in paper_columns() if field.name != "fetched_at"] + ["search"]
    same = sql(
        "SELECT count(*) FROM papers_paper p JOIN bench_copy c USING (arxiv_id) "  # noqa: S608
        f"WHERE ({', '.join('p.' + c for c in compared)}) IS NOT DISTINCT FROM "
        f"({', '.join('c.' + c for c in compared)})"
    )[0][0]
    sql("DROP TABLE bench_copy")
    print(
        f"   rows COPY wrote exactly as upsert did (all but id and fetched_at): {same:,} of {len(records):,}"
    )

    sample = records[: args.loop_sample]
    empty_papers()
    print(f"b. Paper.save() per record in autocommit, first {len(sample):,} records ...", flush=True)
    results["loop"] = Result("b. loop of Paper.save(), autocommit", len(sample), **run_loop(sample))
    # The loop writes into a small table; upsert's rate over the same records compares like with like.
    empty_papers()
    print(f"a'. upsert_papers over the loop's {len(sample):,} records ...", flush=True)
    box, _ = run_upsert(sample, page_size)
    results["upsert_sample"] = Result(f"a'. upsert_papers, the loop's {len(sample):,}", len(sample), **box)

    upsert, copy, loop = results["upsert"], results["copy"], results["loop"]
    vs_copy, vs_loop = upsert.rate / copy.rate, upsert.rate / loop.rate
    same_sample = results["upsert_sample"].rate / loop.rate
    print()
    print(f"Results ({datetime.now(UTC):%Y-%m-%d}, {len(records):,} records, load average {load()}):")
    keys = ("upsert", "upsert_sample", "loop", "copy", "again", "build")
    show([results[key] for key in keys if key in results])
    print()
    for label, ratio, target in (
        ("upsert / COPY  (a / c) ", vs_copy, TARGET_VS_COPY),
        ("upsert / loop  (a / b) ", vs_loop, TARGET_VS_LOOP),
        ("same records   (a' / b)", same_sample, TARGET_VS_LOOP),
    ):
        print(f"  {label} = {ratio:5.2f}   target >= {target}: {verdict(ratio >= target)}")
    print(f"  COPY / loop    (c / b)  = {copy.rate / loop.rate:5.2f}   (the ceiling for upsert / loop)")
    print(f"  re-run (d) / first upsert (a) = {results['again'].rate / upsert.rate:.1f}x the rows/s")
    print(f"  a. {timer.summary(upsert)}")
    print(f"  d. {again_timer.summary(results['again'])}")

    forced = args.experiments == "on"
    if forced or (args.experiments == "auto" and vs_copy < TARGET_VS_COPY):
        client_experiments(records[: args.experiment_records], page_size)
    if forced or (args.experiments == "auto" and vs_loop < TARGET_VS_LOOP):
        index_experiments(records[: args.experiment_records], page_size, min(500, args.loop_sample))
    print()
    print(f"Done in {time.perf_counter() - started:.0f} s.")


def client_experiments(records, page_size: int) -> None:
    """Where upsert spends its time on the client, and what page sizes and Django's parameter
    binding change. Every figure is the project's `upsert_papers`: to try another way of writing
    a page, change it there and run this again, so what is measured is what the fetchers run."""
    print()
    print(
        f"Experiments on the upsert path ({len(records):,} records each, empty table each time) ...",
        flush=True,
    )

    with measure() as box:
        for record in records:
            record.as_paper()
    as_paper = Result("PaperRecord.as_paper() only (Python)", len(records), box["seconds"])
    box = copy_table(records)
    copy = Result("COPY, one transaction", len(records), box["seconds"], box["wal"], busy=box["busy"])
    sql("DROP TABLE bench_copy")
    results = []

    def upsert(label: str, size: int) -> None:
        empty_papers()
        timer = SqlTimer()
        box, _ = run_upsert(records, size, timer)
        parts = ", ".join(f"{kind} {timer.seconds[kind]:.1f}" for kind in ("SELECT", "INSERT"))
        outside = box["seconds"] - sum(timer.seconds.values())
        results.append(Result(label, len(records), **box, note=f"({parts}, rest {outside:.1f} s)"))

    for size in sorted({200, page_size, 1000, 5000}):
        upsert(f"upsert_papers, pages of {size}", size)
    with server_side_binding():
        upsert(f"upsert_papers, server_side_binding, pages of {page_size}", page_size)
    for result in results:
        result.note = f"{result.rate / copy.rate:.2f}x COPY  {result.note}".rstrip()
    show([as_paper, copy, *results])


def index_experiments(records, page_size: int, loop_sample: int) -> None:
    """The three ways on the same records under each full-text index: what the index costs."""
    print()
    print(
        f"Experiments on the full-text index ({len(records):,} records, loop {loop_sample:,}, "
        f"empty table each time) ...",
        flush=True,
    )
    fulltext = fulltext_indexes()
    migrated = ", ".join(f"{method.upper()} {name}" for name, method, _ in fulltext) or "none"
    results = []

    def three_ways(label: str) -> None:
        box = copy_table(records)
        copy = Result(f"{label}: COPY", len(records), box["seconds"], box["wal"], busy=box["busy"])
        sql("DROP TABLE bench_copy")
        empty_papers()
        box, _ = run_upsert(records, page_size)
        upsert = Result(f"{label}: upsert_papers", len(records), **box)
        empty_papers()
        loop = Result(f"{label}: loop", loop_sample, **run_loop(records[:loop_sample]))
        upsert.note = f"{upsert.rate / copy.rate:.2f}x COPY, {upsert.rate / loop.rate:.1f}x loop"
        results.extend([upsert, loop, copy])

    three_ways(f"as benchmarked ({migrated})")
    if fulltext:
        # A backfill that drops the index, loads, and builds the index once at the end.
        empty_papers()
        with measure() as box:
            for name, _, _ in fulltext:
                sql(f'DROP INDEX "{name}"')
            run_upsert(records, page_size)
            build_indexes([definition for _, _, definition in fulltext])
        results.append(Result(f"{migrated} dropped, upsert_papers, {migrated} rebuilt", len(records), **box))
    if [method for _, method, _ in fulltext] != ["gin"]:
        use_search_index("gin")
        three_ways("GIN on search")
    use_search_index("none")
    three_ways("no full-text index")
    show(results)


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "").strip()
    if urlsplit(url).scheme not in POSTGRES_SCHEMES:
        sys.exit(
            "bench/ingest.py needs DATABASE_URL to name a PostgreSQL server, e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench\n"
            "It creates (and drops) its own database there, so the user needs CREATEDB."
        )
    if not args.corpus.is_file():
        sys.exit(f"No corpus at {args.corpus}; name one with --corpus.")

    import psycopg

    name = f"lab_portal_bench_{os.getpid()}"
    try:
        create_database(url, name)
    except psycopg.Error as exc:
        sys.exit(f"Cannot create the benchmark database {name} through DATABASE_URL: {exc}")
    # `kill` ends the run through the `finally` below, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        os.environ["DATABASE_URL"] = with_database(url, name)
        os.environ["DJANGO_SETTINGS_MODULE"] = "lab_portal.settings"
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        benchmark(args)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        drop_database(url, name)
        print(f"Dropped database {name}.")


if __name__ == "__main__":
    main()
