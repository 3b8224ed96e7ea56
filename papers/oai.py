"""Backfills through arXiv's OAI-PMH interface: ListRecords, page by page, into `upsert_papers`."""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from time import sleep

import requests
from django.conf import settings
from django.utils import timezone
from lxml import etree

from .fetching import USER_AGENT, SpacedSession, retry_after_seconds
from .models import FetchRun
from .services import PaperRecord, parse_reference, upsert_papers

log = logging.getLogger(__name__)

METADATA_PREFIX = "arXiv"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"

# Archives that are OAI sets of their own; every other archive is `physics:<archive>`.
GROUP_ARCHIVES = {"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"}
# A longer Retry-After than this means something is wrong on arXiv's side: give up sooner.
MAX_RETRY_AFTER = 300
MAX_BACKOFF = 60
TRANSIENT_ERRORS = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
TRANSIENT_STATUSES = {429, 500, 502, 503, 504}

Progress = Callable[[int, int], None]


class HarvestError(Exception):
    """Why a harvest stopped; the message becomes the run's `error`."""


@dataclass
class Page:
    records: list[PaperRecord]
    token: str  # empty on the last page
    size: int | None  # completeListSize, when the repository says
    response_date: datetime | None


def harvest(
    *,
    since: date,
    until: date | None,
    categories: list[str],
    base_url: str,
    run: FetchRun,
    progress: Progress | None = None,
) -> None:
    """Store every paper in `categories` whose OAI datestamp lies in [since, until], and finish `run`.

    Each page is stored in its own transaction, so a failure keeps what came before it. Harvest
    failures (OAI errors, HTTP errors after retries, malformed pages) end in a failed run, not an
    exception; anything else fails the run and is raised. An empty `categories` harvests everything.
    """
    since, until = _day(since), _day(until) if until else None
    run.categories = list(categories)
    run.since = _start_of(since)
    run.until = _start_of(until + timedelta(days=1)) if until else None
    run.save(update_fields=["categories", "since", "until"])
    try:
        checkpoint = _harvest(
            since=since,
            until=until,
            categories=categories,
            base_url=base_url,
            run=run,
            progress=progress,
        )
    except HarvestError as error:
        log.warning("OAI-PMH harvest %s failed: %s", run.pk, error)
        _finish(run, status=FetchRun.Status.FAILED, error=str(error))
    except BaseException as error:
        _finish(run, status=FetchRun.Status.FAILED, error=f"stopped by {type(error).__name__}: {error}")
        raise
    else:
        _finish(run, status=FetchRun.Status.SUCCEEDED, checkpoint=checkpoint)


def sets_for(categories: list[str]) -> list[str]:
    """The archive-level OAI sets holding `categories`: `cs.CV` is in `cs`, `hep-th` in `physics:hep-th`."""
    sets = []
    for code in categories:
        archive = code.split(".")[0]
        spec = archive if archive in GROUP_ARCHIVES else f"physics:{archive}"
        if spec not in sets:
            sets.append(spec)
    return sets


def parse_page(content: bytes) -> Page:
    """One ListRecords response; `noRecordsMatch` is an empty last page, other OAI errors raise."""
    try:
        root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise HarvestError(f"malformed XML: {error}") from error
    if root.tag != f"{OAI}OAI-PMH":
        raise HarvestError(f"not an OAI-PMH response: <{etree.QName(root).localname}>")
    response_date = _response_date(root.findtext(f"{OAI}responseDate"))
    errors = root.findall(f"{OAI}error")
    if errors:
        if all(error.get("code") == "noRecordsMatch" for error in errors):
            return Page(records=[], token="", size=0, response_date=response_date)
        raise HarvestError(
            "; ".join(f"OAI-PMH error {e.get('code')}: {' '.join((e.text or '').split())}" for e in errors)
        )
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise HarvestError("malformed response: no <ListRecords> and no <error>")
    records = [record for record in map(_record, listing.iterfind(f"{OAI}record")) if record]
    token = listing.find(f"{OAI}resumptionToken")
    size = token.get("completeListSize") if token is not None else None
    return Page(
        records=records,
        token=(token.text or "").strip() if token is not None else "",
        size=int(size) if size and size.isdigit() else None,
        response_date=response_date,
    )


