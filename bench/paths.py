"""The paths that used to read the whole paper store, at the store bench/scale.py builds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/paths.py \
        --database lp_scale_bench [--papers 1000000]

Builds the store as bench/scale.py does (or reuses it), then adds a lab (60 people named as real
authors of the store, 200 for the recommender), measures through Django's test client and the
real services, and removes what it added. Each figure is printed beside its target; run it on a
store of 74,728 papers and on one of a million to see the growth. See bench/README.md.
"""

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale

TARGETS = {
    "round page": 100,
    "hand edit": 100,
    "publish": 1000,
    "preview, author only": 100,
    "preview, category only": 100,
    "preview, score only": 100,
    "preview, five keywords": 100,
    "dashboard, five rules": 50,
    "recommendation run, 200 people": 60_000,
    "its author step": 1000,
    "matching 1,500 papers x 500 rules": 2000,
}
MARK = "bench-paths"  # every row this script adds carries it, so it can remove them all
SET_ASIDE = {"people": set(), "rules": set()}  # what the script deactivated, to restore
NEW_DAY_PAPERS = 1500


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="lp_scale_bench")
    parser.add_argument("--papers", type=int, default=1_000_000, help="rows to build (default 1,000,000)")
    parser.add_argument("--corpus", type=Path, default=scale.DEFAULT_CORPUS)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each page (default 20)")
    return parser.parse_args()


def p95(values):
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


class Results:
    def __init__(self):
        self.rows = []

    def add(self, label, times, queries=None):
        self.rows.append((label, statistics.median(times), p95(times), queries))

    def print(self, total):
        print(f"\n{total:,} papers\n")
        print(f"{'path':<36} {'p50 ms':>9} {'p95 ms':>9} {'target':>8} {'queries':>8}")
        ok = True
        for label, median, high, queries in self.rows:
            target = TARGETS[label]
            met = high <= target
            ok &= met
            counts = "/".join(map(str, sorted(queries))) if queries else ""
            verdict = "met" if met else "MISSED"
            print(f"{label:<36} {median:>9.1f} {high:>9.1f} {target:>8,} {counts:>8} {verdict}")
        return ok


def timed(call, repeat):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], set()
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
        queries.add(len(captured.captured_queries))
    return times, queries


def ok(response):
    assert response.status_code in (200, 302), response.status_code
    return response


def prolific_names(count, rng):
    """Real authors of the store with a few papers each (what a lab's researchers look like)."""
    from papers.models import Paper

    names = Counter()
    for authors in Paper.objects.order_by("-first_announced").values_list("authors", flat=True)[:20000]:
        names.update(a for a in authors[:8] if len(a.split()) >= 2)
    pool = [name for name, n in names.items() if 3 <= n <= 40]
    return rng.sample(pool, count)


def make_lab(rng):
    from lab_portal.models import User

    names = prolific_names(200, rng)
    people = [
        User(username=f"{MARK}-{n}", display_name=name, arxiv_names=[name], research_interests="")
        for n, name in enumerate(names)
    ]
    User.objects.bulk_create(people)
    people = list(User.objects.filter(username__startswith=MARK).order_by("pk"))
    lead = people[0]
    User.objects.filter(pk=lead.pk).update(role=User.Role.LEAD)
    lead.refresh_from_db()
    return lead, people


def make_round(lead, people, rng):
    from papers.models import Paper
    from reviews.models import Deadline, Draft, DraftAuthor, ReviewRound, Venue
    from reviews.rounds import open_round

    venue = Venue.objects.create(name=f"{MARK} venue", short_name=MARK[:20])
    deadline = Deadline.objects.create(
        venue=venue, year=2027, paper_deadline=datetime(2027, 5, 1, 12, tzinfo=scale_tz())
    )
    sources = list(Paper.objects.order_by("-first_announced").values_list("title", "abstract")[:400])
    drafts = []
    for n in range(40):
        title, abstract = rng.choice(sources)
        draft = Draft.objects.create(
            title=f"{title} ({MARK} {n})", abstract=abstract, deadline=deadline,
            status=Draft.Status.IN_REVIEW, review_by=date_in(30), created_by=people[n % 60],
        )  # fmt: skip
        DraftAuthor.objects.create(draft=draft, person=people[(n * 7) % 60], order=0)
        drafts.append(draft)
    round = open_round(
        by=lead, drafts=drafts, name=f"{MARK} round", reviewers_per_draft=3, max_load=4, min_load=0,
        due=date_in(30),
    )  # fmt: skip
    return round, ReviewRound


