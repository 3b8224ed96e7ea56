"""Fetching from arXiv's query API: one request per slot for the whole lab, our own retries,
strict pages, and every page stored as soon as it arrives.

The `arxiv` package gives the search (`arxiv.Search`) and the result (`arxiv.Result`), both
through their public API only. The request and the reading of the Atom page are this module's:
the package's own client has no timeout, knows neither Retry-After nor a lab-wide spacing, and
reads a page cut short as if it were whole, and the parts that would let us change that are
private names a minor release may rename.
"""

import functools
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from time import monotonic, sleep
from urllib.parse import urlencode

import arxiv
import redis
import requests
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from lxml import etree

from .models import Category, FetchRun, Paper
from .services import PaperRecord, parse_reference, upsert_papers

logger = logging.getLogger(__name__)

USER_AGENT = f"lab-portal (arxiv.py/{arxiv.__version__})"
ATOM = "{http://www.w3.org/2005/Atom}"
# The namespaces of arXiv's Atom pages (https://info.arxiv.org/help/api/user-manual.html).
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
SLOT_KEY = "arxiv:next-slot"
# How far back the very first daily run looks, before the overlap is added.
FIRST_RUN_DAYS = 3
# A longer Retry-After ends the run (the next one resumes) rather than holding a worker.
MAX_RETRY_AFTER = 15 * 60

Progress = Callable[[int, int], None]


class FetchError(Exception):
    """A page that could not be fetched or read; the message is what the run records."""


class MalformedPage(FetchError):
    """A page that arrived but cannot be all of what arXiv sent: retried like a server error."""


