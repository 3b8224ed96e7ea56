"""Nothing per request or per task reads the whole paper store: the author index, a run's own
papers, index-served previews and the dashboard, and the newer version winning a race."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from conftest import eventually
from papers.models import FetchRun, Notification, Paper, PaperAuthor, Recommendation, WatchRule, authored
from papers.recommend import authored_papers
from papers.services import upsert_papers
from papers.tests.factories import make_paper, record
from papers.watch import CompiledRule, notify_matches, papers_of_run, preview, preview_candidates

# The guards read PostgreSQL's plans and race PostgreSQL connections; SQLite is the quick start's.
pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans and locks")


def _explain(queryset) -> str:
    """The plan with sequential scans priced out: which indexes can serve the query at all
    (a test's tiny tables would otherwise be read whole, as they rightly are)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    return plan


def test_upsert_indexes_each_authors_readings_and_rewrites_them_with_the_paper(db):
    paper = make_paper(arxiv_id="2611.00001", authors=["Jung-Woo Ha", "Ada Lovelace"])

    rows = set(PaperAuthor.objects.filter(paper=paper).values_list("position", "surname", "initial", "given"))
    assert rows == {
        (0, "ha", "j", "jung woo"), (0, "jungwoo", "h", "ha"),
        (1, "lovelace", "a", "ada"), (1, "ada", "l", "lovelace"),
    }  # fmt: skip

    upsert_papers([record(arxiv_id="2611.00001", version=2, authors=["Grace Hopper"])])

    rows = set(PaperAuthor.objects.filter(paper=paper).values_list("position", "surname", "initial", "given"))
    assert rows == {(0, "hopper", "g", "grace"), (0, "grace", "h", "hopper")}


def test_authored_agrees_as_watch_rules_do_and_tells_close_names_apart(db):
    mine = make_paper(authors=["Jung-Woo Ha", "Ada Lovelace"])
    initials = make_paper(authors=["J.-W. Ha"])
    accented = make_paper(authors=["Há, Jungwoo"])
    make_paper(authors=["Jung-Hoon Ha"])  # another person
    make_paper(authors=["Wei Han"])

    found = authored({"me": ["Jung-Woo Ha"]})

    assert found == {"me": {mine.pk, initials.pk, accented.pk}}


def test_authored_is_decided_from_the_author_index_alone(db):
    mine = make_paper(authors=["Jung-Woo Ha"])
    make_paper(authors=["Jung-Hoon Ha"])  # the same key, told apart by the second given name
    Paper.objects.update(authors=[])  # what the index holds is all that is read

    assert authored({"me": ["J.-W. Ha"], "you": ["Ha, Jungwoo"]}) == {"me": {mine.pk}, "you": {mine.pk}}


def test_recommender_reads_a_persons_papers_through_the_index(researcher, django_assert_num_queries):
    researcher.arxiv_names = ["Ada Lovelace"]
    theirs = make_paper(authors=["Lovelace, A."])
    make_paper(authors=["Alan Turing"])

    with django_assert_num_queries(1):
        found = authored_papers([researcher])

    assert found == {researcher.pk: {theirs.pk}}
    plan = _explain(PaperAuthor.objects.agreeing(["Ada Lovelace"]))
    assert "paper_author_lookup" in plan


def test_author_page_lists_exact_spelling_through_the_index(db):
    make_paper(arxiv_id="2611.00001", authors=["Ada Lovelace"])
    make_paper(arxiv_id="2611.00002", authors=["A. Lovelace"])

    assert [p.arxiv_id for p in Paper.objects.by_author("Ada Lovelace")] == ["2611.00001"]
    assert "paper_author_lookup" in _explain(Paper.objects.by_author("Ada Lovelace"))


def test_matching_reads_exactly_the_runs_papers_not_a_concurrent_add_by_id(researcher):
    WatchRule.objects.create(person=researcher, name="Lovelace", authors=["Ada Lovelace"])
    daily = FetchRun.objects.create(
        kind=FetchRun.Kind.DAILY, started_at=timezone.now() - timedelta(minutes=1)
    )
    added = FetchRun.objects.create(kind=FetchRun.Kind.ADDED)
    first = make_paper(run=daily, authors=["Ada Lovelace"])
    # Another process adds a paper by id while the daily run is still storing its pages.
    make_paper(run=added, arxiv_id="1901.00001", authors=["Ada Lovelace"], day=timezone.localdate())
    second = make_paper(run=daily, authors=["Ada Lovelace", "Alan Turing"])

    created = notify_matches(papers_of_run(daily))

    assert set(papers_of_run(daily)) == {first, second}
    assert created == 2
    assert set(Notification.objects.values_list("paper__arxiv_id", flat=True)) == {
        first.arxiv_id,
        second.arxiv_id,
    }
    assert "papers_fetchrun_papers" in _explain(papers_of_run(daily))


def test_run_counts_a_rewrite_as_updated_and_records_it(db):
    run = FetchRun.objects.create(kind=FetchRun.Kind.BACKFILL)
    make_paper(arxiv_id="2611.00001")

    counts = upsert_papers([record(arxiv_id="2611.00001", version=2)], run=run)

    assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 0)
    assert list(run.papers.values_list("arxiv_id", flat=True)) == ["2611.00001"]