def scale_tz():
    from datetime import UTC

    return UTC


def date_in(days):
    from django.utils import timezone

    return timezone.localdate() + timedelta(days=days)


def only_lab(people):
    """The candidates of a review round are every active person: limit them to the 60 of the lab."""
    from lab_portal.models import User

    others = User.objects.exclude(pk__in=[p.pk for p in people[:60]]).filter(is_active=True)
    others = others.exclude(username__startswith=MARK)
    SET_ASIDE["people"].update(others.values_list("pk", flat=True))
    User.objects.exclude(pk__in=[p.pk for p in people[:60]]).update(is_active=False)


def measure_round(results, client, lead, people, rng, repeat):
    from django.urls import reverse

    from reviews.models import RoundPlan

    round, _ = make_round(lead, people, rng)
    plan_times, _q = timed(lambda: ok(client.post(reverse("reviews:round-solve", args=[round.pk]))), 3)
    print(
        f"planning the round (affinities once, then the solver): p50 {statistics.median(plan_times):,.0f} ms"
    )
    url = round.get_absolute_url()
    client.get(url)
    times, queries = timed(lambda: ok(client.get(url)), repeat)
    results.add("round page", times, queries)
    pairs = RoundPlan.objects.get(round=round, lead=lead).pairs
    draft, reviewer = pairs[0]
    remove = reverse("reviews:round-remove-pair", args=[round.pk])
    add = reverse("reviews:round-add-pair", args=[round.pk])
    edits = [remove, add] * (repeat // 2)
    times, queries = timed(
        lambda: ok(client.post(edits.pop(), {"draft": draft, "reviewer": reviewer})), repeat
    )
    results.add("hand edit", times, queries)
    times, queries = timed(lambda: ok(client.post(reverse("reviews:round-publish", args=[round.pk]))), 1)
    results.add("publish", times, queries)


def measure_previews(results, client, person, repeat):
    from papers.models import Paper, Recommendation

    day = Paper.objects.latest_day()
    recent = list(
        Paper.objects.filter(first_announced__gte=day - timedelta(days=20)).values_list("pk", flat=True)
    )
    Recommendation.objects.bulk_create(
        [Recommendation(person=person, paper_id=pk, score=random.random(), day=day) for pk in recent[:3000]],
        ignore_conflicts=True,
    )
    rules = {
        "preview, author only": {"authors": person.arxiv_names[0]},
        "preview, category only": {"categories": "cs.RO"},
        "preview, score only": {"min_recommendation": "0.8"},
        "preview, five keywords": {"query": "diffusion OR transformer OR graph OR robot OR segmentation"},
    }
    for label, fields in rules.items():
        data = {"name": "x", "query": "", "authors": "", "categories": "", **fields}
        client.get("/papers/watch/preview/", data, headers={"HX-Request": "true"})
        times, queries = timed(
            lambda data=data: ok(client.get("/papers/watch/preview/", data, headers={"HX-Request": "true"})),
            repeat,
        )
        results.add(label, times, queries)


def measure_dashboard(results, client, person, repeat):
    from lab_portal.models import User
    from papers.models import WatchRule

    User.objects.filter(pk=person.pk).update(research_interests="diffusion models, graph neural networks")
    for n, fields in enumerate(
        [{"authors": person.arxiv_names}, {"categories": ["cs.RO"]}, {"query": "diffusion"},
         {"min_recommendation": 0.8}, {"query": '"large language models" AND reasoning'}]
    ):  # fmt: skip
        WatchRule.objects.create(person=person, name=f"{MARK} {n}", **fields)
    client.get("/")
    times, queries = timed(lambda: ok(client.get("/")), repeat)
    results.add("dashboard, five rules", times, queries)


def new_day(rng):
    """1,500 new papers on the day after the latest, stored by a daily run through upsert_papers."""
    import gzip
    import json

    from papers.models import FetchRun, Paper
    from papers.services import record_from_corpus, upsert_papers

    day = Paper.objects.latest_day() + timedelta(days=1)
    with gzip.open(scale.DEFAULT_CORPUS, "rt", encoding="utf-8") as corpus:
        rows = [json.loads(line) for _, line in zip(range(20000), corpus, strict=False)]
    run = FetchRun.objects.create(kind=FetchRun.Kind.DAILY, categories=[MARK])
    records = []
    for n, row in enumerate(rng.sample(rows, NEW_DAY_PAPERS)):
        records.append(record_from_corpus({**row, "id": f"{row['id']}n{n}", "announced": [day.isoformat()]}))
    start = time.perf_counter()
    for page in range(0, len(records), 1000):
        upsert_papers(records[page : page + 1000], run=run)
    took = time.perf_counter() - start
    print(f"storing the day's {NEW_DAY_PAPERS:,} papers with the author index: {took:.1f} s")
    return run, day


def measure_recommend_and_match(results, people, rng):
    from lab_portal.models import User
    from papers import recommend, watch
    from papers.models import WatchRule

    run, day = new_day(rng)
    User.objects.filter(pk__in=[p.pk for p in people]).update(is_active=True)
    active = list(User.objects.active())
    start = time.perf_counter()
    recommend.authored_papers(active, None)
    author_step = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    summary = recommend.recommend_day(day)
    whole = (time.perf_counter() - start) * 1000
    print(f"recommendations: {summary}")
    results.add("recommendation run, 200 people", [whole])
    results.add("its author step", [author_step])
    import match  # bench/match.py: the lab's mix of keyword, phrase, author and category rules

    rows = match.load_papers(20000)
    rules = [
        WatchRule(
            person=people[n % len(people)], name=f"{MARK} m{n}", query=r.query, authors=r.authors,
            categories=r.categories, in_chat=False, in_digest=True,
        )
        for n, r in enumerate(match.make_rules(rows, 500, rng))
    ]  # fmt: skip
    WatchRule.objects.bulk_create(rules)
    others = WatchRule.objects.exclude(name__startswith=MARK).filter(active=True)
    SET_ASIDE["rules"].update(others.values_list("pk", flat=True))
    others.update(active=False)
    start = time.perf_counter()
    created = watch.notify_matches(watch.papers_of_run(run))
    results.add("matching 1,500 papers x 500 rules", [(time.perf_counter() - start) * 1000])
    print(f"matching: {created:,} notifications")


def clean_up():
    from lab_portal.models import User
    from papers.models import FetchRun, Paper, WatchRule
    from reviews.models import Draft, Venue

    Draft.objects.filter(title__contains=MARK).delete()
    Venue.objects.filter(name__startswith=MARK).delete()
    User.objects.filter(username__startswith=MARK).delete()
    FetchRun.objects.filter(categories=[MARK]).delete()
    Paper.objects.filter(arxiv_id__regex=r"n[0-9]+$").delete()
    User.objects.filter(pk__in=SET_ASIDE["people"]).update(is_active=True)
    WatchRule.objects.filter(pk__in=SET_ASIDE["rules"]).update(active=True)


def main() -> int:
    args = parse_args()
    sys.path.insert(0, str(scale.ROOT))
    scale.prepare_database(args)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lab_portal.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    settings.DEBUG = False
    scale.build(args)
    import time_machine

    from papers.models import Paper

    clean_up()  # a run stopped half-way left its rows
    rng = random.Random(14)
    total = Paper.objects.count()
    latest = Paper.objects.latest_day()
    results = Results()
    # The lab's "today" is the day after the store's newest listing, as on a live portal.
    with time_machine.travel(datetime.combine(latest + timedelta(days=1), clock(9)), tick=True):
        try:
            lead, people = make_lab(rng)
            client = Client()
            client.force_login(lead)
            only_lab(people)
            measure_round(results, client, lead, people, rng, args.repeat)
            researcher = people[1]
            client.force_login(researcher)
            measure_previews(results, client, researcher, args.repeat)
            measure_dashboard(results, client, researcher, args.repeat)
            measure_recommend_and_match(results, people, rng)
        finally:
            clean_up()
    return 0 if results.print(total) else 1


if __name__ == "__main__":
    sys.exit(main())
