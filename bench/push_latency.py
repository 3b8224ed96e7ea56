"""Push latency: from arXiv's announcement to the lab's Telegram, with real processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/push_latency.py [--people 200] [--rules 500] [--papers 1500] [--seed 2026]

The script creates its own database `lab_portal_bench_push_<pid>` on the server DATABASE_URL
names and drops it at the end (also on failure, Ctrl-C or `kill`). REDIS_URL is the broker and
the lab-wide request spacing, as in production; the worker listens on a queue of its own.

The lab, as it stands the evening after Monday's announcement: 1,500 new papers in the lab's
8 categories are about to be announced, the 4 announcements before are stored (6,000 papers,
what the overlap reads again), and 10,000 older papers are stored for libraries and the
recommender's pool, all real papers of the lab's corpus with timestamps moved to those days;
200 people with a Telegram chat each and 8 saved papers each, and 500 watch rules as people
write them (words and phrases few papers use, authors, a category with a word, a few "like my
library"), all in the morning chat post, the author watches urgent (sent at once, as people mark
them). Then, as in production:

- a stand-in arXiv on 127.0.0.1 answers the query API, each request after 1 to 3 s, and shows
  tonight's papers from a chosen moment (the announcement) on;
- a real Celery worker (`--concurrency` processes, 2 by default as on this machine) runs the
  code as it stands, with the 3 s spacing kept and pages of 1,000; its clock is moved (with
  time-machine) to a Tuesday evening in New York, so the watcher's window is open;
- this script plays beat: a `papers.watch_announcement` round every 30 s, as CELERY_BEAT_SCHEDULE
  sends it, the announcement falling at a random moment between two rounds;
- a Telegram stand-in receives the messages.

It measures, from the moment the announcement is visible, the first and the last message, with
the breakdown of the first: detect (until the watcher starts the run), fetch (until the new
papers are stored and matching starts), match (until matching has queued the messages) and send
(until the first reaches Telegram). The old fixed schedule's figures come from the same run's
timings: it started at 20:30, read the whole window, trained before matching, then sent.
Target: first message ≤ 2 min, last ≤ 5 min after the announcement. See bench/README.md.
"""

