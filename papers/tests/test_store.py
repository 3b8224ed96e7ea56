"""The paper store: upserts, identifiers and arXiv's calendar."""

import importlib
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from papers.models import FetchRun, Paper, PaperAuthor, announcement_day
from papers.services import parse_reference, upsert_papers
from papers.tasks import forget_run_papers
from papers.tests.factories import make_paper, record


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.01234", ("2401.01234", None)),
        ("arXiv:2401.01234v2", ("2401.01234", 2)),
        ("  ARXIV:2401.01234V3 ", ("2401.01234", 3)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("math.gt/0309136v1", ("math.GT/0309136", 1)),
        ("https://arxiv.org/abs/2401.01234v2", ("2401.01234", 2)),
        ("http://arxiv.org/pdf/2401.01234v1.pdf", ("2401.01234", 1)),
        ("https://export.arxiv.org/abs/hep-th/9901001", ("hep-th/9901001", None)),
        ("https://arxiv.org/pdf/2401.01234", ("2401.01234", None)),
    ],
)
def test_reference_parses_what_people_paste(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2401", "2401.123", "abc", "https://example.org/abs/2401.01234", "24010.1234"]
)
def test_reference_rejects_what_is_not_an_arxiv_id(text):
    with pytest.raises(ValueError):
        parse_reference(text)


@pytest.mark.parametrize(
    ("moment", "listed"),
    [
        (datetime(2026, 6, 29, 17, 0, tzinfo=UTC), date(2026, 6, 30)),  # Mon 13:00 EDT, before the cutoff
        (datetime(2026, 6, 29, 19, 0, tzinfo=UTC), date(2026, 7, 1)),  # Mon 15:00 EDT, after it
        (datetime(2026, 7, 2, 19, 0, tzinfo=UTC), date(2026, 7, 6)),  # Thu after the cutoff: Monday
        (datetime(2026, 7, 3, 17, 0, tzinfo=UTC), date(2026, 7, 6)),  # Fri before the cutoff: Monday
        (datetime(2026, 7, 4, 12, 0, tzinfo=UTC), date(2026, 7, 7)),  # Saturday: Tuesday
        (datetime(2026, 1, 12, 18, 30, tzinfo=UTC), date(2026, 1, 13)),  # Mon 13:30 EST, winter time
        (datetime(2026, 1, 12, 19, 30, tzinfo=UTC), date(2026, 1, 14)),  # Mon 14:30 EST
    ],
)
def test_announcement_day_follows_arxivs_cutoff_in_us_eastern_time(moment, listed):
    assert announcement_day(moment) == listed


def test_upsert_counts_new_then_unchanged(db):
    page = [record(), record()]

    first = upsert_papers(page)
    second = upsert_papers(page)

    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 2)
    assert Paper.objects.count() == 2


def test_upsert_newer_version_updates_the_row_and_keeps_first_publication(db):
    v1 = record(arxiv_id="2606.00001", title="Old title")
    upsert_papers([v1])
    later = datetime(2026, 7, 8, 12, tzinfo=UTC)
    v2 = record(arxiv_id="2606.00001", version=2, title="New  title", published=later, updated=later)

    counts = upsert_papers([v2])

    paper = Paper.objects.get(arxiv_id="2606.00001")
    assert counts.updated == 1
    assert paper.version == 2
    assert paper.title == "New title"
    assert paper.published == v1.published
    assert paper.first_announced == v1.first_announced
    assert paper.last_announced == announcement_day(later)
    assert [v["version"] for v in paper.versions] == [1, 2]
    assert paper.pdf_url == "https://arxiv.org/pdf/2606.00001v2"


