"""`manage.py fetch_arxiv` against a local server that answers like arXiv's query API."""

import importlib.util
import json
import re
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from papers.models import FetchRun, Paper
from papers.tests import arxiv_server
from papers.tests.arxiv_server import (
    ERROR_400,
    TESTING_PAGES,
    ArxivServer,
    Reply,
    categories_of,
    dated,
    entries,
    recording,
    truncated,
)
from papers.tests.conftest import spaced

SUMMARY = re.compile(
    r"^Fetched (\d+) papers? in (\d+) pages?: (\d+) new, (\d+) updated, (\d+) unchanged \(\d+\.\d s\)\.$"
)
NOT_A_DATE = "is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)."
OAI_EXCHANGE = "oai-pmh__oaipmh-listrecords---should-list-identifiers-from-arxiv.json"


@pytest.fixture
def server(settings):
    with ArxivServer() as running:
        running.configure(settings)
        yield running


def fetch_arxiv(*args: str) -> list[str]:
    out = StringIO()
    call_command("fetch_arxiv", *args, stdout=out)
    return out.getvalue().splitlines()


def test_fetch_arxiv_shows_progress_and_a_summary(db, server):
    server.serve_entries(entries(*TESTING_PAGES))

    lines = fetch_arxiv("--category", "cs.SE", "--since", "2000-01-01", "--api-url", server.url)

    assert lines[0].startswith("Fetching cs.SE updated 2000-01-01 00:00 to ")
    assert lines[1:6] == [
        "[######                        ] 10/45",
        "[#############                 ] 20/45",
        "[####################          ] 30/45",
        "[##########################    ] 40/45",
        "[##############################] 45/45",
    ]
    assert SUMMARY.match(lines[-1]).groups() == ("45", "5", "45", "0", "0")
    assert len(lines) == 7
    run = FetchRun.objects.get()
    assert (run.kind, run.status, run.categories) == ("backfill", "succeeded", ["cs.SE"])


def test_fetch_arxiv_second_run_adds_nothing(db, server):
    server.serve_entries(entries(*TESTING_PAGES))
    fetch_arxiv("--category", "cs.SE", "--since", "2000-01-01")

    lines = fetch_arxiv("--category", "cs.SE", "--since", "2000-01-01")

    assert SUMMARY.match(lines[-1]).groups() == ("45", "5", "0", "0", "45")
    assert Paper.objects.count() == 45


def test_fetch_arxiv_window_and_categories_reach_the_query(db, server):
    server.serve_entries(entries(*TESTING_PAGES))

    lines = fetch_arxiv(
        "--category", "cs.LG", "--category", "cs.CL", "--since", "2025-01-01T06:30", "--until", "2025-12-31"
    )

    assert [arrival.query for arrival in server.arrivals] == [
        "(cat:cs.LG OR cat:cs.CL) AND lastUpdatedDate:[202501010630 TO 202601010000]"
    ]
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ["2507.10541"]
    assert SUMMARY.match(lines[-1]).groups() == ("1", "1", "1", "0", "0")


def test_fetch_arxiv_delay_spaces_requests(db, server, slots):
    server.serve_pages(*TESTING_PAGES[:3])

    fetch_arxiv("--since", "2026-01-01", "--delay", "0.2")

    assert len(server.arrivals) == len(slots.taken) == 3
    assert spaced(slots.gaps(), 0.2)
    assert sorted(slots.slept) == slots.waits()


def test_fetch_arxiv_without_a_window_is_the_daily_fetch_new_announcement_first(db, server, settings):
    settings.ARXIV_CATEGORIES = ["cs.SE", "cs.LG"]
    now = timezone.now()
    recorded = [entry for entry in entries(*TESTING_PAGES) if categories_of(entry) & {"cs.SE", "cs.LG"}]
    server.serve_entries(
        [dated(entry, now - timedelta(days=5, minutes=n)) for n, entry in enumerate(recorded[:20])]
        + [dated(entry, now - timedelta(hours=20, minutes=n)) for n, entry in enumerate(recorded[20:45])]
    )

    lines = fetch_arxiv()

    run = FetchRun.objects.get()
    assert (run.kind, run.status, run.categories) == ("daily", "succeeded", ["cs.LG", "cs.SE"])
    assert run.until - run.since == timedelta(days=3 + settings.ARXIV_OVERLAP_DAYS)
    assert [arrival.query.split(":[")[1][:12] for arrival in server.arrivals] == [
        *[run.fresh_since.strftime("%Y%m%d%H%M")] * 3, *[run.since.strftime("%Y%m%d%H%M")] * 2
    ]  # fmt: skip
    # The new announcement's 25 papers first, then the overlap's 20.
    assert lines[1:6] == [
        "[############                  ] 10/25",
        "[########################      ] 20/25",
        "[##############################] 25/25",
        "[#######################       ] 35/45",
        "[##############################] 45/45",
    ]
    assert SUMMARY.match(lines[-1]).groups() == ("45", "5", "45", "0", "0")