@pytest.mark.parametrize(
    "rule",
    [
        {"authors": ["Ada Lovelace"]},
        {"categories": ["cs.RO"]},
        {"query": "robots OR diffusion OR graph OR segmentation OR quantum"},
        {"min_recommendation": 0.5},
    ],
    ids=["author", "category", "five-keyword", "score"],
)
def test_preview_narrows_through_an_index(researcher, rule):
    compiled = CompiledRule.of(WatchRule(person=researcher, name="x", **rule))

    plan = _explain(preview_candidates(compiled, since=timezone.localdate() - timedelta(days=30)))

    # Authors and scores reach across the whole store, so their own index must serve them; words
    # and categories are read within the window's days, through the date or their own index.
    index = {"authors": "paper_author_lookup", "min_recommendation": "recommendation_ranking"}
    assert index.get(next(iter(rule)), "papers_paper") in plan, plan
    assert "Seq Scan on papers_paper" not in plan, plan


def test_preview_of_score_and_category_rules_counts_only_what_matches(researcher):
    today = timezone.localdate()
    liked = make_paper(day=today, categories=["cs.RO"])
    make_paper(day=today, categories=["cs.CV"])
    Recommendation.objects.create(person=researcher, paper=liked, score=0.8, day=today)

    by_score = preview(WatchRule(person=researcher, name="x", min_recommendation=0.5))
    by_category = preview(WatchRule(person=researcher, name="x", categories=["cs.RO"]))

    assert [p for p, _reason in by_score.matches] == [liked] and by_score.count == 1
    assert [p for p, _reason in by_category.matches] == [liked] and by_category.count == 1


def test_dashboard_finds_own_papers_and_interests_through_indexes(login, researcher):
    researcher.arxiv_names = ["J. Lovelace"]
    researcher.research_interests = "graph neural networks"
    researcher.save()
    day = timezone.localdate()
    mine = make_paper(day=day, authors=["Jane Lovelace"], title="Sheaves")
    topic = make_paper(day=day, title="Graph neural network pruning")
    make_paper(day=day, authors=["Ada Lovelace"], title="Engines")  # another Lovelace
    make_paper(day=day, title="Neural graph drawing")  # the words, not the phrase

    response = login(researcher).get("/")

    assert {p.pk for p in response.context["papers"]} == {mine.pk, topic.pk}
    plan = _explain(Paper.objects.announced_on(day).for_person(researcher))
    assert "Seq Scan" not in plan, plan


@pytest.mark.django_db(transaction=True)
def test_an_older_version_never_overwrites_a_newer_one_stored_meanwhile():
    make_paper(arxiv_id="2611.00009", version=1, title="First")
    done = {}

    def older_writer():
        # Reads version 1, then waits on the newer writer's row lock, then must keep version 3.
        done["counts"] = upsert_papers([record(arxiv_id="2611.00009", version=2, title="Second")])
        connections.close_all()

    from django.db import transaction

    with transaction.atomic():
        upsert_papers([record(arxiv_id="2611.00009", version=3, title="Third")])
        thread = threading.Thread(target=older_writer)
        thread.start()
        eventually(_someone_waits_for_a_lock, "the older writer to wait for the row")
    thread.join(30)

    paper = Paper.objects.get(arxiv_id="2611.00009")
    assert (paper.version, paper.title) == (3, "Third")
    assert (done["counts"].updated, done["counts"].unchanged) == (0, 1)
    assert set(PaperAuthor.objects.filter(paper=paper).values_list("position", flat=True)) == {0, 1}


@pytest.mark.django_db(transaction=True)
def test_two_writers_storing_a_new_paper_at_once_keep_the_higher_version():
    done = {}

    def older_writer():
        done["counts"] = upsert_papers([record(arxiv_id="2611.00010", version=1, title="First")])
        connections.close_all()

    from django.db import transaction

    with transaction.atomic():
        upsert_papers([record(arxiv_id="2611.00010", version=2, title="Second")])
        thread = threading.Thread(target=older_writer)
        thread.start()
        eventually(_someone_waits_for_a_lock, "the older writer to wait for the unique index")
    thread.join(30)

    paper = Paper.objects.get(arxiv_id="2611.00010")
    assert (paper.version, paper.title) == (2, "Second")
    assert (done["counts"].new, done["counts"].updated, done["counts"].unchanged) == (0, 0, 1)


def _someone_waits_for_a_lock() -> bool:
    with connections["default"].cursor() as cursor:
        # Inside a transaction the statistics views keep their first snapshot: take a new one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0
