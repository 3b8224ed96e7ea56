"""Writing papers: every source (the API, OAI-PMH, the demo corpus) ends in `upsert_papers`."""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import (
    ARXIV_TZ,
    Bookmark,
    Dismissal,
    FetchRun,
    Paper,
    PaperAuthor,
    Recommendation,
    Tag,
    announcement_day,
)
from .queries import forget_feed_frame

# "2401.01234", "2401.01234v2", "hep-th/9901001", "math.GT/0309136v1", with or without "arXiv:"
# or an abs/pdf URL around them.
_REFERENCE = re.compile(
    r"^(?:arxiv:)?(?:https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)?"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[a-z]{2})?/\d{7})(?:v(?P<version>\d+))?(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_WITHDRAWN = re.compile(
    r"\bwithdra?wn\b|^this (?:paper|submission|article|manuscript) (?:has been|is) withdrawn", re.I
)


def parse_reference(text: str) -> tuple[str, int | None]:
    """Split whatever a person pastes into an arXiv id without version, and the version if given."""
    match = _REFERENCE.match(text.strip())
    if not match:
        raise ValueError(text)
    arxiv_id = match["id"]
    if "/" in arxiv_id:  # old-style ids keep the archive lower-case and the subject class upper-case
        archive, number = arxiv_id.split("/")
        name, _, subject = archive.partition(".")
        arxiv_id = f"{name.lower()}{'.' + subject.upper() if subject else ''}/{number}"
    return arxiv_id, int(match["version"]) if match["version"] else None


@dataclass
class PaperRecord:
    """One paper as a source describes it, before it meets the database."""

    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: datetime
    updated: datetime
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""
    pdf_url: str = ""
    first_announced: object = None
    last_announced: object = None
    versions: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.title = " ".join(self.title.split())
        self.abstract = self.abstract.strip()
        self.categories = list(dict.fromkeys(self.categories))
        self.pdf_url = self.pdf_url or f"https://arxiv.org/pdf/{self.arxiv_id}v{self.version}"
        self.first_announced = self.first_announced or announcement_day(self.published)
        self.last_announced = self.last_announced or announcement_day(self.updated)
        self.versions = self.versions or [{"version": self.version, "updated": self.updated.isoformat()}]

    @property
    def withdrawn(self) -> bool:
        return bool(_WITHDRAWN.search(self.comment) or _WITHDRAWN.match(self.abstract))

    def as_paper(self) -> Paper:
        return Paper(
            arxiv_id=self.arxiv_id,
            version=self.version,
            title=self.title,
            abstract=self.abstract,
            authors=self.authors,
            primary_category=self.categories[0] if self.categories else "",
            categories=self.categories,
            published=self.published,
            updated=self.updated,
            comment=self.comment,
            journal_ref=self.journal_ref,
            doi=self.doi,
            pdf_url=self.pdf_url,
            withdrawn=self.withdrawn,
            first_announced=self.first_announced,
            last_announced=self.last_announced,
            versions=self.versions,
            fetched_at=timezone.now(),
        )


# The fields a newer version or a metadata change rewrites; `published` and `first_announced`
# belong to the first version and stay.
_UPDATED_FIELDS = [
    "version", "title", "abstract", "authors", "primary_category", "categories", "updated", "comment",
    "journal_ref", "doi", "pdf_url", "withdrawn", "last_announced", "versions", "fetched_at",
]  # fmt: skip
_COMPARED_FIELDS = ["title", "abstract", "authors", "categories", "comment", "journal_ref", "doi", "pdf_url"]


@dataclass
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def upsert_papers(records: list[PaperRecord], *, run: FetchRun | None = None) -> UpsertCounts:
    """Store one page of papers in one transaction, keyed by arXiv id; idempotent."""
    counts = UpsertCounts()
    # A page can name one paper twice (a query that matches two versions): keep the newest.
    latest: dict[str, PaperRecord] = {}
    for record in records:
        if record.arxiv_id not in latest or record.version >= latest[record.arxiv_id].version:
            latest[record.arxiv_id] = record
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A page lost to a crash in the moment after its commit is lost with its checkpoint
            # (the WAL keeps them in order), and the next run fetches it again: upserts are
            # idempotent, so the page need not wait for its own disk flush.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        stored = {
            paper.arxiv_id: paper
            for paper in Paper.objects.filter(arxiv_id__in=latest).only(
                "arxiv_id", "versions", *_UPDATED_FIELDS
            )
        }
        inserts, writes = [], []
        for record in latest.values():
            paper = record.as_paper()
            old = stored.get(record.arxiv_id)
            if old is None:
                inserts.append(paper)
                continue
            if _not_newer(paper, old) or (
                record.version == old.version
                and all(getattr(paper, f) == getattr(old, f) for f in _COMPARED_FIELDS)
            ):
                counts.unchanged += 1
                continue
            paper.versions = _merge_versions(old.versions, paper.versions)
            if record.version == old.version:  # a metadata fix, not a new version
                paper.last_announced = old.last_announced
            writes.append(paper)
        written = _write(inserts, writes)
        new_ids = {paper.arxiv_id for paper in inserts}
        counts.new = sum(arxiv_id in new_ids for arxiv_id in written)
        counts.updated = len(written) - counts.new
        # What another writer stored meanwhile at a newer version stays, and counts as unchanged.
        counts.unchanged += len(inserts) + len(writes) - len(written)
        if written:
            _index_authors(written, {p.arxiv_id: p.authors for p in inserts + writes}, new_ids)
            if run is not None:
                through = FetchRun.papers.through
                through.objects.bulk_create(
                    [through(fetchrun_id=run.pk, paper_id=pk) for pk in written.values()],
                    ignore_conflicts=True,
                )
            transaction.on_commit(forget_feed_frame)
        if run is not None:
            FetchRun.objects.filter(pk=run.pk).update(
                new_count=F("new_count") + counts.new,
                updated_count=F("updated_count") + counts.updated,
                unchanged_count=F("unchanged_count") + counts.unchanged,
                pages=F("pages") + 1,
            )
    return counts


