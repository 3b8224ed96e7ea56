"""The fetch service against a local server that answers like arXiv's query API."""

import itertools
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import arxiv
import pytest
from django.utils import timezone

from papers.fetching import (
    ArxivClient,
    daily_window,
    fetch,
    read_page,
    reserve_slot,
    search_for,
    start_daily_run,
)
from papers.models import FetchRun, Paper
from papers.tests.arxiv_server import (
    ERROR_400,
    NO_RESULTS,
    OLD_STYLE_ID,
    OLDER_FORMAT,
    TESTING_PAGES,
    ArxivServer,
    Reply,
    entries,
    feed,
    recording,
    revised,
    truncated,
    without_pdf_link,
)
from papers.tests.conftest import spaced

ROOT = Path(__file__).resolve().parents[2]
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def server(settings):
    with ArxivServer() as running:
        running.configure(settings)
        yield running


def run_fetch(*, categories=("cs.SE",), since=LONG_AGO, until=None, kind=FetchRun.Kind.BACKFILL, **options):
    run = FetchRun.objects.create(kind=kind)
    return fetch(categories=list(categories), since=since, until=until or timezone.now(), run=run, **options)


def stored_ids() -> list[str]:
    return sorted(Paper.objects.values_list("arxiv_id", flat=True))


def test_fetch_stores_every_page(db, server):
    server.serve_pages(*TESTING_PAGES)

    run = run_fetch()

    assert run.status == FetchRun.Status.SUCCEEDED
    assert (run.pages, run.total, run.new_count, run.updated_count, run.unchanged_count) == (6, 60, 60, 0, 0)
    assert [arrival.start for arrival in server.arrivals] == [0, 10, 20, 30, 40, 50]
    assert Paper.objects.count() == 60
    assert run.finished_at is not None and run.error == ""


def test_fetch_asks_for_the_categories_in_the_window_oldest_first(db, server):
    server.serve_pages(NO_RESULTS)

    run_fetch(
        categories=["cs.CV", "cs.CL"],
        since=datetime(2026, 6, 29, 18, 0, 59, tzinfo=UTC),
        until=datetime(2026, 7, 1, 9, 5, tzinfo=UTC),
    )

    [arrival] = server.arrivals
    assert arrival.query == "(cat:cs.CV OR cat:cs.CL) AND lastUpdatedDate:[202606291800 TO 202607010905]"
    assert (arrival.params["sortBy"], arrival.params["sortOrder"]) == ("lastUpdatedDate", "ascending")
    assert arrival.params["start"] == "0" and arrival.params["max_results"] == "10"
    assert arrival.user_agent.startswith("lab-portal")


def test_fetch_converts_entries_into_papers(db, server):
    server.serve_pages(*TESTING_PAGES)

    run_fetch()

    paper = Paper.objects.get(arxiv_id="2005.14124")
    assert paper.version == 2
    assert paper.title == "Active Fuzzing for Testing and Securing Cyber-Physical Systems"
    assert paper.primary_category == "cs.SE"
    assert paper.categories == ["cs.SE", "cs.CR", "cs.LG"]
    assert paper.published == datetime(2020, 5, 28, 16, 19, 50, tzinfo=UTC)
    assert paper.updated == datetime(2020, 7, 16, 8, 15, 48, tzinfo=UTC)
    assert paper.pdf_url == "https://arxiv.org/pdf/2005.14124v2"
    assert paper.versions == [{"version": 2, "updated": "2020-07-16T08:15:48+00:00"}]
    first = Paper.objects.get(arxiv_id="2202.12139")
    assert first.authors == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.journal_ref.startswith("Artificial Intelligence in Software Testing @ 2022 IEEE")


def test_fetch_overlapping_windows_store_each_paper_once(db, server):
    server.serve_entries(entries(*TESTING_PAGES))

    first = run_fetch(since=datetime(2020, 1, 1, tzinfo=UTC), until=datetime(2022, 1, 1, tzinfo=UTC))
    second = run_fetch(since=datetime(2021, 1, 1, tzinfo=UTC), until=datetime(2023, 1, 1, tzinfo=UTC))

    assert (first.new_count, first.unchanged_count) == (11, 0)
    # 2021's seven cs.SE papers were in both windows; 2022 brought four more.
    assert (second.new_count, second.updated_count, second.unchanged_count) == (4, 0, 7)
    assert Paper.objects.count() == 15
    assert Paper.objects.filter(updated__year=2021).count() == 7