# Reserves the next free request slot on Redis's clock, so every process and host agrees: the
# caller waits until the slot, and the slot after it is `spacing` later. Returns the slot and the
# moment it was taken, in milliseconds.
_RESERVE_SLOT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now_ms then slot = now_ms end
local spacing = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + spacing, 'PX', slot - now_ms + spacing)
return {slot, now_ms}
"""

_local_lock = threading.Lock()
_local_next_slot = 0.0


@dataclass(frozen=True)
class Slot:
    """When a request to arXiv may go: `at` seconds on the lab-wide clock (Redis's, or this
    process's own without Redis), which is `wait` seconds after the slot was reserved."""

    at: float
    wait: float


@functools.cache
def _reserve_script(url: str):
    return redis.Redis.from_url(url).register_script(_RESERVE_SLOT)


def reserve_slot(spacing: float) -> Slot:
    """Take the lab's next free slot for a request to arXiv, `spacing` seconds after the last."""
    global _local_next_slot
    if settings.REDIS_URL:
        slot_ms, now_ms = _reserve_script(settings.REDIS_URL)(
            keys=[SLOT_KEY], args=[max(1, round(spacing * 1000))]
        )
        # Which slot each request took, on the clock every host shares: what to read when arXiv
        # says the lab asked too often.
        logger.debug("arXiv request slot %d ms (Redis clock), %d ms from now", slot_ms, slot_ms - now_ms)
        return Slot(at=slot_ms / 1000, wait=(slot_ms - now_ms) / 1000)
    # Without Redis (development, eager tasks) one process is all there is.
    with _local_lock:
        now = monotonic()
        slot = max(now, _local_next_slot)
        _local_next_slot = slot + spacing
    return Slot(at=slot, wait=slot - now)


def wait_for_slot(spacing: float) -> Slot | None:
    """Sleep until this process may send the lab's next request to arXiv."""
    if spacing <= 0:
        return None
    slot = reserve_slot(spacing)
    if slot.wait > 0:
        sleep(slot.wait)
    return slot


class SpacedSession(requests.Session):
    """The arXiv client's session: every request waits for a lab-wide slot and has a timeout."""

    def __init__(self, *, spacing: float, timeout: float):
        super().__init__()
        self.spacing = spacing
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        wait_for_slot(self.spacing)
        return super().request(method, url, *args, **kwargs)


@dataclass
class Feed:
    """One page of arXiv's answer: what its header says and the entries it holds."""

    total: int
    per_page: int
    results: list[arxiv.Result]


@dataclass
class Page:
    number: int
    start: int
    total: int
    results: list[arxiv.Result]

    @property
    def end(self) -> int:
        return self.start + len(self.results)


class ArxivClient:
    """arXiv's query API with the lab's spacing, retries that know arXiv's answers, strict pages."""

    def __init__(
        self,
        *,
        api_url: str | None = None,
        page_size: int | None = None,
        spacing: float | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
    ):
        self.api_url = api_url or settings.ARXIV_API_URL
        self.page_size = page_size or settings.ARXIV_PAGE_SIZE
        self.session = SpacedSession(
            spacing=settings.ARXIV_REQUEST_SPACING if spacing is None else spacing,
            timeout=timeout or settings.ARXIV_TIMEOUT,
        )
        self.retries = settings.ARXIV_RETRIES if retries is None else retries
        self.backoff = settings.ARXIV_RETRY_BACKOFF if backoff is None else backoff

    def page_url(self, search: arxiv.Search, start: int) -> str:
        """The request for one page of `search`, with the parameters arXiv's manual documents."""
        query = {
            "search_query": search.query,
            "id_list": ",".join(search.id_list),
            "sortBy": search.sort_by.value,
            "sortOrder": search.sort_order.value,
            "start": str(start),
            "max_results": str(self.page_size),
        }
        return f"{self.api_url}{'&' if '?' in self.api_url else '?'}{urlencode(query)}"

    def fetch_page(self, url: str, *, first_page: bool = True, start: int = 0) -> Feed:
        for attempt in range(self.retries + 1):
            wait = self.backoff * 2**attempt
            try:
                response = self.session.get(url, headers={"user-agent": USER_AGENT})
            except requests.Timeout:
                problem = f"timed out after {self.session.timeout:g} s"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"could not be fetched: {_reason(exc)}"
            else:
                status = response.status_code
                if status == 200:
                    # A page cut short or garbled on the way is a passing fault, like a 5xx: asked for again.
                    try:
                        feed = read_page(response.content)
                    except MalformedPage as exc:
                        problem = str(exc)
                    else:
                        problem = _incomplete(feed, start=start, first_page=first_page, asked=self.page_size)
                        if not problem:
                            return feed
                elif status == 429 or status >= 500:
                    problem = f"failed with HTTP {status}"
                    wait = _retry_after(response, default=wait)
                else:
                    message = _error_message(response.content) or response.reason
                    raise FetchError(f"was refused by arXiv (HTTP {status}): {message}")
            if attempt == self.retries:
                break
            logger.warning("arXiv page %s; retrying in %.1f s: %s", problem, wait, url)
            sleep(wait)
        raise FetchError(f"{problem} ({self.retries + 1} tries)")

    def pages(self, search: arxiv.Search, *, start: int = 0) -> Iterator[Page]:
        """Every page of the search's results, one request each, until arXiv's total is reached."""
        number = 1
        while True:
            try:
                feed = self.fetch_page(self.page_url(search, start), first_page=number == 1, start=start)
            except FetchError as exc:
                raise FetchError(f"page {number} (start={start}) {exc}") from exc
            if not feed.results:
                return
            page = Page(number=number, start=start, total=feed.total, results=feed.results)
            yield page
            if page.end >= page.total:
                return
            start, number = page.end, number + 1


def _incomplete(feed: Feed, *, start: int, first_page: bool, asked: int) -> str:
    """Why a well-formed page is less than arXiv meant to send, or "" when it is whole."""
    if not feed.results:
        # arXiv now and then serves an empty page in the middle of a result set.
        return "" if first_page and feed.total == 0 else "came back empty"
    # Only the last page of a result set may hold fewer entries than were asked for.
    promised = min(feed.per_page or asked, asked, feed.total - start)
    if len(feed.results) < promised:
        return f"holds {len(feed.results)} of the {promised} entries it promises"
    return ""


def read_page(content: bytes) -> Feed:
    """Read a page of results, refusing anything that is not all of what arXiv sent."""
    try:
        root = etree.fromstring(content, _strict_parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedPage(f"is not valid XML: {exc}") from None
    if root.tag != f"{ATOM}feed":
        raise MalformedPage(f"is not an Atom feed: its root element is {root.tag}")
    # The older API answered errors with HTTP 200 and an error entry.
    if message := _error_entry(root):
        raise FetchError(f"was refused by arXiv: {message}")
    results = [_result(entry) for entry in root.iterfind("atom:entry", NS)]
    if skipped := results.count(None):
        raise MalformedPage(f"has {skipped} entries without an id or dates")
    return Feed(
        total=_header_int(root, "totalResults"), per_page=_header_int(root, "itemsPerPage"), results=results
    )


def _header_int(root, name: str) -> int:
    text = (root.findtext(f"opensearch:{name}", namespaces=NS) or "").strip()
    return int(text) if text.isdigit() else 0


def _moment(text: str | None) -> datetime | None:
    """An Atom timestamp ("2026-06-01T17:59:46Z") as an aware UTC datetime; None if missing or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _result(entry) -> arxiv.Result | None:
    """One `<entry>` as the package's public `arxiv.Result`; None without an id or its dates."""
    entry_id = entry.findtext("atom:id", namespaces=NS)
    updated = _moment(entry.findtext("atom:updated", namespaces=NS))
    published = _moment(entry.findtext("atom:published", namespaces=NS))
    if not entry_id or updated is None or published is None:
        return None
    primary = entry.find("arxiv:primary_category", NS)
    return arxiv.Result(
        entry_id=entry_id,
        updated=updated,
        published=published,
        title=re.sub(r"\s+", " ", entry.findtext("atom:title", namespaces=NS) or ""),
        authors=[
            arxiv.Result.Author(
                name=author.findtext("atom:name", namespaces=NS) or "",
                affiliation=[a.text for a in author.iterfind("arxiv:affiliation", NS) if a.text is not None],
            )
            for author in entry.iterfind("atom:author", NS)
        ],
        summary=entry.findtext("atom:summary", namespaces=NS) or "",
        comment=entry.findtext("arxiv:comment", namespaces=NS) or None,
        journal_ref=entry.findtext("arxiv:journal_ref", namespaces=NS) or None,
        doi=entry.findtext("arxiv:doi", namespaces=NS) or None,
        primary_category=(primary.get("term") if primary is not None else "") or "",
        categories=[term for c in entry.iterfind("atom:category", NS) if (term := c.get("term")) is not None],
        links=[
            arxiv.Result.Link(
                href=link.get("href"),
                title=link.get("title"),
                rel=link.get("rel") or "",
                content_type=link.get("type"),
            )
            for link in entry.iterfind("atom:link", NS)
            if link.get("href") is not None
        ],
    )


def _strict_parser() -> etree.XMLParser:
    return etree.XMLParser(recover=False, resolve_entities=False, no_network=True)


def _error_entry(root) -> str:
    for entry in root.iterfind(f"{ATOM}entry"):
        if "/api/errors" in (entry.findtext(f"{ATOM}id") or ""):
            return " ".join((entry.findtext(f"{ATOM}summary") or "unknown error").split())
    return ""


def _error_message(content: bytes) -> str:
    try:
        return _error_entry(etree.fromstring(content, _strict_parser()))
    except etree.XMLSyntaxError:
        return ""


def _reason(exc: Exception) -> str:
    # requests wraps the socket's own words ("[Errno 111] Connection refused") in a long repr.
    match = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return match.group(0) if match else type(exc).__name__


def retry_after_seconds(value: str) -> float | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date; None if neither."""
    value = value.strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - timezone.now()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def _retry_after(response: requests.Response, *, default: float) -> float:
    seconds = retry_after_seconds(response.headers.get("Retry-After", ""))
    if seconds is None:
        return default
    if seconds > MAX_RETRY_AFTER:
        raise FetchError(f"failed with HTTP {response.status_code}; arXiv asks to wait {seconds:.0f} s")
    return seconds


def paper_record(result: arxiv.Result) -> PaperRecord:
    """One entry of a page as the paper store's record."""
    arxiv_id, version = parse_reference(result.get_short_id())
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version or 1,
        title=result.title,
        abstract=result.summary,
        authors=[" ".join(author.name.split()) for author in result.authors],
        categories=[code for code in [result.primary_category, *result.categories] if code],
        published=result.published,
        updated=result.updated,
        comment=" ".join((result.comment or "").split()),
        journal_ref=" ".join((result.journal_ref or "").split()),
        doi=(result.doi or "").strip(),
        # The older wire format links over http; the same paper must not look changed.
        pdf_url=(result.pdf_url or "").replace("http://arxiv.org/", "https://arxiv.org/"),
    )


def search_for(*, categories: list[str], since: datetime, until: datetime) -> arxiv.Search:
    """Everything in the categories submitted or replaced in the window, oldest first."""
    cats = " OR ".join(f"cat:{code}" for code in categories)
    window = f"lastUpdatedDate:[{_minute(since)} TO {_minute(until)}]"
    return arxiv.Search(
        query=f"({cats}) AND {window}",
        max_results=None,
        sort_by=arxiv.SortCriterion.LastUpdatedDate,
        sort_order=arxiv.SortOrder.Ascending,
    )


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M")


def newest_visible(*, categories: list[str], api_url: str | None = None) -> datetime | None:
    """The latest `updated` time arXiv shows in the categories: one request of one result, in the
    lab-wide spacing and without retries (the watcher asks again on its next round)."""
    client = ArxivClient(api_url=api_url, page_size=1, retries=0)
    search = arxiv.Search(
        query=" OR ".join(f"cat:{code}" for code in categories),
        max_results=1,
        sort_by=arxiv.SortCriterion.LastUpdatedDate,
        sort_order=arxiv.SortOrder.Descending,
    )
    page = next(client.pages(search), None)
    return page.results[0].updated if page else None


def fetch(
    *,
    categories: list[str],
    since: datetime,
    until: datetime,
    run: FetchRun,
    api_url: str | None = None,
    page_size: int | None = None,
    spacing: float | None = None,
    progress: Progress | None = None,
    on_fresh: Callable[[FetchRun], None] | None = None,
) -> FetchRun:
    """Fetch the window page by page into the paper store and finish `run`.

    Each page is stored in its own transaction, so a failure keeps every earlier page, and the
    run's checkpoint says where the next run can resume. A failed fetch is recorded on the run
    and returned, not raised.

    When `run.fresh_since` lies inside the window (a daily run), the new announcement after it is
    fetched first and `on_fresh(run)` is called as soon as it is stored; the overlap before it
    follows. The checkpoint moves only through the overlap, which is read oldest first from the
    window's start: a run that fails before the overlap is done resumes from the same start.
    """
    run.categories, run.since, run.until = list(categories), since, until
    run.save(update_fields=["categories", "since", "until"])
    client = ArxivClient(api_url=api_url, page_size=page_size, spacing=spacing)
    windows = [(since, until)]
    if run.fresh_since and since < run.fresh_since < until:
        windows = [(run.fresh_since, until), (since, run.fresh_since)]
    newest, earlier = None, 0  # the latest `updated` stored; results of the windows already read
    try:
        if not categories:
            raise FetchError("there are no categories to fetch")
        for number, (start, end) in enumerate(windows, 1):
            last = number == len(windows)
            total = 0
            for page in client.pages(search_for(categories=categories, since=start, until=end)):
                latest = _store(page, run=run, earlier=earlier, advance=last)
                newest = max(newest, latest) if newest else latest
                total = page.total
                if progress:
                    progress(earlier + page.end, earlier + page.total)
            earlier += total
            if not last and on_fresh:
                on_fresh(run)
    except FetchError as exc:
        return _finish(run, FetchRun.Status.FAILED, error=str(exc))
    except BaseException as exc:
        _finish(run, FetchRun.Status.FAILED, error=f"stopped by {type(exc).__name__}: {exc}")
        raise
    return _finish(run, FetchRun.Status.SUCCEEDED, newest=newest)


def _store(page: Page, *, run: FetchRun, earlier: int = 0, advance: bool = True) -> datetime:
    """Store one page; returns the latest `updated` on it."""
    try:
        records = [paper_record(result) for result in page.results]
    except ValueError as exc:
        raise FetchError(f"page {page.number} (start={page.start}) names an unreadable id: {exc}") from exc
    newest = max(record.updated for record in records)
    if advance:
        run.checkpoint = max(run.checkpoint, newest) if run.checkpoint else newest
    with transaction.atomic():
        upsert_papers(records, run=run)
        FetchRun.objects.filter(pk=run.pk).update(checkpoint=run.checkpoint, total=earlier + page.total)
    return newest


def _finish(run: FetchRun, status: str, *, error: str = "", newest: datetime | None = None) -> FetchRun:
    if error:
        logger.warning("Fetch run %s failed: %s", run.pk, error)
    run.refresh_from_db(
        fields=["new_count", "updated_count", "unchanged_count", "pages", "total", "checkpoint"]
    )
    run.status, run.error, run.finished_at = status, error, timezone.now()
    fields = ["status", "error", "finished_at"]
    if newest and (run.checkpoint is None or newest > run.checkpoint):
        # Everything in the window is stored: the run reached the newest paper arXiv showed it.
        run.checkpoint = newest
        fields.append("checkpoint")
    run.save(update_fields=fields)
    return run


def reached(*, now: datetime | None = None) -> datetime:
    """Where the daily runs got to: up to here every paper is stored (bar late announcements)."""
    daily = FetchRun.objects.daily()
    points = [
        daily.filter(status=FetchRun.Status.SUCCEEDED).aggregate(at=Max("until"))["at"],
        daily.filter(status=FetchRun.Status.FAILED).aggregate(at=Max("checkpoint"))["at"],
    ]
    points = [moment for moment in points if moment]
    return max(points) if points else (now or timezone.now()) - timedelta(days=FIRST_RUN_DAYS)


def daily_window(*, now: datetime | None = None) -> tuple[datetime, datetime]:
    """From where everything is surely stored, less the overlap for late announcements, to now."""
    now = now or timezone.now()
    return reached(now=now) - timedelta(days=settings.ARXIV_OVERLAP_DAYS), now


def lease_end(now: datetime | None = None) -> datetime:
    """Until when a run just started or moved on counts as alive."""
    return (now or timezone.now()) + timedelta(seconds=settings.FETCH_RUN_LEASE_SECONDS)


class Lease:
    """Keeps run `pk` alive while its fetch runs: a thread moves its lease on four times per lease
    period, so a worker busy in a long page or a Retry-After wait is never taken for dead, and a
    worker that is killed stops moving it at once."""

    def __init__(self, pk: int):
        self.pk = pk
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"fetch-run-{pk}-lease", daemon=True)

    def __enter__(self) -> "Lease":
        FetchRun.objects.filter(pk=self.pk).update(lease_until=lease_end())
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _keep(self) -> None:
        every = settings.FETCH_RUN_LEASE_SECONDS / 4
        try:
            while not self._stop.wait(every):
                try:
                    FetchRun.objects.filter(pk=self.pk, status=FetchRun.Status.RUNNING).update(
                        lease_until=lease_end()
                    )
                except Exception:  # the database may be back by the next beat of this loop
                    logger.exception("Could not move on the lease of fetch run %s", self.pk)
        finally:
            connection.close()  # this thread's own connection


