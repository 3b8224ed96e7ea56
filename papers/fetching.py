"""Fetching from arXiv's query API: one request per slot for the whole lab, our own retries,
strict pages, and every page stored as soon as it arrives."""

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import arxiv
import redis
import requests
from arxiv import _feed
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from lxml import etree

from .models import Category, FetchRun, Paper
from .services import PaperRecord, parse_reference, upsert_papers

logger = logging.getLogger(__name__)

USER_AGENT = f"lab-portal (arxiv.py/{arxiv.__version__})"
ATOM = "{http://www.w3.org/2005/Atom}"
SLOT_KEY = "arxiv:next-slot"
# How far back the very first daily run looks, before the overlap is added.
FIRST_RUN_DAYS = 3
# A longer Retry-After ends the run (the next one resumes) rather than holding a worker.
MAX_RETRY_AFTER = 15 * 60

Progress = Callable[[int, int], None]


class FetchError(Exception):
    """A page that could not be fetched or read; the message is what the run records."""


# Reserves the next free request slot on Redis's clock, so every process and host agrees: the
# caller waits the returned milliseconds, and the slot after it is `spacing` later.
_RESERVE_SLOT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now_ms then slot = now_ms end
local spacing = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + spacing, 'PX', slot - now_ms + spacing)
return slot - now_ms
"""

_local_lock = threading.Lock()
_local_next_slot = 0.0


@functools.cache
def _reserve_script(url: str):
    return redis.Redis.from_url(url).register_script(_RESERVE_SLOT)


def wait_for_slot(spacing: float) -> None:
    """Sleep until this process may send the lab's next request to arXiv."""
    global _local_next_slot
    if spacing <= 0:
        return
    if settings.REDIS_URL:
        delay = (
            _reserve_script(settings.REDIS_URL)(keys=[SLOT_KEY], args=[max(1, round(spacing * 1000))]) / 1000
        )
    else:
        # Without Redis (development, eager tasks) one process is all there is.
        with _local_lock:
            now = time.monotonic()
            slot = max(now, _local_next_slot)
            _local_next_slot = slot + spacing
        delay = slot - now
    if delay > 0:
        time.sleep(delay)


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
class Page:
    number: int
    start: int
    total: int
    results: list[arxiv.Result]

    @property
    def end(self) -> int:
        return self.start + len(self.results)


class ArxivClient(arxiv.Client):
    """`arxiv.Client` with the lab's spacing, retries that know arXiv's answers, strict pages."""

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
        # The library's own delay and retries are off: spacing is lab-wide, retries are below.
        super().__init__(page_size=page_size or settings.ARXIV_PAGE_SIZE, delay_seconds=0, num_retries=0)
        base = (api_url or settings.ARXIV_API_URL).replace("{", "{{").replace("}", "}}")
        self.query_url_format = base + ("&{}" if "?" in base else "?{}")
        self._session = SpacedSession(
            spacing=settings.ARXIV_REQUEST_SPACING if spacing is None else spacing,
            timeout=timeout or settings.ARXIV_TIMEOUT,
        )
        self.retries = settings.ARXIV_RETRIES if retries is None else retries
        self.backoff = settings.ARXIV_RETRY_BACKOFF if backoff is None else backoff

    def _parse_feed(self, url: str, first_page: bool = True, _try_index: int = 0) -> _feed.ParsedFeed:
        for attempt in range(self.retries + 1):
            wait = self.backoff * 2**attempt
            try:
                response = self._session.get(url, headers={"user-agent": USER_AGENT})
            except requests.Timeout:
                problem = f"timed out after {self._session.timeout:g} s"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"could not be fetched: {_reason(exc)}"
            else:
                status = response.status_code
                if status == 200:
                    feed = read_page(response.content)
                    # arXiv now and then serves an empty page in the middle of a result set.
                    if feed.results or (first_page and feed.header.total_results == 0):
                        return feed
                    problem = "came back empty"
                elif status == 429 or status >= 500:
                    problem = f"failed with HTTP {status}"
                    wait = _retry_after(response, default=wait)
                else:
                    message = _error_message(response.content) or response.reason
                    raise FetchError(f"was refused by arXiv (HTTP {status}): {message}")
            if attempt == self.retries:
                break
            logger.warning("arXiv page %s; retrying in %.1f s: %s", problem, wait, url)
            time.sleep(wait)
        raise FetchError(f"{problem} ({self.retries + 1} tries)")

    def pages(self, search: arxiv.Search, *, start: int = 0) -> Iterator[Page]:
        """Every page of the search's results, one request each, until arXiv's total is reached."""
        number = 1
        while True:
            try:
                feed = self._parse_feed(
                    self._format_url(search, start, self.page_size), first_page=number == 1
                )
            except FetchError as exc:
                raise FetchError(f"page {number} (start={start}) {exc}") from exc
            if not feed.results:
                return
            page = Page(number=number, start=start, total=feed.header.total_results, results=feed.results)
            yield page
            if page.end >= page.total:
                return
            start, number = page.end, number + 1