def test_fetch_arxiv_failed_run_keeps_its_pages_and_exits_with_arxivs_message(db, server):
    server.serve_pages(*TESTING_PAGES)
    server.fail(20, recording(ERROR_400))
    out = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("fetch_arxiv", "--since", "2026-01-01", stdout=out)

    run = FetchRun.objects.get()
    assert str(failure.value) == (
        f"Fetch run {run.pk} failed: page 3 (start=20) was refused by arXiv (HTTP 400): incorrect id format "
        f"for abc (kept 20 papers; the next run resumes from 2025-08-12 14:08 UTC)."
    )
    assert SUMMARY.match(out.getvalue().splitlines()[-1]).groups() == ("20", "2", "20", "0", "0")
    assert Paper.objects.count() == 20


def test_fetch_arxiv_malformed_page_names_the_page(db, server):
    server.serve_pages(*TESTING_PAGES)
    server.fail(10, *[truncated(recording(TESTING_PAGES[1]))] * 4)

    with pytest.raises(CommandError, match=r"failed: page 2 \(start=10\) is not valid XML: .* \(4 tries\)"):
        fetch_arxiv("--since", "2026-01-01")

    assert Paper.objects.count() == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-45"], f"--since '2026-13-45' {NOT_A_DATE}"),
        (["--since", "yesterday"], f"--since 'yesterday' {NOT_A_DATE}"),
        (["--since", "2026-07-01", "--until", "2026-02-30"], f"--until '2026-02-30' {NOT_A_DATE}"),
        (["--since", "2026-07-02", "--until", "2026-07-01"], "The window is empty: 2026-07-02 00:00 is not"),
        (["--delay", "-1"], "--delay must be zero or more seconds."),
        (["--oai"], "--oai needs --from DATE"),
        (["--oai", "--from", "2026-07-02", "--until", "2026-07-01"], "The window is empty: 2026-07-02 is"),
        (["--from", "2026-07-01"], "--from goes with --oai"),
    ],
)
def test_fetch_arxiv_rejects_bad_arguments_before_fetching(db, server, args, message):
    with pytest.raises(CommandError) as failure:
        fetch_arxiv(*args)

    assert str(failure.value).startswith(message)
    assert server.arrivals == []
    assert FetchRun.objects.count() == 0


def test_fetch_arxiv_refuses_while_a_daily_fetch_runs(db, server):
    FetchRun.objects.create(kind=FetchRun.Kind.DAILY)

    with pytest.raises(CommandError, match="A daily fetch is already running"):
        fetch_arxiv()

    assert server.arrivals == []


def test_fetch_arxiv_retries_a_busy_server(db, server):
    server.serve_pages(*TESTING_PAGES)
    server.fail(0, Reply(b"busy", status=503, headers={"Retry-After": "0"}))

    lines = fetch_arxiv("--since", "2026-01-01")

    assert SUMMARY.match(lines[-1]).groups() == ("60", "6", "60", "0", "0")


@pytest.mark.skipif(importlib.util.find_spec("papers.oai") is None, reason="papers/oai.py is not there")
def test_fetch_arxiv_oai_harvests_the_days_through_the_harvester(db, server):
    # arXiv's recorded answer to ListRecords for 1-3 January 2015: two papers, one in cs.DM.
    page = json.loads((Path(arxiv_server.__file__).parent / "data" / "oai" / OAI_EXCHANGE).read_text())[1]
    server.fail(0, Reply(page["response"].encode()))

    lines = fetch_arxiv("--oai", "--from", "2015-01-01", "--until", "2015-01-03", "--category", "cs.DM")

    [arrival] = server.arrivals
    assert arrival.params == {
        "verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs",
        "from": "2015-01-01", "until": "2015-01-03",
    }  # fmt: skip
    assert lines[0] == "Harvesting cs.DM from 2015-01-01 to 2015-01-03 over OAI-PMH"
    assert SUMMARY.match(lines[-1]).groups() == ("1", "1", "1", "0", "0")
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["1412.8544"]
    run = FetchRun.objects.get()
    assert (run.kind, run.status) == (FetchRun.Kind.OAI, FetchRun.Status.SUCCEEDED)