def _harvest(*, since, until, categories, base_url, run, progress) -> datetime:
    seen: set[str] = set()
    done = earlier_sets = 0
    began, started = timezone.now(), None
    # The arXiv API's session: OAI requests take their turn in the same lab-wide spacing.
    session = SpacedSession(spacing=settings.ARXIV_REQUEST_SPACING, timeout=settings.ARXIV_TIMEOUT)
    try:
        for spec in sets_for(categories) or [""]:
            params = _first_request(since=since, until=until, spec=spec)
            number = set_done = 0
            set_size = None
            while params:
                number += 1
                where = f"set {spec or '(all)'}, page {number}"
                try:
                    page = parse_page(_get(session, base_url, params))
                except HarvestError as error:
                    raise HarvestError(f"{where}: {error}") from error
                started = started or page.response_date
                # A paper cross-listed in two harvested sets arrives twice; store it once.
                records = [r for r in page.records if r.arxiv_id not in seen and _wanted(r, categories)]
                seen.update(record.arxiv_id for record in records)
                upsert_papers(records, run=run)
                done += len(page.records)
                set_done += len(page.records)
                set_size = page.size if page.size is not None else max(set_size or 0, set_done)
                run.total = earlier_sets + set_size
                FetchRun.objects.filter(pk=run.pk).update(total=run.total)
                log.debug("OAI-PMH %s: %d records, %d kept", where, len(page.records), len(records))
                if progress:
                    progress(done, run.total)
                params = {"verb": "ListRecords", "resumptionToken": page.token} if page.token else None
            earlier_sets += set_size or 0
    finally:
        session.close()
    # OAI lists are not in datestamp order: only a finished harvest says how far the store reaches,
    # and never past the repository's clock when it began answering.
    started = started or began
    if until is None:
        return started
    return min(_start_of(until + timedelta(days=1)), started)


def _first_request(*, since: date, until: date | None, spec: str) -> dict:
    params = {"verb": "ListRecords", "metadataPrefix": METADATA_PREFIX, "from": since.isoformat()}
    if until:
        params["until"] = until.isoformat()
    if spec:
        params["set"] = spec
    return params


def _finish(run: FetchRun, *, status: str, error: str = "", checkpoint: datetime | None = None) -> None:
    # upsert_papers counts with F() expressions: read them back before saving the outcome.
    run.refresh_from_db(fields=["new_count", "updated_count", "unchanged_count", "pages", "total"])
    run.status, run.error, run.finished_at = status, error, timezone.now()
    fields = ["status", "error", "finished_at"]
    if checkpoint is not None:
        run.checkpoint = checkpoint
        fields.append("checkpoint")
    run.save(update_fields=fields)


def _get(session: SpacedSession, url: str, params: dict) -> bytes:
    """One page, retried on timeouts, dropped connections and 429/5xx, waiting as Retry-After says."""
    attempt = 0
    while True:
        try:
            response = session.get(url, params=params, headers={"user-agent": USER_AGENT})
        except TRANSIENT_ERRORS as error:
            problem, wait = f"{type(error).__name__}: {error}", _backoff(attempt)
        else:
            if response.status_code == 200:
                return response.content
            if response.status_code not in TRANSIENT_STATUSES:
                raise HarvestError(f"HTTP {response.status_code} from {response.url}")
            problem = f"HTTP {response.status_code}"
            wait = _retry_after(response.headers.get("Retry-After", ""))
            wait = _backoff(attempt) if wait is None else wait
        attempt += 1
        if attempt > settings.ARXIV_RETRIES:
            raise HarvestError(f"{problem} (gave up after {attempt} attempts)")
        log.info("OAI-PMH %s; retrying in %.0f s", problem, wait)
        sleep(wait)


def _backoff(attempt: int) -> float:
    return min(2**attempt, MAX_BACKOFF)


def _retry_after(value: str) -> float | None:
    """Seconds from a Retry-After header, bounded: a harvest waits rather than gives up."""
    seconds = retry_after_seconds(value)
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


def _wanted(record: PaperRecord, categories: list[str]) -> bool:
    return not categories or not set(record.categories).isdisjoint(categories)


def _record(element) -> PaperRecord | None:
    header = element.find(f"{OAI}header")
    identifier = header.findtext(f"{OAI}identifier", "?") if header is not None else "?"
    if header is not None and header.get("status") == "deleted":
        return None
    metadata = element.find(f"{OAI}metadata")
    meta = next(metadata.iterchildren(etree.Element), None) if metadata is not None else None
    if meta is None:
        raise HarvestError(f"malformed record {identifier}: no metadata")
    try:
        if meta.tag == f"{ARXIV}arXiv":
            return _from_arxiv(meta)
        if meta.tag == f"{ARXIV_RAW}arXivRaw":
            return _from_arxiv_raw(meta)
    except (KeyError, TypeError, ValueError) as error:
        raise HarvestError(f"malformed record {identifier}: {error}") from error
    raise HarvestError(f"record {identifier} is in an unknown metadata format <{meta.tag}>")


