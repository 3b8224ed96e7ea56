"""OAI-PMH backfills against a small repository on 127.0.0.1 that answers from recorded arXiv responses.

`arxivsync__47001.xml` is a real ListRecords page cut down to 30 records (its resumption token kept);
the recorded exchange is arXiv's 503 "Retry after 10 seconds" followed by a page in the `arXiv`
format. The harvest's waits are recorded instead of slept, so the tests stay fast.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from papers import oai
from papers.models import FetchRun, Paper

DATA = Path(__file__).parent / "data" / "oai"
PAGE_ONE = "arxivsync__47001.xml"
TOKEN = "496549|47001"
RECORDING = "oai-pmh__oaipmh-listrecords---should-list-identifiers-from-arxiv.json"
# Between them, these cover every paper in the first page that has a computer-science category.
LAB = [
    "cs.AI", "cs.CC", "cs.CE", "cs.CL", "cs.CR", "cs.CY",
    "cs.DM", "cs.DS", "cs.IR", "cs.IT", "cs.OH", "cs.PL",
]  # fmt: skip
PAGE_ONE_CS = [
    "0801.3678", "0801.3680", "0801.3690", "0801.3697", "0801.3702", "0801.3703", "0801.3710", "0801.3711",
    "0801.3714", "0801.3715", "0801.3773", "0801.3790", "0801.3802", "0801.3817", "0801.3837", "0801.3841",
    "0801.3853", "0801.3864", "0801.3871", "0801.3875", "0801.3878", "0801.3880", "0801.3908", "0801.3912",
]  # fmt: skip
PAGE_ONE_OTHERS = ["0801.3673", "0801.3674", "0801.3675", "0801.3676", "0801.3677", "0801.3679"]


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=lambda: {"Content-Type": "text/xml; charset=utf-8"})
    delay: float = 0.0
    drop: bool = False  # close the connection without a word


def page(name: str) -> Answer:
    return Answer(body=(DATA / name).read_bytes())


def recorded() -> list[Answer]:
    """The recorded exchange: arXiv's 503 with Retry-After, then the page."""
    answers = []
    for exchange in json.loads((DATA / RECORDING).read_text()):
        raw = exchange["rawHeaders"]
        headers = dict(zip(raw[::2], raw[1::2], strict=True))
        for hop in ("Content-Length", "Transfer-Encoding", "Connection"):
            headers.pop(hop, None)
        answers.append(Answer(status=exchange["status"], body=exchange["response"].encode(), headers=headers))
    return answers


def recorded_query() -> dict:
    """The query arXiv was asked in the recording."""
    path = json.loads((DATA / RECORDING).read_text())[0]["path"]
    return {key: values[0] for key, values in parse_qs(urlsplit(path).query).items()}


class Repository:
    """What the repository answers next: per set for a first request, per resumption token after."""

    def __init__(self, url: str):
        self.url = url
        self.answers: dict[str, list[Answer]] = {}
        self.requests: list[dict] = []

    def answer(self, key: str, *answers: Answer) -> None:
        self.answers[key] = list(answers)

    def next_answer(self, key: str) -> Answer:
        answers = self.answers.get(key)
        if not answers:
            return Answer(status=404, body=b"not arranged", headers={"Content-Type": "text/plain"})
        # The last answer repeats, so a harvest can run twice against the same arrangement.
        return answers.pop(0) if len(answers) > 1 else answers[0]


class RepositoryHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
        repository = self.server.repository
        repository.requests.append(query)
        answer = repository.next_answer(query.get("resumptionToken") or query.get("set", ""))
        time.sleep(answer.delay)
        if answer.drop:
            return
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the harvest stopped waiting for a delayed answer, as it should

    def log_message(self, format, *args):
        pass