def close_lost_runs(*, now: datetime | None = None) -> int:
    """Fail the daily runs still `running` whose lease ran out (their worker was killed, or their
    task message was lost with Redis), and any past the task time limit; the next run resumes
    from where they got."""
    now = now or timezone.now()
    time_limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    return (
        FetchRun.objects.daily()
        .filter(status=FetchRun.Status.RUNNING)
        .filter(Q(lease_until__lt=now) | Q(started_at__lt=now - time_limit))
        .update(
            status=FetchRun.Status.FAILED,
            finished_at=now,
            error="Stopped without finishing (the worker was lost); the next run resumes from here.",
        )
    )


def start_daily_run(*, task_id: str = "") -> FetchRun | None:
    """Open a daily run over the lab's categories, or return None if one is under way."""
    now = timezone.now()
    # A short lock around look-and-create, so two schedulers firing at once start one run; the
    # database's constraint of one running daily run holds where the cache is per process.
    if not cache.add("papers:starting-daily-fetch", task_id or "-", timeout=60):
        return None
    try:
        close_lost_runs(now=now)
        if FetchRun.objects.daily().filter(status=FetchRun.Status.RUNNING).exists():
            return None
        point = reached(now=now)
        try:
            with transaction.atomic():
                return FetchRun.objects.create(
                    kind=FetchRun.Kind.DAILY,
                    started_at=now,
                    categories=Category.objects.lab_codes(),
                    since=point - timedelta(days=settings.ARXIV_OVERLAP_DAYS),
                    until=now,
                    fresh_since=point,
                    task_id=task_id,
                    lease_until=lease_end(now),
                )
        except IntegrityError:
            return None
    finally:
        cache.delete("papers:starting-daily-fetch")