def test_upsert_survives_a_paper_stored_by_someone_else_between_its_read_and_its_write(db):
    """New papers go in with a plain COPY; one stored meanwhile must not fail the page."""
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    rival = record(arxiv_id="2606.00010", title="Stored by another worker")
    page = [record(arxiv_id="2606.00010", title="From this page"), record(arxiv_id="2606.00011")]
    raced = []

    def store_rival_after_the_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not raced and sql.lstrip().startswith("SELECT") and "papers_paper" in sql:
            raced.append(sql)
            rival.as_paper().save()
        return result

    with connection.execute_wrapper(store_rival_after_the_read):
        counts = upsert_papers(page)

    assert raced
    assert counts.new == 2
    assert Paper.objects.count() == 2
    assert Paper.objects.get(arxiv_id="2606.00010").title == "From this page"


def test_upsert_ignores_an_older_version_arriving_late(db):
    upsert_papers([record(arxiv_id="2606.00002", version=3, title="Third")])

    counts = upsert_papers([record(arxiv_id="2606.00002", version=1, title="First")])

    assert counts.unchanged == 1
    assert Paper.objects.get(arxiv_id="2606.00002").title == "Third"


def test_upsert_keeps_the_newest_of_one_paper_named_twice_in_a_page(db):
    counts = upsert_papers(
        [record(arxiv_id="2606.00003", version=2), record(arxiv_id="2606.00003", version=1)]
    )

    assert counts.new == 1
    assert Paper.objects.get(arxiv_id="2606.00003").version == 2


def test_upsert_marks_withdrawn_papers(db):
    upsert_papers([record(arxiv_id="2606.00004", comment="This paper has been withdrawn by the author")])

    assert Paper.objects.get(arxiv_id="2606.00004").withdrawn


def test_load_demo_papers_stores_real_records_once(db):
    from django.core.management import call_command

    call_command("load_demo_papers")
    call_command("load_demo_papers")

    assert Paper.objects.count() == 300
    assert Paper.objects.latest_day() == date(2026, 7, 1)


def test_papers_of_runs_older_than_two_weeks_are_forgotten_and_the_rest_kept(db):
    now = timezone.now()
    done = {"kind": FetchRun.Kind.DAILY, "status": FetchRun.Status.SUCCEEDED}
    old = FetchRun.objects.create(**done, finished_at=now - timedelta(days=15))
    recent = FetchRun.objects.create(**done, finished_at=now - timedelta(days=13))
    running = FetchRun.objects.create(kind=FetchRun.Kind.BACKFILL, started_at=now - timedelta(days=20))
    for n, run in enumerate([old, recent, running, old]):
        make_paper(arxiv_id=f"2611.0000{n}", run=run)

    first = forget_run_papers.delay().get()
    again = forget_run_papers.delay().get()

    assert (first, again) == ({"forgotten": 2}, {"forgotten": 0})
    assert not old.papers.exists()
    assert list(recent.papers.values_list("arxiv_id", flat=True)) == ["2611.00001"]
    assert list(running.papers.values_list("arxiv_id", flat=True)) == ["2611.00002"]
    assert Paper.objects.count() == 4


def test_migration_gives_the_authors_already_indexed_their_given_names(db):
    from django.apps import apps

    indexed = make_paper(arxiv_id="2611.00001", authors=["Jung-Woo Ha", "Ada Lovelace"])
    unindexed = make_paper(arxiv_id="2611.00002", authors=["Grace Hopper"])
    expected = set(PaperAuthor.objects.filter(paper=indexed).values_list("position", "surname", "given"))
    PaperAuthor.objects.update(given="")  # as the rows stood before the migration
    PaperAuthor.objects.filter(paper=unindexed).delete()  # a store filled by COPY afterwards
    migration = importlib.import_module("papers.migrations.0015_author_given_names")

    migration.fill_given_names(apps, None)
    migration.fill_given_names(apps, None)  # and once more: nothing changes

    rows = set(PaperAuthor.objects.filter(paper=indexed).values_list("position", "surname", "given"))
    assert rows == expected and (0, "ha", "jung woo") in rows
    assert not PaperAuthor.objects.filter(paper=unindexed).exists()