@pytest.fixture
def repository():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RepositoryHandler)
    server.repository = Repository(f"http://127.0.0.1:{server.server_port}/oai2")
    # A short poll keeps shutdown quick: the default half second would be most of each test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server.repository
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def naps(settings, monkeypatch) -> list[float]:
    """The waits the harvest asks for, recorded instead of slept."""
    settings.ARXIV_REQUEST_SPACING = 0
    settings.ARXIV_RETRIES = 2
    settings.ARXIV_TIMEOUT = 5
    waits = []
    monkeypatch.setattr(oai, "sleep", waits.append)
    return waits


@pytest.fixture
def two_pages(repository) -> Repository:
    repository.answer("cs", page(PAGE_ONE))
    repository.answer(TOKEN, recorded()[1])
    return repository


def make_run() -> FetchRun:
    return FetchRun.objects.create(kind=FetchRun.Kind.OAI, categories=LAB)


def harvest(repository, *, categories=LAB, since=date(2008, 1, 1), until=None, progress=None) -> FetchRun:
    run = make_run()
    oai.harvest(
        since=since, until=until, categories=categories, base_url=repository.url, run=run, progress=progress
    )
    run.refresh_from_db()
    return run


def stored_ids() -> list[str]:
    return sorted(Paper.objects.values_list("arxiv_id", flat=True))