def add_paper(arxiv_id: str, *, api_url: str | None = None) -> Paper:
    """Fetch one paper by id (its latest version) into the store, however old it is. Its run is
    of its own kind: a paper someone asked for is not news, and is never pushed."""
    client = ArxivClient(api_url=api_url)
    search = arxiv.Search(id_list=[arxiv_id], max_results=1)
    records = [paper_record(result) for page in client.pages(search) for result in page.results]
    if not records:
        raise FetchError(f"arXiv has no paper {arxiv_id}")
    with transaction.atomic():
        run = FetchRun.objects.create(
            kind=FetchRun.Kind.ADDED,
            status=FetchRun.Status.SUCCEEDED,
            finished_at=timezone.now(),
            categories=records[0].categories[:1],
            total=len(records),
        )
        upsert_papers(records, run=run)
    return Paper.objects.get(arxiv_id=records[0].arxiv_id)


_QUERY_WORD = re.compile(r'"([^"]+)"|([\w\-.]+)')


def search_arxiv(text: str, *, limit: int = 20, api_url: str | None = None) -> list[PaperRecord]:
    """Ask arXiv itself (one request) for papers matching the words; nothing is stored."""
    terms = []
    for phrase, word in _QUERY_WORD.findall(text[:300]):
        term = " ".join(re.findall(r"[\w\-.]+", phrase)) if phrase else word
        if term:
            terms.append(f'all:"{term}"' if " " in term else f"all:{term}")
    if not terms:
        return []
    client = ArxivClient(api_url=api_url, page_size=limit)
    search = arxiv.Search(query=" AND ".join(terms[:10]), max_results=limit)
    page = next(client.pages(search), None)
    return [paper_record(result) for result in page.results] if page else []