def read_page(content: bytes) -> _feed.ParsedFeed:
    """Parse a page of results, refusing anything arXiv's forgiving parser would half-read."""
    try:
        root = etree.fromstring(content, _strict_parser())
    except etree.XMLSyntaxError as exc:
        raise FetchError(f"is not valid XML: {exc}") from None
    if root.tag != f"{ATOM}feed":
        raise FetchError(f"is not an Atom feed: its root element is {root.tag}")
    # The older API answered errors with HTTP 200 and an error entry.
    if message := _error_entry(root):
        raise FetchError(f"was refused by arXiv: {message}")
    feed = _feed.parse(content)
    skipped = len(root.findall(f"{ATOM}entry")) - len(feed.results)
    if skipped:
        raise FetchError(f"has {skipped} entries without an id or dates")
    return feed


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
) -> FetchRun:
    """Fetch the window page by page into the paper store and finish `run`.

    Each page is stored in its own transaction, so a failure keeps every earlier page, and the
    run's checkpoint says where the next run can resume. A failed fetch is recorded on the run
    and returned, not raised.
    """
    run.categories, run.since, run.until = list(categories), since, until
    run.save(update_fields=["categories", "since", "until"])
    client = ArxivClient(api_url=api_url, page_size=page_size, spacing=spacing)
    try:
        if not categories:
            raise FetchError("there are no categories to fetch")
        for page in client.pages(search_for(categories=categories, since=since, until=until)):
            _store(page, run=run)
            if progress:
                progress(page.end, page.total)
    except FetchError as exc:
        return _finish(run, FetchRun.Status.FAILED, error=str(exc))
    except BaseException as exc:
        _finish(run, FetchRun.Status.FAILED, error=f"stopped by {type(exc).__name__}: {exc}")
        raise
    return _finish(run, FetchRun.Status.SUCCEEDED)


def _store(page: Page, *, run: FetchRun) -> None:
    try:
        records = [paper_record(result) for result in page.results]
    except ValueError as exc:
        raise FetchError(f"page {page.number} (start={page.start}) names an unreadable id: {exc}") from exc
    newest = max(record.updated for record in records)
    run.checkpoint = max(run.checkpoint, newest) if run.checkpoint else newest
    with transaction.atomic():
        upsert_papers(records, run=run)
        FetchRun.objects.filter(pk=run.pk).update(checkpoint=run.checkpoint, total=page.total)


def _finish(run: FetchRun, status: str, *, error: str = "") -> FetchRun:
    if error:
        logger.warning("Fetch run %s failed: %s", run.pk, error)
    run.refresh_from_db(
        fields=["new_count", "updated_count", "unchanged_count", "pages", "total", "checkpoint"]
    )
    run.status, run.error, run.finished_at = status, error, timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    if run.new_count or run.updated_count:
        # Even a failed run keeps what it stored, and those papers are news. Recommendations are
        # trained first: that task then queues match_watch_rules, so "like my library" rules see
        # the fresh scores.
        from .recommend import train_recommendations  # the module imports this one

        transaction.on_commit(lambda: train_recommendations.delay(run_id=run.pk))
    return run


def daily_window(*, now: datetime | None = None) -> tuple[datetime, datetime]:
    """From where everything is surely stored, less the overlap for late announcements, to now."""
    now = now or timezone.now()
    daily = FetchRun.objects.filter(kind=FetchRun.Kind.DAILY)
    reached = [
        daily.filter(status=FetchRun.Status.SUCCEEDED).aggregate(at=Max("until"))["at"],
        daily.filter(status=FetchRun.Status.FAILED).aggregate(at=Max("checkpoint"))["at"],
    ]
    reached = [moment for moment in reached if moment]
    start = max(reached) if reached else now - timedelta(days=FIRST_RUN_DAYS)
    return start - timedelta(days=settings.ARXIV_OVERLAP_DAYS), now


def start_daily_run(*, task_id: str = "") -> FetchRun | None:
    """Open a daily run over the lab's categories, or return None if one is under way."""
    now = timezone.now()
    # A short lock around look-and-create, so two schedulers firing at once start one run.
    if not cache.add("papers:starting-daily-fetch", task_id or "-", timeout=60):
        return None
    try:
        # A worker that died mid-run leaves it `running`; past the task time limit it is over.
        FetchRun.objects.filter(
            kind=FetchRun.Kind.DAILY,
            status=FetchRun.Status.RUNNING,
            started_at__lt=now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT),
        ).update(
            status=FetchRun.Status.FAILED,
            finished_at=now,
            error="Stopped without finishing (the worker was lost); the next run resumes from here.",
        )
        if FetchRun.objects.filter(kind=FetchRun.Kind.DAILY, status=FetchRun.Status.RUNNING).exists():
            return None
        since, until = daily_window(now=now)
        return FetchRun.objects.create(
            kind=FetchRun.Kind.DAILY,
            started_at=now,
            categories=Category.objects.lab_codes(),
            since=since,
            until=until,
            task_id=task_id,
        )
    finally:
        cache.delete("papers:starting-daily-fetch")


def add_paper(arxiv_id: str, *, api_url: str | None = None) -> Paper:
    """Fetch one paper by id (its latest version) into the store, however old it is."""
    client = ArxivClient(api_url=api_url)
    search = arxiv.Search(id_list=[arxiv_id], max_results=1)
    records = [paper_record(result) for page in client.pages(search) for result in page.results]
    if not records:
        raise FetchError(f"arXiv has no paper {arxiv_id}")
    upsert_papers(records)
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