def test_harvest_follows_resumption_token_and_stores_both_pages(db, two_pages):
    calls = []

    run = harvest(two_pages, progress=lambda done, total: calls.append((done, total)))

    assert run.status == FetchRun.Status.SUCCEEDED
    assert run.error == ""
    assert stored_ids() == sorted([*PAGE_ONE_CS, "1412.8544"])
    assert (run.new_count, run.updated_count, run.unchanged_count, run.pages) == (25, 0, 0, 2)
    assert run.total == 907096  # completeListSize of the first page
    assert calls == [(30, 907096), (32, 907096)]
    assert run.finished_at is not None
    # No `until`: the store reaches as far as the repository's clock when it first answered.
    assert run.checkpoint == datetime(2014, 1, 16, 10, 33, 29, tzinfo=UTC)
    assert two_pages.requests == [
        {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2008-01-01", "set": "cs"},
        {"verb": "ListRecords", "resumptionToken": TOKEN},
    ]


def test_harvest_stores_fields_of_the_arxiv_format(db, two_pages):
    harvest(two_pages)

    paper = Paper.objects.get(arxiv_id="1412.8544")
    assert paper.title == "A Kochen-Specker system has at least 22 vectors (extended abstract)"
    assert paper.authors == ["Sander Uijlen", "Bas Westerbaan"]
    assert (paper.primary_category, paper.categories) == ("cs.DM", ["cs.DM"])
    assert paper.published == paper.updated == datetime(2014, 12, 29, tzinfo=UTC)
    assert paper.version == 1
    assert paper.comment == "In Proceedings QPL 2014, arXiv:1412.8102"
    assert paper.journal_ref == "EPTCS 172, 2014, pp. 154-164"
    assert paper.doi == "10.4204/EPTCS.172.11"
    assert paper.pdf_url == "https://arxiv.org/pdf/1412.8544v1"
    assert paper.abstract.startswith("At the heart of the Conway-Kochen Free Will theorem")
    assert paper.abstract.endswith("improve the lower bound to 22.")


def test_harvest_links_the_latest_pdf_of_a_revised_paper_in_the_arxiv_format(db, repository):
    body = recorded()[1].body.replace(
        b"<created>2014-12-29</created>", b"<created>2014-12-29</created><updated>2015-01-02</updated>"
    )
    repository.answer("cs", Answer(body=body))

    harvest(repository, categories=["cs.DM"])

    paper = Paper.objects.get(arxiv_id="1412.8544")
    assert paper.published == datetime(2014, 12, 29, tzinfo=UTC)
    assert paper.updated == datetime(2015, 1, 2, tzinfo=UTC)
    # The format does not say which version that is: v1 is all it proves.
    assert paper.version == 1
    assert paper.versions == [{"version": 1, "updated": "2014-12-29T00:00:00+00:00"}]
    assert paper.pdf_url == "https://arxiv.org/pdf/1412.8544"


def test_harvest_stores_versions_and_authors_of_the_arxiv_raw_format(db, two_pages):
    harvest(two_pages)

    septoku = Paper.objects.get(arxiv_id="0801.3697")
    assert septoku.title == "The mathematics of Septoku"
    assert septoku.version == 4
    assert septoku.published == datetime(2008, 1, 24, 16, 4, 22, tzinfo=UTC)
    assert septoku.updated == datetime(2013, 12, 16, 4, 54, 1, tzinfo=UTC)
    assert [entry["version"] for entry in septoku.versions] == [1, 2, 3, 4]
    assert (septoku.primary_category, septoku.categories) == ("math.CO", ["math.CO", "cs.DM", "math.GM"])
    assert septoku.pdf_url == "https://arxiv.org/pdf/0801.3697v4"
    assert Paper.objects.get(arxiv_id="0801.3702").authors == [
        "Tim Holliday", "Andrea J. Goldsmith", "H. Vincent Poor",
    ]  # fmt: skip
    assert Paper.objects.get(arxiv_id="0801.3711").authors == [
        "Michael Baumann", "Vincent Daanen", "Antoine Leroy", "Jocelyne Troccaz",
    ]  # fmt: skip


def test_harvest_waits_as_told_by_503_retry_after_then_succeeds(db, repository, naps):
    repository.answer("cs", *recorded())

    run = harvest(repository, categories=["cs.DM"], since=date(2015, 1, 1), until=date(2015, 1, 3))

    assert naps == [10.0]
    assert repository.requests == [{**recorded_query(), "set": "cs"}] * 2
    assert run.status == FetchRun.Status.SUCCEEDED
    assert stored_ids() == ["1412.8544"]  # hep-th/9504118 is outside the lab's categories
    assert (run.new_count, run.pages) == (1, 1)
    assert run.checkpoint == datetime(2015, 1, 4, tzinfo=UTC)
    assert (run.since, run.until) == (datetime(2015, 1, 1, tzinfo=UTC), datetime(2015, 1, 4, tzinfo=UTC))
    assert run.categories == ["cs.DM"]


def test_harvest_bounds_a_long_retry_after(db, repository, naps):
    repository.answer("cs", Answer(status=503, headers={"Retry-After": "86400"}), recorded()[1])

    run = harvest(repository, categories=["cs.DM"])

    assert naps == [oai.MAX_RETRY_AFTER]
    assert run.status == FetchRun.Status.SUCCEEDED


def test_harvest_retries_a_dropped_connection_and_a_timeout(db, repository, naps, settings):
    settings.ARXIV_TIMEOUT = 0.2
    repository.answer("cs", Answer(drop=True), Answer(delay=0.4, body=b"late"), recorded()[1])

    run = harvest(repository, categories=["cs.DM"])

    assert naps == [1, 2]
    assert len(repository.requests) == 3
    assert run.status == FetchRun.Status.SUCCEEDED
    assert stored_ids() == ["1412.8544"]


def test_harvest_gives_up_after_the_configured_retries(db, repository, naps):
    repository.answer("cs", Answer(status=500, body=b"Internal Server Error"))

    run = harvest(repository, categories=["cs.DM"])

    assert run.status == FetchRun.Status.FAILED
    assert run.error == "set cs, page 1: HTTP 500 (gave up after 3 attempts)"
    assert len(repository.requests) == 3
    assert naps == [1, 2]
    assert run.finished_at is not None
    assert run.checkpoint is None


def test_harvest_no_records_match_succeeds_with_nothing_stored(db, repository):
    repository.answer("cs", page("arXivOAIHarvester__ErrorResponseNoRecordsMatch.xml"))

    run = harvest(repository)

    assert run.status == FetchRun.Status.SUCCEEDED
    assert run.error == ""
    assert (run.new_count, run.updated_count, run.unchanged_count, run.total) == (0, 0, 0, 0)
    assert Paper.objects.count() == 0


def test_harvest_bad_argument_fails_the_run_with_the_oai_error(db, repository):
    repository.answer("cs", page("arXivOAIHarvester__ErrorResponseBadArgument.xml"))

    run = harvest(repository)

    assert run.status == FetchRun.Status.FAILED
    assert run.error == (
        "set cs, page 1: OAI-PMH error badArgument: Verb 'ListRecords', illegal argument 'identifier'."
    )
    assert run.finished_at is not None
    assert Paper.objects.count() == 0


def test_harvest_bad_resumption_token_fails_the_run_and_keeps_the_first_page(db, repository):
    repository.answer("cs", page(PAGE_ONE))
    repository.answer(TOKEN, page("arXivOAIHarvester__ErrorResponseBadResumptionToken.xml"))

    run = harvest(repository)

    assert run.status == FetchRun.Status.FAILED
    assert run.error.startswith("set cs, page 2: OAI-PMH error badResumptionToken: The resumptionToken")
    assert stored_ids() == PAGE_ONE_CS
    assert (run.new_count, run.pages) == (24, 1)
    assert run.checkpoint is None


def test_harvest_malformed_page_two_fails_the_run_and_keeps_the_first_page(db, repository):
    body = recorded()[1].body
    repository.answer("cs", page(PAGE_ONE))
    repository.answer(TOKEN, Answer(body=body[: len(body) // 2]))

    run = harvest(repository)

    assert run.status == FetchRun.Status.FAILED
    assert run.error.startswith("set cs, page 2: malformed XML: ")
    assert stored_ids() == PAGE_ONE_CS
    assert run.new_count == 24


def test_harvest_record_without_title_fails_the_run_naming_it(db, repository):
    body = recorded()[1].body
    start, end = body.index(b"<title>"), body.index(b"</title>") + len(b"</title>")
    repository.answer("cs", Answer(body=body[:start] + body[end:]))

    run = harvest(repository, categories=["cs.DM"])

    assert run.status == FetchRun.Status.FAILED
    assert run.error == "set cs, page 1: malformed record oai:arXiv.org:1412.8544: no <title>"
    assert Paper.objects.count() == 0


def test_harvest_twice_counts_everything_unchanged_the_second_time(db, two_pages):
    harvest(two_pages)

    again = harvest(two_pages)

    assert again.status == FetchRun.Status.SUCCEEDED
    assert (again.new_count, again.updated_count, again.unchanged_count) == (0, 0, 25)
    assert Paper.objects.count() == 25


def test_harvest_skips_records_outside_the_lab_categories(db, two_pages):
    run = harvest(two_pages, categories=["cs.IT"])

    assert stored_ids() == ["0801.3702", "0801.3703", "0801.3773", "0801.3837", "0801.3878", "0801.3880"]
    assert not Paper.objects.filter(arxiv_id__in=PAGE_ONE_OTHERS).exists()
    assert run.new_count == 6


def test_harvest_over_two_sets_stores_a_paper_listed_in_both_once(db, repository):
    repository.answer("cs", recorded()[1])
    repository.answer("physics:hep-th", recorded()[1])

    run = harvest(repository, categories=["cs.DM", "hep-th"])

    assert [request["set"] for request in repository.requests] == ["cs", "physics:hep-th"]
    assert stored_ids() == ["1412.8544", "hep-th/9504118"]
    assert (run.new_count, run.unchanged_count, run.pages) == (2, 0, 2)


@pytest.mark.parametrize(
    ("categories", "sets"),
    [
        (["cs.CV", "cs.CL", "eess.AS", "stat.ML"], ["cs", "eess", "stat"]),
        (["astro-ph.CO", "hep-th", "cond-mat.soft", "math-ph", "physics.optics"], [
            "physics:astro-ph", "physics:hep-th", "physics:cond-mat", "physics:math-ph", "physics:physics",
        ]),
        (["math.AG", "q-bio.NC", "q-fin.ST", "econ.EM"], ["math", "q-bio", "q-fin", "econ"]),
    ],
)  # fmt: skip
def test_sets_for_maps_categories_to_archive_sets(categories, sets):
    assert oai.sets_for(categories) == sets