import argparse
import gzip
import itertools
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = Path("/work/shared/data/corpus/arxiv-cs-2025-2026.jsonl.gz")
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
NEW_YORK = ZoneInfo("America/New_York")
# A Tuesday: Monday evening's announcement is stored, Tuesday's is about to come.
EVENING = datetime(2026, 6, 30, 20, 0, tzinfo=NEW_YORK)
LAB = ["cs.CV", "cs.CL", "cs.LG", "cs.AI", "cs.IR", "cs.SD", "eess.AS", "stat.ML"]
WATCH_EVERY = 30  # seconds, as CELERY_BEAT_SCHEDULE runs the watcher
TARGET_FIRST, TARGET_LAST = 120, 300
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
STOP = {"the", "of", "and", "a", "for", "in", "to", "on", "with", "via", "from", "by", "an", "is", "at",
        "towards", "toward", "using", "based", "learning", "model", "models"}  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--papers", type=int, default=1500, help="new papers in tonight's announcement")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    # The worker's own entry point: the script starts itself with these.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    parser.add_argument("--events", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- the throwaway database ----------------------------------------------------------------------


def libpq_url(url: str) -> str:
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


# --- the worker, on a Tuesday evening in New York ------------------------------------------------


def run_worker(args: argparse.Namespace) -> None:
    """A Celery worker whose clock reads `--offset` seconds ahead, noting when each task starts
    and ends (a system-wide monotonic clock, the one the stand-ins note arrivals on)."""
    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(seconds=args.offset), tick=True).start()
    import django

    django.setup()
    from celery.signals import task_postrun, task_prerun

    from lab_portal.celery import app

    # What the code queues without naming a queue (messages to send) stays on this worker's.
    app.conf.task_default_queue = args.queue

    def note(event: str):
        def handler(sender=None, task_id=None, state=None, **extra):
            line = {
                "event": event,
                "task": sender.name,
                "id": task_id,
                "state": state,
                "at": time.monotonic(),
            }
            with open(args.events, "a") as out:
                out.write(json.dumps(line) + "\n")

        return handler

    # Connected before the pool forks, so every worker process notes its tasks.
    task_prerun.connect(note("start"), weak=False)
    task_postrun.connect(note("end"), weak=False)
    app.worker_main(
        ["worker", "-Q", args.queue, "-n", f"{args.queue}@localhost", f"--concurrency={args.concurrency}",
         "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    )  # fmt: skip


def start_worker(args, *, offset: float, queue: str, events: Path, log: Path, env: dict) -> subprocess.Popen:
    from lab_portal.celery import app

    command = [sys.executable, __file__, "--worker", "--offset", str(offset), "--queue", queue,
               "--events", str(events), "--concurrency", str(args.concurrency)]  # fmt: skip
    with log.open("w") as out:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while not app.control.ping(destination=[f"{queue}@localhost"], timeout=1):
        if worker.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"The Celery worker did not start; its log:\n{log.read_text()}")
    return worker


# --- the lab's papers, people and rules ----------------------------------------------------------


def cutoff(day: date) -> datetime:
    return datetime.combine(day, clock(14, 0), tzinfo=NEW_YORK)


def load_corpus(path: Path, count: int) -> list[dict]:
    """The latest `count` papers of the corpus in the lab's categories, oldest first."""
    with gzip.open(path, "rt", encoding="utf-8") as corpus:
        rows = [json.loads(line) for line in corpus]
    rows = [row for row in rows if set(row["categories"]) & set(LAB)]
    rows.sort(key=lambda row: (row["announced"][0], row["id"]))
    return rows[-count:]


def entry_for(row: dict, moment: datetime):
    from papers.tests.arxiv_server import new_entry

    def clean(text):
        return _NOT_XML.sub(" ", text or "")

    return new_entry(
        arxiv_id=row["id"],
        title=clean(row["title"]),
        abstract=clean(row["abstract"]),
        authors=[clean(name) for name in row["authors"]],
        categories=row["categories"],
        updated=moment,
        comment=clean(row.get("comment")),
    )


def spread(rows: list[dict], start: datetime, end: datetime, rng: random.Random) -> list:
    seconds = (end - start).total_seconds()
    return [entry_for(row, start + timedelta(seconds=rng.uniform(0, seconds))) for row in rows]


def build_papers(args, rng: random.Random) -> dict:
    """Tonight's entries (to announce), the four announcements before (stored and served, the
    overlap), and the older history (stored only)."""
    new, per_day, history = args.papers, 1500, 10000
    rows = load_corpus(args.corpus, new + 4 * per_day + history)
    tonight = spread(rows[-new:], cutoff(date(2026, 6, 29)), cutoff(date(2026, 6, 30)), rng)
    # The submissions behind the evenings of Monday, Sunday, Thursday and Wednesday before.
    windows = [(date(2026, 6, 26), date(2026, 6, 29)), (date(2026, 6, 25), date(2026, 6, 26)),
               (date(2026, 6, 24), date(2026, 6, 25)), (date(2026, 6, 23), date(2026, 6, 24))]  # fmt: skip
    earlier = []
    for n, (first, last) in enumerate(windows):
        chunk = rows[-new - (n + 1) * per_day : -new - n * per_day]
        earlier += spread(chunk, cutoff(first), cutoff(last), rng)
    older = spread(rows[:history], cutoff(date(2026, 5, 25)), cutoff(date(2026, 6, 23)), rng)
    return {"tonight": tonight, "earlier": earlier, "older": older, "history_rows": rows[:history]}


def store(entries: list, run) -> datetime:
    """Store entries as the fetch would have (parsed back from the wire format); returns the
    newest `updated`."""
    from papers.fetching import paper_record, read_page
    from papers.services import upsert_papers
    from papers.tests.arxiv_server import feed

    newest = None
    for start in range(0, len(entries), 1000):
        chunk = entries[start : start + 1000]
        records = [paper_record(result) for result in read_page(feed(chunk, total=len(chunk)).body).results]
        upsert_papers(records, run=run)
        latest = max(record.updated for record in records)
        newest = max(newest, latest) if newest else latest
    return newest


def build_lab(args, papers: dict, rng: random.Random) -> dict:
    from django.utils import timezone

    from lab_portal.models import Channel, User
    from papers.models import Bookmark, Category, FetchRun, Paper, WatchRule

    Category.objects.bulk_create([Category(code=code) for code in LAB])
    monday = EVENING - timedelta(days=1) + timedelta(minutes=1)
    run = FetchRun.objects.create(
        kind=FetchRun.Kind.DAILY, started_at=monday, categories=LAB, until=monday,
        since=monday - timedelta(days=7), status=FetchRun.Status.SUCCEEDED,
    )  # fmt: skip
    store(papers["older"], run)
    newest = store(papers["earlier"], run)
    FetchRun.objects.filter(pk=run.pk).update(checkpoint=newest, finished_at=monday + timedelta(minutes=2))
    # Stored long ago as far as tonight's run can tell: only what it stores counts as its own.
    Paper.objects.update(fetched_at=monday)

    people = User.objects.bulk_create(
        User(username=f"person{n:03d}", email=f"person{n:03d}@lab.example.org", display_name=f"Person {n}")
        for n in range(args.people)
    )
    Channel.objects.bulk_create(
        Channel(person=person, kind=Channel.Kind.TELEGRAM, target=str(100000 + n))
        for n, person in enumerate(people)
    )
    history = papers["history_rows"]
    words = topic_words(history)
    ids = dict(
        Paper.objects.filter(arxiv_id__in=[row["id"] for row in history]).values_list("arxiv_id", "pk")
    )
    saved = []
    for person in people:
        # Eight papers on one subject, or any eight when the subject has too few.
        word = rng.choice(words["topic"] + words["broad"])
        about = [row["id"] for row in history if word in row["title"].lower()]
        if len(about) < 3:
            about = [row["id"] for row in rng.sample(history, 8)]
        picks = rng.sample(about, min(8, len(about)))
        saved += [
            Bookmark(user=person, paper_id=ids[arxiv_id], created_at=timezone.now()) for arxiv_id in picks
        ]
    Bookmark.objects.bulk_create(saved, ignore_conflicts=True)
    WatchRule.objects.bulk_create(make_rules(args.rules, people, history, words, rng))
    return {"run": run}


def topic_words(history: list[dict]) -> dict:
    from papers.watch import words

    titles = Counter(w for row in history for w in set(words(row["title"])) if w not in STOP and len(w) > 3)
    used = Counter(w for row in history for w in set(words(f"{row['title']} {row['abstract']}")))
    # Title words few papers use at all are what a person watches for; broader ones go in pairs.
    return {
        "topic": sorted(w for w, n in titles.items() if n >= 3 and 5 <= used[w] <= 60),
        "broad": sorted(w for w, n in titles.items() if n >= 3 and 60 < used[w] <= 300),
    }


def make_rules(count: int, people: list, history: list[dict], words: dict, rng: random.Random) -> list:
    from papers.models import WatchRule

    pairs = Counter()
    for row in history:
        title = [w.lower() for w in row["title"].split() if w.isalpha()]
        pairs.update(f"{a} {b}" for a, b in itertools.pairwise(title) if not {a, b} & STOP)
    phrases = sorted(p for p, n in pairs.items() if n >= 3)
    surnames = Counter(name.split()[-1] for row in history for name in row["authors"] if name.split())
    common = {surname for surname, _n in surnames.most_common(300)}
    authors = Counter(name for row in history for name in row["authors"])
    known = sorted(
        a for a, n in authors.items() if n >= 3 and len(a.split()) >= 2 and a.split()[-1] not in common
    )
    topic, broad = words["topic"], words["broad"]
    rules = []
    for n in range(count):
        query, names, codes, library = "", [], [], None
        match n % 25:
            case 0:
                library = 0.5  # "like my library"
            case k if k % 6 == 0:
                query = rng.choice(topic)
            case k if k % 6 == 1:
                query = f'"{rng.choice(phrases)}"'
            case k if k % 6 == 2:
                names = rng.sample(known, rng.randint(1, 3))
            case k if k % 6 == 3:
                query, codes = rng.choice(topic), [rng.choice(LAB)]
            case k if k % 6 == 4:
                query = " OR ".join(rng.sample(topic, 2))
            case _:
                query = f"{rng.choice(broad)} {rng.choice(broad)}"
        rules.append(
            WatchRule(
                person=people[n % len(people)], name=f"rule {n}", query=query, authors=names,
                categories=codes, min_recommendation=library, in_chat=True, urgent=bool(names),
            )
        )  # fmt: skip
    return rules


# --- one evening ---------------------------------------------------------------------------------


def events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def attempts(notes: list[dict], name: str) -> list[tuple[float, float]]:
    """(start, end) of each successful run of task `name`, in order; retries left out."""
    starts = {note["id"]: note["at"] for note in notes if note["task"] == name and note["event"] == "start"}
    ends = [note for note in notes if note["task"] == name and note["event"] == "end"]
    return sorted((starts[note["id"]], note["at"]) for note in ends if note["state"] == "SUCCESS")


def finished(path: Path) -> bool:
    """Training done and the matching after it, and every message out of the worker's hands."""
    from lab_portal.models import Delivery

    notes = events(path)
    trained = attempts(notes, "papers.train_recommendations")
    # Training queues the matching after it, which may start a moment before training's end is noted.
    matched_after = trained and any(
        start > trained[0][0] for start, _ in attempts(notes, "papers.match_watch_rules")
    )
    pending = Delivery.objects.filter(state__in=[Delivery.State.PENDING, Delivery.State.SENDING]).exists()
    return bool(matched_after) and not pending


def evening(args, papers: dict, rng: random.Random, work: Path) -> dict:
    from lab_portal.celery import app
    from lab_portal.tests.stand_ins import TelegramServer
    from papers.tests.arxiv_server import ArxivServer

    delays = random.Random(args.seed + 1)
    with ArxivServer(page_delay=lambda: delays.uniform(1, 3)) as arxiv, TelegramServer() as telegram:
        arxiv.serve_entries(papers["earlier"])
        queue = f"bench-push-{os.getpid()}"
        env = {
            **os.environ,
            # As in production; no mail is sent (everyone has a Telegram chat).
            "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "EMAIL_URL": "smtp://127.0.0.1:25",
            "LOG_LEVEL": "WARNING", "ARXIV_API_URL": arxiv.url, "ARXIV_CATEGORIES": " ".join(LAB),
            "ARXIV_REQUEST_SPACING": "3", "ARXIV_PAGE_SIZE": "1000",
            "TELEGRAM_API_BASE": telegram.base, "TELEGRAM_BOT_TOKEN": telegram.token,
        }  # fmt: skip
        # The worker's clock: the first round falls 20 s before 20:00 in New York, once it is up.
        lead = 45.0
        first_round = time.time() + lead
        offset = (EVENING - timedelta(seconds=20)).timestamp() - first_round
        worker = start_worker(args, offset=offset, queue=queue, events=work / "events.jsonl",
                              log=work / "worker.log", env=env)  # fmt: skip
        try:
            if time.time() > first_round:
                sys.exit("The worker took longer than 45 s to start; try again on a quieter machine.")
            # arXiv announces between two rounds of the watcher.
            after = rng.uniform(0, WATCH_EVERY)
            announced = datetime.fromtimestamp(first_round + 20 + after, UTC)
            arxiv.announce(papers["tonight"], at=announced)
            rounds = 0
            deadline = time.monotonic() + 20 * 60
            while True:
                time.sleep(max(0.0, first_round + rounds * WATCH_EVERY - time.time()))
                app.send_task("papers.watch_announcement", queue=queue)
                rounds += 1
                if rounds > 3 and finished(work / "events.jsonl"):
                    break
                if time.monotonic() > deadline:
                    sys.exit(f"Not finished after 20 minutes; the worker's log: {work / 'worker.log'}")
            return {
                "announced": announced.timestamp(),
                "after_eight": after,
                "telegram": list(telegram.arrivals),
                "arxiv": list(arxiv.arrivals),
                "events": events(work / "events.jsonl"),
            }
        finally:
            worker.terminate()
            worker.wait(timeout=60)


def report(args, seen: dict) -> bool:
    from lab_portal.models import Delivery
    from papers.models import FetchRun, Notification

    run = FetchRun.objects.latest()
    # Everything on this machine's monotonic clock, on which the worker's and the stand-ins' notes
    # are taken; only the announcement, set on the wall clock, is converted.
    announced = seen["announced"] + time.monotonic() - time.time()
    notes = seen["events"]
    [(fetch_start, fetch_end)] = attempts(notes, "papers.fetch_new_papers")
    [(train_start, train_end)] = attempts(notes, "papers.train_recommendations")
    (match_start, _match_end), *_, (again_start, again_end) = attempts(notes, "papers.match_watch_rules")
    handed = min(start for start, _end in attempts(notes, "lab_portal.send_delivery"))
    sent = sorted(arrival.at for arrival in seen["telegram"] if arrival.text)
    first, last = sent[0] - announced, sent[-1] - announced
    requests = sorted(seen["arxiv"], key=lambda arrival: arrival.at)
    probes = [arrival for arrival in requests if arrival.params.get("max_results") == "1"]
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    deliveries = Counter(Delivery.objects.values_list("state", flat=True))
    # The fixed schedule from the same timings: at 20:30 the whole window, training, then matching
    # and sending.
    old_first = 30 * 60 - seen["after_eight"] + (fetch_end - fetch_start) + (train_end - train_start)
    old_first += sent[0] - match_start
    old_last = old_first + (sent[-1] - sent[0])
    ok = first <= TARGET_FIRST and last <= TARGET_LAST and len(sent) == deliveries.get("sent", 0)

    print(
        f"{args.papers} new papers in {len(LAB)} categories (and {run.unchanged_count} read again in the "
        f"overlap), {args.people} people, {args.rules} rules: {len(sent)} messages "
        f"({Notification.objects.count()} notifications; deliveries {dict(deliveries)})."
    )
    print(
        f"arXiv: {len(requests)} requests ({len(probes)} of one result to watch, {run.pages} pages of up "
        f"to 1,000), 1 to 3 s each, spacing kept (closest two {min(gaps):.2f} s apart). Announced at "
        f"20:00:{seen['after_eight']:04.1f} New York time; a watcher round every {WATCH_EVERY} s; worker "
        f"concurrency {args.concurrency}."
    )
    verdict = "ok" if ok else "MISSED"
    rows = [
        (
            "this code",
            f"{first:9.1f} s{last:9.1f} s   target ≤ {TARGET_FIRST} s / ≤ {TARGET_LAST} s: {verdict}",
        ),
        ("  detect (until the run starts)", f"{fetch_start - announced:9.1f} s"),
        ("  fetch (new papers stored)", f"{match_start - fetch_start:9.1f} s"),
        ("  match (first message queued)", f"{handed - match_start:9.1f} s"),
        (
            "  send (first in Telegram)",
            f"{sent[0] - handed:9.1f} s   all {len(sent)} in {sent[-1] - sent[0]:.1f} s",
        ),
        ("old fixed schedule (20:30)", f"{old_first:9.1f} s{old_last:9.1f} s   (from this run's timings)"),
    ]
    print(f"{'':34}{'first':>11}{'last':>11}")
    for label, figures in rows:
        print(f"{label:34}{figures}")
    spacing = statistics.median(b - a for a, b in itertools.pairwise(sent)) if len(sent) > 1 else 0.0
    print(
        f"Besides: the whole window read in {fetch_end - fetch_start:.1f} s, training "
        f"{train_end - train_start:.1f} s, matching again {again_end - again_start:.1f} s; median gap "
        f"between two messages {spacing * 1000:.1f} ms."
    )
    return ok


def main() -> None:
    args = parse_args()
    if args.worker:
        run_worker(args)
        return
    url = os.environ.get("DATABASE_URL", "").strip()
    if urlsplit(url).scheme not in POSTGRES_SCHEMES or not os.environ.get("REDIS_URL"):
        sys.exit(
            "bench/push_latency.py needs DATABASE_URL to name a PostgreSQL server (it creates and drops\n"
            "its own database there) and REDIS_URL (the broker and the request spacing), e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\\n"
            "  REDIS_URL=redis://127.0.0.1:6379/6 .venv/bin/python bench/push_latency.py"
        )
    name = f"lab_portal_bench_push_{os.getpid()}"
    create_database(url, name)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="lab_portal_bench_push_"))
    ok = False
    try:
        os.environ["DATABASE_URL"] = with_database(url, name)
        os.environ["DJANGO_SETTINGS_MODULE"] = "lab_portal.settings"
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        rng = random.Random(args.seed)
        began = time.monotonic()
        papers = build_papers(args, rng)
        build_lab(args, papers, rng)
        print(f"Built the lab in {time.monotonic() - began:.0f} s; waiting for the announcement…", flush=True)
        seen = evening(args, papers, rng, work)
        ok = report(args, seen)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        drop_database(url, name)
        print(f"Dropped database {name}; the worker's log and task times are in {work}.")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