def _not_newer(paper: Paper, old: Paper) -> bool:
    """Whether `paper` is older than what is stored: a lower version, or the same one updated before."""
    return (paper.version, paper.updated) < (old.version, old.updated)


# The row a writer keeps when another has stored the paper: the higher version, then the later
# `updated`. In the ON CONFLICT clause, so that two writers racing (the daily fetch and a paper
# added by id) never let the older one win, whatever each read before it wrote.
_KEEP_NEWER = "(papers_paper.version, papers_paper.updated) <= (EXCLUDED.version, EXCLUDED.updated)"


def _index_authors(written: dict[str, int], authors: dict[str, list], new_ids: set[str]) -> None:
    """Rewrite the author index of the papers just written, in the caller's transaction."""
    changed = [pk for arxiv_id, pk in written.items() if arxiv_id not in new_ids]
    if changed:
        PaperAuthor.objects.filter(paper_id__in=changed).delete()
    rows = [row for arxiv_id, pk in written.items() for row in PaperAuthor.rows_for(pk, authors[arxiv_id])]
    if connection.vendor == "postgresql" and rows:
        fields = [f for f in PaperAuthor._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with connection.cursor() as cursor:
            _copy_rows(cursor, PaperAuthor._meta.db_table, columns, fields, rows)
    else:
        PaperAuthor.objects.bulk_create(rows, batch_size=500)


def _write(inserts: list[Paper], updates: list[Paper]) -> dict[str, int]:
    """Insert the new papers and update the changed ones of one page, in the caller's transaction.
    Returns {arxiv id: pk} of the rows written: an update older than the stored row is not."""
    fields = [field for field in Paper._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    assignments = ", ".join(
        f"{name} = EXCLUDED.{name}"
        for name in (connection.ops.quote_name(Paper._meta.get_field(f).column) for f in _UPDATED_FIELDS)
    )
    conflict = (
        f"ON CONFLICT (arxiv_id) DO UPDATE SET {assignments} WHERE {_KEEP_NEWER} RETURNING arxiv_id, id"
    )
    if connection.vendor != "postgresql":
        return _write_rows(inserts + updates, fields, columns, conflict)
    written: dict[str, int] = {}
    if inserts:
        # Papers the page's SELECT did not find go straight in with COPY, the fastest way
        # PostgreSQL takes rows. Should another process store one of them in between, the unique
        # index refuses the COPY; the savepoint undoes it and they go the ON CONFLICT way instead.
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                _copy_rows(cursor, "papers_paper", columns, fields, inserts)
            ids = Paper.objects.filter(arxiv_id__in=[p.arxiv_id for p in inserts]).values_list(
                "arxiv_id", "pk"
            )
            written.update(ids)
        except IntegrityError:
            updates = inserts + updates
    if not updates:
        return written
    # COPY into a staging table, then one INSERT ... ON CONFLICT from it: COPY streams rows while
    # the server works, where a multi-row INSERT has the client quote every value first.
    # Only column names are formatted into the SQL; every value travels through COPY.
    stage = f"SELECT {columns} FROM papers_paper WITH NO DATA"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS paper_stage ON COMMIT DELETE ROWS AS {stage}")
        _copy_rows(cursor, "paper_stage", columns, fields, updates)
        upsert = f"INSERT INTO papers_paper ({columns}) SELECT {columns} FROM paper_stage"  # noqa: S608
        cursor.execute(f"{upsert} {conflict}")
        written.update(cursor.fetchall())
        cursor.execute("TRUNCATE paper_stage")  # the next page of this transaction starts empty
    return written


def _write_rows(papers: list[Paper], fields: list, columns: str, conflict: str) -> dict[str, int]:
    """The same upsert one row at a time, for SQLite (a development database)."""
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO papers_paper ({columns}) VALUES ({placeholders}) {conflict}"  # noqa: S608
    written = {}
    with connection.cursor() as cursor:
        for paper in papers:
            cursor.execute(
                sql, [field.get_db_prep_save(getattr(paper, field.attname), connection) for field in fields]
            )
            written.update(cursor.fetchall())
    return written


def _copy_rows(cursor, table: str, columns: str, fields: list, papers: list[Paper]) -> None:
    # The raw psycopg cursor: Django's wrapper turns its errors into django.db ones.
    with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for paper in papers:
            copy.write_row(
                [field.get_db_prep_save(getattr(paper, field.attname), connection) for field in fields]
            )


def _merge_versions(old: list[dict], new: list[dict]) -> list[dict]:
    merged = {entry["version"]: entry for entry in old}
    merged.update({entry["version"]: entry for entry in new})
    return [merged[v] for v in sorted(merged)]


def record_from_corpus(row: dict) -> PaperRecord:
    """A record of the lab's corpus format (see papers/data/README.md) as a PaperRecord.

    The corpus knows announcement days but no timestamps; the first version is dated at the
    moment of its first announcement (20:00 US Eastern the evening before the listing date).
    """
    first, last = (date.fromisoformat(day) for day in (row["announced"][0], row["announced"][-1]))
    announced_at = datetime.combine(first - timedelta(days=1), time(20, 0), tzinfo=ARXIV_TZ)
    return PaperRecord(
        arxiv_id=row["id"],
        version=1,
        title=row["title"],
        abstract=row["abstract"],
        authors=row["authors"],
        categories=row["categories"],
        published=announced_at,
        updated=announced_at,
        comment=row.get("comment") or "",
        first_announced=first,
        last_announced=max(first, last),
    )


def save_bookmark(bookmark: Bookmark, *, state: str, note: str, tag_names: list[str]) -> bool:
    """Save a bookmark's state, note and tags, creating the person's tags it names. False, with
    nothing written, when the bookmark was removed since it was read."""
    with transaction.atomic():
        # An UPDATE, never save(): save() inserts a row it cannot update, so an edit racing a
        # removal brought the bookmark back. The row stays locked until the tags are set.
        if not Bookmark.objects.filter(pk=bookmark.pk).update(state=state, note=note):
            return False
        bookmark.state, bookmark.note = state, note
        existing = {tag.name: tag for tag in Tag.objects.filter(user=bookmark.user, name__in=tag_names)}
        missing = [Tag(user=bookmark.user, name=name) for name in tag_names if name not in existing]
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        bookmark.tags.set(Tag.objects.filter(user=bookmark.user, name__in=tag_names))
        forget_unused_tags(bookmark.user)
    return True


def remove_bookmark(paper: Paper, *, person) -> bool:
    """Take `paper` out of the person's library; False when it was not in it."""
    with transaction.atomic():
        deleted, _details = Bookmark.objects.filter(user=person, paper=paper).delete()
        forget_unused_tags(person)
    return bool(deleted)


def forget_unused_tags(person) -> None:
    # A tag lives while a paper carries it: one left on none would have no page, no feed entry
    # and no way to be removed.
    Tag.objects.filter(user=person).unused().delete()


def mark_not_for_me(paper: Paper, *, person) -> bool:
    """Note that `paper` is not for `person`: the recommender learns it as a negative example,
    and "For you" stops showing it at once. False when it was noted before."""
    with transaction.atomic():
        _dismissal, created = Dismissal.objects.get_or_create(person=person, paper=paper)
        Recommendation.objects.filter(person=person, paper=paper).delete()
    return created


def unmark_not_for_me(paper: Paper, *, person) -> bool:
    deleted, _details = Dismissal.objects.filter(person=person, paper=paper).delete()
    return bool(deleted)


# Which papers a run stored is read by the run's matching, minutes after it (a retried matching
# within the day). Two weeks leave room for an outage; past them a run's links are dropped, or a
# store backfilled through OAI would keep a row per paper and run forever.
RUN_PAPERS_KEPT = timedelta(days=14)
FORGET_BATCH = 10_000


def forget_run_papers(*, now: datetime | None = None) -> int:
    """Drop the paper links of runs that finished more than RUN_PAPERS_KEPT ago; return how many.
    In batches, so a backfill's million links never sit in one transaction."""
    before = (now or timezone.now()) - RUN_PAPERS_KEPT
    through = FetchRun.papers.through
    old = through.objects.filter(fetchrun__finished_at__lt=before).order_by()
    forgotten = 0
    while batch := list(old.values_list("pk", flat=True)[:FORGET_BATCH]):
        forgotten += through.objects.filter(pk__in=batch).delete()[0]
    return forgotten