def _from_arxiv(meta) -> PaperRecord:
    """The `arXiv` format: structured authors, and dates of the first and latest version only."""
    text = _texts(meta, ARXIV)
    published = _midnight(text["created"])
    updates = [_midnight(el.text or "") for el in meta.iterfind(f"{ARXIV}updated")]
    updated = max([published, *updates])
    authors = []
    for author in meta.iterfind(f"{ARXIV}authors/{ARXIV}author"):
        parts = (author.findtext(f"{ARXIV}{part}", "") for part in ("forenames", "keyname", "suffix"))
        if name := " ".join(" ".join(parts).split()):
            authors.append(name)
    arxiv_id, _ = parse_reference(text["id"])
    return PaperRecord(
        arxiv_id=arxiv_id,
        # The format names no versions: v1 is all it proves, and a revised paper's latest PDF is
        # the unversioned link.
        version=1,
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}" if updated > published else "",
        versions=[{"version": 1, "updated": published.isoformat()}],
        title=text["title"],
        abstract=meta.findtext(f"{ARXIV}abstract", ""),
        authors=authors,
        categories=text.get("categories", "").split(),
        published=published,
        updated=updated,
        comment=text.get("comments", ""),
        journal_ref=text.get("journal-ref", ""),
        doi=_first_doi(text.get("doi", "")),
    )


def _from_arxiv_raw(meta) -> PaperRecord:
    """The `arXivRaw` format: every version with its time, and the authors as one string."""
    text = _texts(meta, ARXIV_RAW)
    versions = sorted(
        (int(version.get("version", "").lstrip("v")), _version_date(version))
        for version in meta.iterfind(f"{ARXIV_RAW}version")
    )
    if not versions:
        raise ValueError("no <version>")
    arxiv_id, _ = parse_reference(text["id"])
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=versions[-1][0],
        versions=[{"version": number, "updated": moment.isoformat()} for number, moment in versions],
        title=text["title"],
        abstract=meta.findtext(f"{ARXIV_RAW}abstract", ""),
        authors=_split_authors(text.get("authors", "")),
        categories=text.get("categories", "").split(),
        published=versions[0][1],
        updated=versions[-1][1],
        comment=text.get("comments", ""),
        journal_ref=text.get("journal-ref", ""),
        doi=_first_doi(text.get("doi", "")),
    )


def _version_date(version) -> datetime:
    return _aware(parsedate_to_datetime(version.findtext(f"{ARXIV_RAW}date")))


def _texts(meta, namespace: str) -> dict[str, str]:
    """Direct children's text with whitespace collapsed, by local name; `id` and `title` required."""
    found = {
        child.tag.removeprefix(namespace): " ".join((child.text or "").split())
        for child in meta.iterchildren(etree.Element)
    }
    for required in ("id", "title"):
        if not found.get(required):
            raise ValueError(f"no <{required}>")
    return found


def _midnight(text: str) -> datetime:
    return _start_of(date.fromisoformat(text.strip()))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _first_doi(text: str) -> str:
    # A few records list a paper's DOI and its erratum's; the paper's comes first.
    return text.split()[0] if text.split() else ""


_AFFILIATION = re.compile(r"\([^()]*\)")
_AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")


def _split_authors(text: str) -> list[str]:
    """'A. Author (Place), B. Author and C. Author' -> ['A. Author', 'B. Author', 'C. Author']."""
    while _AFFILIATION.search(text):
        text = _AFFILIATION.sub(" ", text)
    names = _AUTHOR_SEPARATOR.split(" ".join(text.split()))
    return [name.strip() for name in names if name.strip()]


def _response_date(text: str | None) -> datetime | None:
    try:
        return _aware(datetime.fromisoformat((text or "").strip()))
    except ValueError:
        return None


def _aware(moment: datetime) -> datetime:
    # OAI-PMH and arXiv's version dates are UTC, whether or not they say so.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: date) -> date:
    # OAI-PMH granularity at arXiv is the day; a datetime (a run's window) becomes its UTC date.
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    return value
