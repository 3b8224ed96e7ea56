"""A local stand-in for arXiv's query API (/api/query) on 127.0.0.1, answering from recordings.

Two ways to answer, chosen per test:
- `serve_pages(...)`: recorded pages, each served for the `start` it was recorded at, with
  totalResults set to what the recordings hold (arXiv's own numbers run to six figures);
- `serve_entries(...)`: a pool of recorded entries answering the query the way arXiv does:
  `cat:` terms and the `lastUpdatedDate:[... TO ...]` window filter it, `sortBy=lastUpdatedDate`
  orders it, `start` and `max_results` page it.
`fail(start, reply, ...)` puts one-off replies (errors, hangs, garbage, short pages) in front of
a page, `announce(entries, at=...)` adds entries to the pool that the server shows only from a
chosen moment (arXiv's announcement), `page_delay` makes it take its time over each answer, and
`arrivals` records every request with the moment it came in.
"""

import copy
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

DATA = Path(__file__).resolve().parent / "data" / "atom"
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
TESTING_PAGES = [
    "arxiv.py__q_testing_s0_m10_bc5a6c384fe9.json",
    "arxiv.py__q_testing_s10_m10_34e56e15aaac.json",
    "arxiv.py__q_testing_s20_m10_348a237fecab.json",
    "arxiv.py__q_testing_s30_m10_f2e39f0143dc.json",
    "arxiv.py__q_testing_s40_m10_96dd32eb854c.json",
    "arxiv.py__q_testing_s50_m10_7f488ab8598c.json",
]
ERROR_400 = "arxiv.py__id_abc_s0_m100_b79c8dcf6bc3.json"
NO_RESULTS = "arxiv.py__id_0000.0000_s0_m100_8b51d9633a68.json"
OLD_STYLE_ID = "arxiv.py__id_astro-ph_0601001_s0_m100_3150dca9dc76.json"
OLDER_FORMAT = "arxiv.py__id_list=1111.2011v2.xml"
_TOTAL = re.compile(rb"(<opensearch:totalResults[^>]*>)\d+(</opensearch:totalResults>)")
_WINDOW = re.compile(r"lastUpdatedDate:\[(\d{12}) TO (\d{12})\]")
_CATEGORY = re.compile(r"\bcat:([\w.\-]+)")


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds the server sits on the request before answering (past the client's timeout: a hang).
    delay: float = 0.0


@dataclass
class Arrival:
    at: float  # time.monotonic() when the request came in
    params: dict[str, str]
    user_agent: str

    @property
    def start(self) -> int:
        return int(self.params.get("start", 0))

    @property
    def query(self) -> str:
        return self.params.get("search_query", "")


def recording(name: str) -> Reply:
    """A recorded response: the JSON recordings carry their status, the .xml files were 200s."""
    path = DATA / name
    if path.suffix == ".json":
        recorded = json.loads(path.read_text(encoding="utf-8"))
        return Reply(body=recorded["body"].encode(), status=recorded["status_code"])
    return Reply(body=path.read_bytes())


def entries(*names: str) -> list[etree._Element]:
    """The <entry> elements of recordings, in recorded order."""
    found = []
    for name in names:
        root = etree.fromstring(recording(name).body)
        found += root.findall("atom:entry", NS)
    return found


def revised(entry: etree._Element, *, version: int, updated: str, **texts: str) -> etree._Element:
    """A copy of a recorded entry as another version of the paper, updated at `updated`."""
    entry = copy.deepcopy(entry)
    old = entry.findtext("atom:id", namespaces=NS)
    new = re.sub(r"v\d+$", f"v{version}", old)
    entry.find("atom:id", NS).text = new
    entry.find("atom:updated", NS).text = updated
    for link in entry.findall("atom:link", NS):
        link.set("href", link.get("href").replace(old.rsplit("/abs/", 1)[1], new.rsplit("/abs/", 1)[1]))
    for tag, text in texts.items():
        entry.find(f"atom:{tag}", NS).text = text
    return entry


def without_pdf_link(entry: etree._Element) -> etree._Element:
    entry = copy.deepcopy(entry)
    for link in entry.findall("atom:link[@title='pdf']", NS):
        entry.remove(link)
    return entry


def feed(page: list[etree._Element], *, total: int, start: int = 0, per_page: int | None = None) -> Reply:
    """A page in arXiv's newer wire format around the given entries; arXiv's itemsPerPage echoes
    the `max_results` asked for (`per_page`), the entries' count when not given."""
    body = "\n".join(etree.tostring(entry, encoding="unicode") for entry in page)
    per_page = len(page) if per_page is None else per_page
    return Reply(
        body=(
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            f'<feed xmlns:opensearch="{NS["opensearch"]}" xmlns:arxiv="{NS["arxiv"]}" xmlns="{NS["atom"]}">\n'
            "  <id>https://arxiv.org/api/local</id>\n  <title>arXiv Query</title>\n"
            f"  <updated>{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}</updated>\n"
            f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>\n"
            f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
            f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n{body}\n</feed>\n"
        ).encode()
    )


def truncated(reply: Reply) -> Reply:
    """The first half of a page, as when a connection drops mid-body behind a proxy."""
    return Reply(body=reply.body[: len(reply.body) // 2])


def dated(entry: etree._Element, moment: datetime, *, version: int = 1) -> etree._Element:
    """A copy of a recorded entry as a paper submitted (or replaced, for a later version) at `moment`."""
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if version > 1:
        return revised(entry, version=version, updated=stamp)
    return revised(entry, version=1, updated=stamp, published=stamp)


def new_entry(
    *,
    arxiv_id: str,
    title: str,
    abstract: str,
    authors: list[str],
    categories: list[str],
    updated: datetime,
    comment: str = "",
) -> etree._Element:
    """An entry in arXiv's newer wire format for a paper that is in no recording (the lab's
    corpus), as version 1 submitted at `updated`."""
    atom, arxiv = NS["atom"], NS["arxiv"]
    entry = etree.Element(f"{{{atom}}}entry", nsmap={None: atom, "arxiv": arxiv})

    def add(tag: str, text: str = "", **attributes: str) -> etree._Element:
        namespace, name = (arxiv, tag[6:]) if tag.startswith("arxiv:") else (atom, tag)
        element = etree.SubElement(entry, f"{{{namespace}}}{name}", attributes)
        element.text = text or None
        return element

    stamp = updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    add("id", f"http://arxiv.org/abs/{arxiv_id}v1")
    add("title", title)
    add("updated", stamp)
    add("link", href=f"https://arxiv.org/abs/{arxiv_id}v1", rel="alternate", type="text/html")
    pdf = {"rel": "related", "type": "application/pdf", "title": "pdf"}
    add("link", href=f"https://arxiv.org/pdf/{arxiv_id}v1", **pdf)
    add("summary", abstract)
    for code in categories:
        add("category", term=code, scheme="http://arxiv.org/schemas/atom")
    add("published", stamp)
    if comment:
        add("arxiv:comment", comment)
    add("arxiv:primary_category", term=categories[0])
    for name in authors:
        etree.SubElement(add("author"), f"{{{atom}}}name").text = name
    return entry


def _updated(entry: etree._Element) -> datetime:
    return datetime.fromisoformat(entry.findtext("atom:updated", namespaces=NS).replace("Z", "+00:00"))


def categories_of(entry: etree._Element) -> set[str]:
    return {category.get("term") for category in entry.findall("atom:category", NS)}


class ArxivServer:
    def __init__(self, *, page_delay: Callable[[], float] | None = None):
        self.pages: dict[int, Reply] = {}
        self.total = 0
        self.pool: list[etree._Element] | None = None
        # Entries of the pool hidden until their moment: (visible from, entry).
        self.unannounced: list[tuple[datetime, etree._Element]] = []
        self.hiccups: dict[int, list[Reply]] = defaultdict(list)
        self.arrivals: list[Arrival] = []
        # Seconds the server takes over each answer (arXiv takes one to several).
        self.page_delay = page_delay
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        # A hanging reply must not hold up the end of the test that gave up on it.
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/api/query"

    def __enter__(self) -> "ArxivServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def configure(self, settings) -> None:
        """Point the portal here (OAI-PMH too) with test-sized pages, spacing, timeouts and backoff."""
        settings.ARXIV_API_URL = settings.ARXIV_OAI_URL = self.url
        settings.ARXIV_PAGE_SIZE = 10
        settings.ARXIV_REQUEST_SPACING = 0
        settings.ARXIV_TIMEOUT = 2
        settings.ARXIV_RETRIES = 3
        settings.ARXIV_RETRY_BACKOFF = 0.01

    def serve_pages(self, *names: str) -> None:
        replies = [recording(name) for name in names]
        total = sum(len(etree.fromstring(reply.body).findall("atom:entry", NS)) for reply in replies)
        self.pages, self.total = {}, total
        for reply in replies:
            start = int(etree.fromstring(reply.body).findtext("opensearch:startIndex", namespaces=NS) or 0)
            self.pages[start] = Reply(body=_TOTAL.sub(rb"\g<1>%d\g<2>" % total, reply.body))
        self.pool = None

    def serve_entries(self, pool: list[etree._Element]) -> None:
        self.pool, self.pages, self.unannounced = list(pool), {}, []

    def announce(self, entries: list[etree._Element], *, at: datetime | None = None) -> None:
        """Add entries to the pool, shown from `at` on (the wall clock, so a test's frozen or
        travelling time moves it too); from now when not given."""
        at = at or datetime.now(UTC)
        with self._lock:
            self.pool = self.pool or []
            self.unannounced += [(at, entry) for entry in entries]

    def fail(self, start: int, *replies: Reply) -> None:
        """Answer the next requests for `start` with these replies, then as usual."""
        self.hiccups[start].extend(replies)

    def reply(self, params: dict[str, str]) -> Reply:
        start = int(params.get("start", 0))
        with self._lock:
            if self.hiccups[start]:
                return self.hiccups[start].pop(0)
        if self.pool is not None:
            return self._query(params, start)
        if start in self.pages:
            return self.pages[start]
        return feed([], total=self.total, start=start)

    def _query(self, params: dict[str, str], start: int) -> Reply:
        query = params.get("search_query", "")
        now = datetime.now(UTC)
        with self._lock:
            found = self.pool + [entry for at, entry in self.unannounced if at <= now]
        if window := _WINDOW.search(query):
            low, high = (datetime.strptime(w, "%Y%m%d%H%M").replace(tzinfo=UTC) for w in window.groups())
            found = [e for e in found if low <= _updated(e).replace(second=0) <= high]
        if wanted := set(_CATEGORY.findall(query)):
            found = [e for e in found if categories_of(e) & wanted]
        if params.get("sortBy") == "lastUpdatedDate":
            found = sorted(found, key=_updated, reverse=params.get("sortOrder") == "descending")
        size = int(params.get("max_results", 10))
        return feed(found[start : start + size], total=len(found), start=start, per_page=size)


def _handler(server: ArxivServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            server.arrivals.append(Arrival(time.monotonic(), params, self.headers.get("user-agent", "")))
            reply = server.reply(params) if url.path == "/api/query" else Reply(b"Not Found", status=404)
            time.sleep(reply.delay + (server.page_delay() if server.page_delay else 0))
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting: that was the point of the delay

        def log_message(self, format, *args):
            pass

    return Handler