def test_fetch_same_window_twice_counts_everything_unchanged(db, server):
    server.serve_entries(entries(*TESTING_PAGES))
    run_fetch()

    again = run_fetch()

    assert (again.pages, again.new_count, again.updated_count, again.unchanged_count) == (5, 0, 0, 45)
    assert Paper.objects.count() == 45


def test_fetch_newer_version_updates_the_paper_and_keeps_its_first_version(db, server):
    [v2] = entries(OLDER_FORMAT)
    v1 = revised(
        v2, version=1, updated="2011-11-08T18:48:36Z", title="Quantum Criticality on a Bethe Lattice"
    )
    server.serve_entries([v1])
    run_fetch(categories=["cond-mat.str-el"])
    server.serve_entries([v2])

    run = run_fetch(categories=["cond-mat.str-el"])

    paper = Paper.objects.get(arxiv_id="1111.2011")
    assert (run.new_count, run.updated_count) == (0, 1)
    assert paper.version == 2
    assert (
        paper.title
        == "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert paper.published == datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)
    assert paper.updated == datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert paper.versions == [
        {"version": 1, "updated": "2011-11-08T18:48:36+00:00"},
        {"version": 2, "updated": "2012-04-02T12:38:54+00:00"},
    ]
    assert paper.pdf_url == "https://arxiv.org/pdf/1111.2011v2"
    assert paper.first_announced < paper.last_announced


def test_fetch_reads_the_older_wire_format(db, server):
    server.serve_pages(OLDER_FORMAT)

    run_fetch()

    paper = Paper.objects.get()
    assert (paper.arxiv_id, paper.version) == ("1111.2011", 2)
    assert (
        paper.title
        == "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert paper.abstract.startswith("Theoretical description of anisotropic systems")
    assert paper.authors == ["James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic"]
    assert paper.doi == "10.1103/PhysRevB.85.115117"
    assert paper.comment == "8 pages, 3 figures. Published version"
    assert paper.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert paper.primary_category == "cond-mat.str-el"
    # The older format links over http; stored as https, so the newer format finds it unchanged.
    assert paper.pdf_url == "https://arxiv.org/pdf/1111.2011v2"


def test_fetch_stores_old_style_ids_and_author_names_without_affiliations(db, server):
    server.serve_pages(OLD_STYLE_ID)

    run_fetch(categories=["astro-ph"])

    paper = Paper.objects.get()
    assert (paper.arxiv_id, paper.version, paper.versioned_id) == (
        "astro-ph/0601001",
        1,
        "astro-ph/0601001v1",
    )
    assert paper.authors == ["Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"]
    assert paper.categories == ["astro-ph"]
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.comment.startswith("62 pages including 16 figures and 9 tables.")
    assert paper.pdf_url == "https://arxiv.org/pdf/astro-ph/0601001v1"


def test_fetch_builds_the_pdf_link_when_the_feed_has_none(db, server):
    [entry] = entries(OLD_STYLE_ID)
    server.serve_entries([without_pdf_link(entry)])

    run_fetch(categories=["astro-ph"])

    assert Paper.objects.get().pdf_url == "https://arxiv.org/pdf/astro-ph/0601001v1"


def test_fetch_with_no_results_succeeds_empty(db, server):
    server.serve_pages(NO_RESULTS)

    run = run_fetch()

    assert (run.status, run.pages, run.stored) == (FetchRun.Status.SUCCEEDED, 0, 0)
    assert len(server.arrivals) == 1


def test_fetch_retries_an_empty_page_in_the_middle(db, server):
    server.serve_pages(*TESTING_PAGES)
    server.fail(10, feed([], total=60, start=10))

    run = run_fetch()

    assert (run.status, run.new_count) == (FetchRun.Status.SUCCEEDED, 60)
    assert [arrival.start for arrival in server.arrivals] == [0, 10, 10, 20, 30, 40, 50]


def test_fetch_bad_request_fails_with_arxivs_message_without_retrying(db, server):
    server.serve_pages(*TESTING_PAGES)
    server.fail(0, recording(ERROR_400))

    run = run_fetch()

    assert run.status == FetchRun.Status.FAILED
    assert run.error == "page 1 (start=0) was refused by arXiv (HTTP 400): incorrect id format for abc"
    assert len(server.arrivals) == 1
    assert Paper.objects.count() == 0


def test_fetch_error_entry_in_the_older_style_fails_with_arxivs_message(db, server):
    server.serve_pages(*TESTING_PAGES)
    server.fail(10, Reply(body=recording(ERROR_400).body, status=200))

    run = run_fetch()

    assert run.status == FetchRun.Status.FAILED
    assert run.error == "page 2 (start=10) was refused by arXiv: incorrect id format for abc"
    assert Paper.objects.count() == 10


def test_fetch_waits_as_long_as_retry_after_says_then_succeeds(db, server, slots):
    server.serve_pages(*TESTING_PAGES)
    server.fail(10, Reply(b"Service Unavailable", status=503, headers={"Retry-After": "1"}))

    run = run_fetch()

    assert (run.status, run.new_count) == (FetchRun.Status.SUCCEEDED, 60)
    assert [arrival.start for arrival in server.arrivals] == [0, 10, 10, 20, 30, 40, 50]
    # Spacing is off here: the one pause is the second arXiv asked for, not the backoff's 0.01.
    assert slots.slept == [1.0]


def test_fetch_gives_up_at_once_when_arxiv_asks_for_a_long_wait(db, server):
    server.serve_pages(*TESTING_PAGES)
    server.fail(0, Reply(b"Service Unavailable", status=503, headers={"Retry-After": "3600"}))

    run = run_fetch()

    assert run.status == FetchRun.Status.FAILED
    assert run.error == "page 1 (start=0) failed with HTTP 503; arXiv asks to wait 3600 s"
    assert len(server.arrivals) == 1


@pytest.mark.parametrize("status", [429, 500, 502])
def test_fetch_retries_busy_and_server_errors(db, server, status):
    server.serve_pages(*TESTING_PAGES)
    server.fail(0, Reply(b"busy", status=status), Reply(b"busy", status=status))

    run = run_fetch()

    assert (run.status, run.new_count) == (FetchRun.Status.SUCCEEDED, 60)
    assert [arrival.start for arrival in server.arrivals][:3] == [0, 0, 0]


def test_fetch_gives_up_after_the_last_retry(db, server):
    server.serve_pages(*TESTING_PAGES)
    server.fail(20, *[Reply(b"down", status=503)] * 4)

    run = run_fetch()

    assert run.status == FetchRun.Status.FAILED
    assert run.error == "page 3 (start=20) failed with HTTP 503 (4 tries)"
    assert run.new_count == 20


def test_fetch_times_out_a_hanging_request_and_retries(db, server, settings, caplog):
    settings.ARXIV_TIMEOUT = 0.3
    server.serve_pages(*TESTING_PAGES)
    server.fail(0, Reply(recording(TESTING_PAGES[0]).body, delay=1.5))

    run = run_fetch()

    assert (run.status, run.new_count) == (FetchRun.Status.SUCCEEDED, 60)
    # Had the client waited out the hang, the first answer would have been whole and never asked again.
    assert [arrival.start for arrival in server.arrivals][:2] == [0, 0]
    retries = [record.getMessage() for record in caplog.records if "retrying" in record.getMessage()]
    assert [message.split(";")[0] for message in retries] == ["arXiv page timed out after 0.3 s"]


def test_fetch_unreachable_server_fails_the_run(db, settings):
    settings.ARXIV_RETRIES, settings.ARXIV_RETRY_BACKOFF, settings.ARXIV_REQUEST_SPACING = 1, 0.01, 0
    with ArxivServer() as gone:
        url = gone.url

    run = run_fetch(api_url=url)

    assert run.status == FetchRun.Status.FAILED
    assert run.error == "page 1 (start=0) could not be fetched: [Errno 111] Connection refused (2 tries)"


MALFORMED = [
    (truncated(recording(TESTING_PAGES[2])), "is not valid XML: "),
    (Reply(b"<!DOCTYPE html><html><body><h1>Bad gateway</h1></body></html>"), "is not an Atom feed"),
    (
        Reply(recording(TESTING_PAGES[2]).body.replace(b"Testing", b"Testing & Debugging", 1)),
        "is not valid XML",
    ),
    # Well-formed, but five of the ten entries a page in the middle of the results must hold.
    (feed(entries(*TESTING_PAGES)[20:25], total=45, start=20, per_page=10), "holds 5 of the 10 entries"),
]
MALFORMED_IDS = ["truncated", "html", "unescaped-ampersand", "short"]


@pytest.mark.parametrize(("reply", "reason"), MALFORMED, ids=MALFORMED_IDS)
def test_fetch_malformed_page_is_retried_like_a_server_error(db, server, reply, reason):
    # A forgiving XML reader would recover from each of these without a word and store half a page.
    server.serve_entries(entries(*TESTING_PAGES))
    server.fail(20, reply, reply)

    run = run_fetch()

    assert (run.status, run.pages, run.new_count) == (FetchRun.Status.SUCCEEDED, 5, 45)
    assert [arrival.start for arrival in server.arrivals] == [0, 10, 20, 20, 20, 30, 40]


@pytest.mark.parametrize(("reply", "reason"), MALFORMED, ids=MALFORMED_IDS)
def test_fetch_page_malformed_on_every_try_fails_and_keeps_the_pages_before(db, server, reply, reason):
    server.serve_entries(entries(*TESTING_PAGES))
    server.fail(20, *[reply] * 4)

    run = run_fetch()

    assert run.status == FetchRun.Status.FAILED
    assert run.error.startswith(f"page 3 (start=20) {reason}")
    assert run.error.endswith("(4 tries)")
    assert (run.pages, run.new_count) == (2, 20)
    assert Paper.objects.count() == 20
    # Twenty cs.SE papers, oldest first: the twentieth was replaced on 28 January 2021.
    assert run.checkpoint == datetime(2021, 1, 28, 8, 55, 23, tzinfo=UTC)


def test_fetch_last_page_may_hold_fewer_entries_than_asked_for(db, server):
    server.serve_entries(entries(*TESTING_PAGES))

    run = run_fetch()

    assert (run.status, run.new_count) == (FetchRun.Status.SUCCEEDED, 45)
    assert [arrival.start for arrival in server.arrivals] == [0, 10, 20, 30, 40]


def test_daily_run_after_a_failure_resumes_from_its_checkpoint(db, server, settings):
    settings.ARXIV_CATEGORIES = ["cs.SE"]
    server.serve_entries(entries(*TESTING_PAGES))
    server.fail(20, *[truncated(recording(TESTING_PAGES[2]))] * 4)
    failed = run_fetch(kind=FetchRun.Kind.DAILY)

    resumed = start_daily_run()
    resumed = fetch(categories=resumed.categories, since=resumed.since, until=resumed.until, run=resumed)

    assert failed.status == FetchRun.Status.FAILED
    assert resumed.since == failed.checkpoint - timedelta(days=settings.ARXIV_OVERLAP_DAYS)
    assert resumed.fresh_since == failed.checkpoint
    assert server.arrivals[-1].query.startswith("(cat:cs.SE) AND lastUpdatedDate:[202101240855 TO ")
    # The two papers replaced in the overlap were stored already, and the one at the checkpoint's
    # minute is read in both windows; the other 25 are new.
    assert (resumed.status, resumed.new_count, resumed.unchanged_count) == (FetchRun.Status.SUCCEEDED, 25, 3)
    assert Paper.objects.count() == 45


def test_daily_run_failing_before_its_overlap_is_read_resumes_from_the_same_start(db, server, settings):
    settings.ARXIV_CATEGORIES = ["cs.SE"]
    server.serve_entries(entries(*TESTING_PAGES))
    reached = datetime(2021, 1, 1, tzinfo=UTC)
    FetchRun.objects.create(status=FetchRun.Status.SUCCEEDED, until=reached, checkpoint=reached)
    server.fail(10, *[Reply(b"down", status=503)] * 4)
    first = start_daily_run()
    first = fetch(categories=first.categories, since=first.since, until=first.until, run=first)

    again = start_daily_run()

    # The new papers it stored (from 2021 on) are past a gap the overlap was to fill.
    assert (first.status, first.new_count, first.checkpoint) == (FetchRun.Status.FAILED, 10, None)
    assert (again.since, again.fresh_since) == (first.since, reached)


def test_daily_window_first_run_looks_a_few_days_back(db, settings):
    now = datetime(2026, 7, 1, 0, 30, tzinfo=UTC)

    since, until = daily_window(now=now)

    assert until == now
    assert since == now - timedelta(days=3 + settings.ARXIV_OVERLAP_DAYS)


def test_daily_window_starts_from_the_latest_point_reached(db, settings):
    done = datetime(2026, 6, 29, 0, 30, tzinfo=UTC)
    FetchRun.objects.create(status=FetchRun.Status.SUCCEEDED, until=done)
    FetchRun.objects.create(status=FetchRun.Status.FAILED, checkpoint=done + timedelta(hours=20))
    FetchRun.objects.create(status=FetchRun.Status.FAILED, checkpoint=done - timedelta(days=9))
    FetchRun.objects.create(
        kind=FetchRun.Kind.BACKFILL, status=FetchRun.Status.SUCCEEDED, until=done + timedelta(days=1)
    )

    since, _ = daily_window(now=done + timedelta(days=2))

    assert since == done + timedelta(hours=20) - timedelta(days=settings.ARXIV_OVERLAP_DAYS)


def test_rate_limit_spaces_requests(db, server, settings, slots):
    settings.ARXIV_REQUEST_SPACING = 0.2
    server.serve_pages(*TESTING_PAGES[:4])

    run_fetch()

    assert len(server.arrivals) == len(slots.taken) == 4
    assert spaced(slots.gaps(), 0.2)
    # Each request went out only after sleeping until its slot.
    assert sorted(slots.slept) == slots.waits()


@pytest.mark.parametrize("shared", [False, True], ids=["one-process", "redis"])
def test_rate_limit_spaces_requests_of_two_fetches_at_once(server, settings, slots, request, shared):
    if shared:
        settings.REDIS_URL = request.getfixturevalue("redis_url")
    else:
        settings.REDIS_URL = ""
    settings.ARXIV_REQUEST_SPACING = 0.2
    server.serve_pages(*TESTING_PAGES[:3])

    def read_all(query: str):
        list(ArxivClient().pages(arxiv.Search(query=query)))

    threads = [threading.Thread(target=read_all, args=(query,)) for query in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(server.arrivals) == len(slots.taken) == 6
    assert {arrival.query for arrival in server.arrivals} == {"first", "second"}
    assert spaced(slots.gaps(), 0.2)
    assert sorted(slots.slept) == slots.waits()


SLOT = re.compile(r"arXiv request slot (\d+) ms")

# Each process says when it is ready and waits for the word to go, so a slow start-up on a busy
# machine cannot make one finish before the other begins; when done it prints the slots it was
# given, on Redis's clock, one a line.
PROCESS = """
import sys
import django
django.setup()
import arxiv
from papers import fetching
taken = []
reserve = fetching.reserve_slot
fetching.reserve_slot = lambda spacing: taken.append(reserve(spacing)) or taken[-1]
print("ready", flush=True)
sys.stdin.readline()
list(fetching.ArxivClient().pages(arxiv.Search(query=sys.argv[1])))
print("\\n".join(repr(slot.at) for slot in taken), flush=True)
"""


@pytest.mark.redis
def test_rate_limit_spaces_requests_across_processes(server, redis_url, settings):
    settings.REDIS_URL = redis_url
    server.serve_pages(*TESTING_PAGES[:3])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lab_portal.settings",
        "REDIS_URL": redis_url,
        "ARXIV_API_URL": server.url,
        "ARXIV_REQUEST_SPACING": "0.2",
        "ARXIV_PAGE_SIZE": "10",
        "LOG_LEVEL": "DEBUG",  # each process logs the slot it reserved
    }
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    processes = [
        subprocess.Popen([sys.executable, "-c", PROCESS, query], cwd=ROOT, env=env, **pipes)
        for query in ("first", "second")
    ]
    assert [process.stdout.readline() for process in processes] == ["ready\n", "ready\n"]
    held = reserve_slot(1)  # the lab's next request is a second away, whoever sends it

    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()

    given = {
        query: [float(line) for line in process.communicate(timeout=60)[0].split()]
        for query, process in zip(("first", "second"), processes, strict=True)
    }
    assert [process.returncode for process in processes] == [0, 0]
    assert len(server.arrivals) == 6
    assert [len(given["first"]), len(given["second"])] == [3, 3]
    schedule = sorted([*given["first"], *given["second"]])
    # Both read the lab-wide schedule: neither went before the slot held here, and no two of the
    # six requests, whichever process sent them, are closer than the spacing.
    assert schedule[0] >= held.at + 1 - 1e-6
    assert spaced([later - earlier for earlier, later in itertools.pairwise(schedule)], 0.2)


def test_search_for_names_the_window_in_utc_minutes():
    seoul = datetime(2026, 7, 1, 9, 30, tzinfo=UTC).astimezone(timezone.get_fixed_timezone(540))

    search = search_for(categories=["cs.CV"], since=seoul, until=seoul + timedelta(minutes=1, seconds=59))

    assert search.query == "(cat:cs.CV) AND lastUpdatedDate:[202607010930 TO 202607010931]"


def test_a_page_is_read_into_the_packages_public_results_whole():
    page = read_page(recording(OLD_STYLE_ID).body)

    [result] = page.results
    assert (page.total, page.per_page) == (1, 100)
    assert isinstance(result, arxiv.Result)
    assert (result.entry_id, result.get_short_id()) == (
        "http://arxiv.org/abs/astro-ph/0601001v1",
        "astro-ph/0601001v1",
    )
    assert [(author.name, author.affiliation) for author in result.authors] == [
        ("Andrew Gould", ["Ohio State"]),
        ("Susan Dorsher", ["Ohio State"]),
        ("B. Scott Gaudi", ["CfA"]),
        ("Andrzej Udalski", ["Warsaw University Observatory"]),
    ]
    assert result.pdf_url == "https://arxiv.org/pdf/astro-ph/0601001v1"
    assert [link.rel for link in result.links] == ["alternate", "related"]
    assert (result.primary_category, result.categories) == ("astro-ph", ["astro-ph"])
    assert result.published == result.updated == datetime(2006, 1, 2, 14, 57, 58, tzinfo=UTC)
    assert (result.doi, result.journal_ref) == (None, "ActaAstron.56:1-50,2006")
    assert result.title.startswith("Frequency of Hot Jupiters and Very Hot Jupiters")


def test_every_recorded_page_is_read_entry_for_entry():
    for name in [*TESTING_PAGES, OLDER_FORMAT, NO_RESULTS]:
        body = recording(name).body
        page = read_page(body)

        assert len(page.results) == len(entries(name)), name
        assert all(result.entry_id and result.title and result.authors for result in page.results), name


def test_the_request_names_the_search_as_arxivs_manual_does():
    client = ArxivClient(api_url="http://127.0.0.1:9/api/query", page_size=25)
    search = arxiv.Search(
        query="cat:cs.SE AND lastUpdatedDate:[202606010000 TO 202606020000]",
        sort_by=arxiv.SortCriterion.LastUpdatedDate,
        sort_order=arxiv.SortOrder.Ascending,
    )

    url = client.page_url(search, 50)

    assert url == (
        "http://127.0.0.1:9/api/query?search_query=cat%3Acs.SE+AND+lastUpdatedDate%3A%5B202606010000+TO+"
        "202606020000%5D&id_list=&sortBy=lastUpdatedDate&sortOrder=ascending&start=50&max_results=25"
    )
