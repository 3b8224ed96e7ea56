import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# new_feed_key: migration 0005 names it as papers.models.new_feed_key.
from lab_portal.models import FeedKey, new_feed_key  # noqa: F401

from .names import cut, index_entries, lookups, parse_name, stored_reading

ARXIV_TZ = ZoneInfo("America/New_York")
# arXiv's daily cutoff: what is submitted before 14:00 US Eastern on a weekday is announced that
# evening at 20:00, and listed under the next day's date (Friday's batch on Monday).
CUTOFF = time(14, 0)
ANNOUNCEMENT = time(20, 0)
# The evenings arXiv announces on, as date.weekday() numbers: Sunday to Thursday.
ANNOUNCEMENT_WEEKDAYS = frozenset({6, 0, 1, 2, 3})


def announcement_day(moment: datetime) -> date:
    """The listing date on which arXiv shows a paper submitted or replaced at `moment`."""
    local = moment.astimezone(ARXIV_TZ)
    day = local.date()
    if local.time() >= CUTOFF or day.weekday() >= 5:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    # The cutoff day's batch is listed the next weekday.
    listed = day + timedelta(days=1)
    while listed.weekday() >= 5:
        listed += timedelta(days=1)
    return listed


class CategoryQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def lab_codes(self) -> list[str]:
        """The lab's categories, created from ARXIV_CATEGORIES the first time they are asked for."""
        codes = list(self.active().values_list("code", flat=True))
        if not codes and not Category.objects.exists():
            Category.objects.bulk_create(
                [Category(code=code) for code in settings.ARXIV_CATEGORIES], ignore_conflicts=True
            )
            codes = list(self.active().values_list("code", flat=True))
        return codes


class Category(models.Model):
    """One of the arXiv categories the lab follows every day."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    active = models.BooleanField(_("fetched daily"), default=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.code


class PaperQuerySet(models.QuerySet):
    def announced_on(self, day: date):
        return self.filter(models.Q(first_announced=day) | models.Q(last_announced=day))

    def in_category(self, code: str):
        if connection.vendor == "postgresql":
            return self.filter(categories__contains=[code])
        # SQLite has no JSON containment; the quoted code matches one whole list element.
        return self.filter(categories__icontains=f'"{code}"')

    def by_author(self, name: str):
        """Papers listing `name` exactly as written, found through the author index."""
        papers = self.filter(pk__in=PaperAuthor.objects.agreeing([name]).values("paper_id"))
        if connection.vendor == "postgresql":
            return papers.filter(authors__contains=[name])
        return papers.filter(authors__icontains=f'"{name}"')

    def by_names(self, names: Iterable[str]):
        """Papers one of whose authors may agree with one of `names` (a superset: the author
        index holds surnames and initials; `authored` decides)."""
        return self.filter(pk__in=PaperAuthor.objects.agreeing(names).values("paper_id"))

    def for_person(self, user):
        """Papers of `self` (a day's) that name the person as an author or touch one of their
        research interests, as a filter on their ids: so a page ordering them by another column
        sorts these few, instead of walking that column's index across the store testing each."""
        found: set[int] = set()
        names = [str(name) for name in user.arxiv_names[:10] if str(name).strip()]
        if names:
            # A day's author lists are read here: cheaper than joining the author index to them.
            wanted: dict[str, list] = {}
            for name in names:
                for reading in parse_name(name):
                    wanted.setdefault(reading.surname, []).append(reading)
            found.update(
                pk
                for pk, authors in self.values_list("pk", "authors")
                if any(
                    reading.agrees_with(known)
                    for author in authors or []
                    for reading in parse_name(str(author))
                    for known in wanted.get(reading.surname, ())
                )
            )
        phrases = interest_phrases(user.research_interests)
        if phrases and connection.vendor == "postgresql":
            # The phrases travel as parameters; "diffusion model" also finds "diffusion models".
            sql = " || ".join(["phraseto_tsquery('english', %s)"] * len(phrases))
            hit = RawSQL(f"search @@ ({sql})", phrases, output_field=models.BooleanField())  # noqa: S611
            found.update(self.filter(hit).values_list("pk", flat=True))
        elif phrases:
            match = models.Q(pk__in=[])
            for phrase in phrases:
                match |= models.Q(title__icontains=phrase) | models.Q(abstract__icontains=phrase)
            found.update(self.filter(match).values_list("pk", flat=True))
        return self.filter(pk__in=found)

    def latest_day(self) -> date | None:
        return self.aggregate(day=models.Max("first_announced"))["day"]


class Paper(models.Model):
    arxiv_id = models.CharField(_("arXiv id"), max_length=40, unique=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    title = models.TextField(_("title"))
    abstract = models.TextField(_("abstract"), blank=True)
    authors = models.JSONField(_("authors"), default=list)
    primary_category = models.CharField(_("primary category"), max_length=32)
    categories = models.JSONField(_("categories"), default=list)
    published = models.DateTimeField(_("first version"))
    updated = models.DateTimeField(_("latest version"))
    comment = models.TextField(_("comment"), blank=True)
    journal_ref = models.TextField(_("journal reference"), blank=True)
    doi = models.CharField(_("DOI"), max_length=255, blank=True)
    pdf_url = models.URLField(_("PDF"), max_length=255)
    withdrawn = models.BooleanField(_("withdrawn"), default=False)
    # Listing dates on arXiv: of the first version, and of the latest one.
    first_announced = models.DateField(_("first announced"))
    last_announced = models.DateField(_("last announced"))
    # [{"version": 1, "updated": "2026-06-29T17:02:11+00:00"}, ...] as far as the portal has seen.
    versions = models.JSONField(_("versions"), default=list)
    fetched_at = models.DateTimeField(_("fetched"), default=timezone.now)

    objects = PaperQuerySet.as_manager()

    # Set on each paper by the listings that have them (views and papers/queries.py). The class
    # defaults spare a paper card's template a failed lookup, for which Django runs dir() on
    # the paper: about a millisecond a card on a feed page (cProfile of /papers/).
    snippet = ""
    is_bookmarked = False
    is_new_since_visit = False

    class Meta:
        ordering = ["-first_announced", "-arxiv_id"]
        indexes = [
            models.Index(fields=["-first_announced", "-arxiv_id"], name="paper_feed_order"),
            models.Index(fields=["last_announced"], name="paper_last_announced"),
            models.Index(
                fields=["primary_category", "-first_announced", "-arxiv_id"], name="paper_primary_feed"
            ),
            # A person's recent papers, a review round's three years of expertise.
            models.Index(fields=["published"], name="paper_published"),
        ]
        verbose_name = _("paper")
        verbose_name_plural = _("papers")

    def __str__(self) -> str:
        return f"{self.arxiv_id}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("papers:paper", args=[self.arxiv_id])

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"


class PaperAuthorQuerySet(models.QuerySet):
    def agreeing(self, names: Iterable[str]):
        """The rows of every author whose name may agree with one of `names` (names.lookups)."""
        wanted = [key for name in {str(n) for n in names} for key in _wanted_keys(name)]
        if connection.vendor == "postgresql":
            # One statement whatever the number of names: each wanted key is an equality on
            # the lookup index, where an OR of hundreds of filters costs Django and PostgreSQL
            # more to build and plan than to run.
            sql, params = _agreeing_sql(wanted, "author.id")
            return self.filter(pk__in=RawSQL(sql, params))  # noqa: S611 - values are parameters
        match = models.Q(pk__in=[])
        for surname, initial, first in wanted:
            key = models.Q(surname=surname)
            if initial is not None:
                key &= models.Q(initial=initial)
            if first is not None:
                key &= models.Q(first=first)
            match |= key
        return self.filter(match)


def _wanted_keys(name: str) -> list[tuple[str, str | None, str | None]]:
    """The (surname, initial, first) keys an author agreeing with `name` is filed under; None
    where any value will do."""
    return [
        (surname, initial, first)
        for surname, initials, firsts in lookups(name)
        for initial in (initials if initials is not None else [None])
        for first in (firsts if firsts is not None and initial else [None])
    ]


def _agreeing_sql(keys, columns: str) -> tuple[str, list]:
    """_AGREEING for `keys` (from _wanted_keys), selecting `columns` of the authors found."""
    surnames = [s for s, i, _f in keys if i is None]
    initials = [(s, i) for s, i, f in keys if i is not None and f is None]
    firsts = [(s, i, f) for s, i, f in keys if f is not None]
    return _AGREEING.format(columns=columns), [surnames, *_columns(initials, 2), *_columns(firsts, 3)]


def _columns(rows: list[tuple], width: int) -> list[list[str]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


# Wanted keys by how much of a name they fix: a surname, a surname and initial, or all three.
# Each joins on the lookup index by equality.
_AGREEING = """
    SELECT {columns} FROM papers_paperauthor author
    JOIN unnest(%s::text[]) AS wanted (surname) USING (surname)
    UNION ALL
    SELECT {columns} FROM papers_paperauthor author
    JOIN unnest(%s::text[], %s::text[]) AS wanted (surname, initial) USING (surname, initial)
    UNION ALL
    SELECT {columns} FROM papers_paperauthor author
    JOIN unnest(%s::text[], %s::text[], %s::text[]) AS wanted (surname, initial, first)
      USING (surname, initial, first)
"""


class PaperAuthor(models.Model):
    """One reading of one of a paper's authors, by folded surname and first initial.

    Kept by `upsert_papers` in the transaction that writes the paper, so a person's papers, an
    author watch rule's matches and a draft author's co-authors are read through an index
    instead of every paper's author list. A name without a comma has two readings ("Jung-Woo
    Ha" is filed under "ha" and under "jungwoo"), so an author may have two rows.
    """

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="author_index", db_index=False)
    position = models.PositiveSmallIntegerField()  # in `paper.authors`
    surname = models.CharField(max_length=64)
    initial = models.CharField(max_length=1, blank=True)
    first = models.CharField(max_length=32, blank=True)  # the first given name, or its initial
    # Every given name ("jung woo"): with it the index alone says whether a name agrees, and a
    # person's papers are found without reading a million papers' author lists.
    given = models.CharField(max_length=128, blank=True, default="")

    objects = PaperAuthorQuerySet.as_manager()

    class Meta:
        constraints = [
            # Also the index that finds a paper's rows when the paper is rewritten or deleted.
            models.UniqueConstraint(
                fields=["paper", "position", "surname", "first"], name="paper_author_once"
            ),
        ]
        indexes = [
            models.Index(fields=["surname", "initial", "first", "paper", "given"], name="paper_author_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.paper_id}#{self.position} {self.surname} {self.initial}"

    @staticmethod
    def rows_for(paper_id: int, authors: list) -> list["PaperAuthor"]:
        return [
            PaperAuthor(
                paper_id=paper_id,
                position=position,
                surname=surname,
                initial=initial,
                first=first,
                given=given,
            )
            for position, author in enumerate(authors[:32767])
            for surname, initial, first, given in index_entries(str(author))
        ]


def authored(names_of: Mapping[object, Iterable[str]], papers=None) -> dict[object, set[int]]:
    """{owner: ids of the papers of `papers` (default: all) one of whose authors agrees with one
    of the owner's names}. One query, answered from the author index alone."""
    # Each owner's name under every key it is looked up by: a candidate author is compared only
    # with the names its own keys were found for, not with every name of its surname ("Wang").
    wanted: dict[tuple, list[tuple[object, str]]] = {}
    readings: dict[str, list] = {}
    for owner, names in names_of.items():
        for name in {str(n) for n in names if str(n).strip()}:
            readings[name] = [cut(reading) for reading in parse_name(name)]
            for key in _wanted_keys(name):
                wanted.setdefault(key, []).append((owner, name))
    found: dict[object, set[int]] = {}
    agree: dict[tuple, bool] = {}  # a prolific author's reading recurs on every paper
    for paper_id, surname, initial, first, given in _candidates(wanted, readings, papers):
        for key in ((surname, None, None), (surname, initial, None), (surname, initial, first)):
            for owner, name in wanted.get(key, ()):
                if paper_id in found.get(owner, ()):
                    continue
                if (same := agree.get((surname, given, name))) is None:
                    reading = stored_reading(surname, given)
                    same = agree[surname, given, name] = any(reading.agrees_with(r) for r in readings[name])
                if same:
                    found.setdefault(owner, set()).add(paper_id)
    return found


_CANDIDATE_COLUMNS = ["paper_id", "surname", "initial", "first", "given"]


def _candidates(wanted: dict[tuple, list], names: Iterable[str], papers=None):
    """(paper, surname, initial, first, given) of every author filed under one of the `wanted`
    keys, as the author index holds them (on PostgreSQL, read from the lookup index alone)."""
    if not wanted:
        return []
    if connection.vendor != "postgresql":
        rows = PaperAuthor.objects.agreeing(names)
        if papers is not None:
            rows = rows.filter(paper__in=papers.values("pk"))
        return rows.values_list(*_CANDIDATE_COLUMNS).iterator(chunk_size=5000)
    sql, params = _agreeing_sql(wanted, ", ".join(f"author.{column}" for column in _CANDIDATE_COLUMNS))
    if papers is not None:
        within, within_params = papers.values("pk").query.sql_with_params()
        sql = f"SELECT * FROM ({sql}) found WHERE paper_id IN ({within})"  # noqa: S608 - Django's own SQL
        params += list(within_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class FetchRunQuerySet(models.QuerySet):
    def daily(self):
        return self.filter(kind=FetchRun.Kind.DAILY)

    def newest_stored(self) -> datetime | None:
        """The latest `updated` time the succeeded runs stored: what arXiv showed when they ran."""
        return self.filter(status=FetchRun.Status.SUCCEEDED).aggregate(at=models.Max("checkpoint"))["at"]


class FetchRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    class Kind(models.TextChoices):
        DAILY = "daily", _("daily")
        BACKFILL = "backfill", _("backfill")
        OAI = "oai", _("OAI-PMH backfill")
        ADDED = "added", _("added by id")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.DAILY)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RUNNING)
    categories = models.JSONField(_("categories"), default=list)
    since = models.DateTimeField(_("window start"), null=True, blank=True)
    until = models.DateTimeField(_("window end"), null=True, blank=True)
    # The latest `updated` time up to which every paper is stored: where the next run resumes.
    checkpoint = models.DateTimeField(_("stored up to"), null=True, blank=True)
    # A daily run's new announcement: what arXiv added after the point earlier runs reached. It is
    # fetched before the overlap, and matched as soon as it is stored.
    fresh_since = models.DateTimeField(_("new since"), null=True, blank=True)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    total = models.PositiveIntegerField(_("results announced by arXiv"), default=0)
    new_count = models.PositiveIntegerField(_("new"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    # What this run stored as new or changed, so matching reads exactly these and never what
    # another process (a paper added by id, a backfill) stored in the meantime.
    papers = models.ManyToManyField(Paper, verbose_name=_("papers"), blank=True, related_name="fetch_runs")
    # A running run is alive while this lies ahead: its worker moves it on while it fetches, and a
    # new run gets one to be picked up in. Past it, the worker died or the task message was lost
    # (Redis flushed), and the watcher closes the run so that the next one resumes from it.
    lease_until = models.DateTimeField(_("alive until"), null=True, blank=True)

    objects = FetchRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        verbose_name = _("fetch run")
        verbose_name_plural = _("fetch runs")
        constraints = [
            # Two schedulers or workers deciding at once still start one daily run.
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(kind="daily", status="running"),
                name="fetch_run_one_daily_running",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None

    @property
    def stored(self) -> int:
        return self.new_count + self.updated_count + self.unchanged_count

    @property
    def pushes(self) -> bool:
        """Only the daily run brings news; a backfill, a harvest or a paper added by id is history,
        and pushing it would send people old papers as if they were new."""
        return self.kind == self.Kind.DAILY


class TagQuerySet(models.QuerySet):
    def unused(self):
        return self.filter(~models.Exists(Bookmark.tags.through.objects.filter(tag=models.OuterRef("pk"))))


class Tag(models.Model):
    """A person's own label for papers in their library. Its pages and feeds are addressed by id:
    a name may hold any character, a slash among them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="paper_tags")
    name = models.CharField(_("name"), max_length=50)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="tag_unique_per_person")]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("papers:tag", args=[self.pk])


class Bookmark(models.Model):
    class State(models.TextChoices):
        TO_READ = "to_read", _("to read")
        READ = "read", _("read")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarks")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="bookmarks")
    state = models.CharField(_("reading state"), max_length=10, choices=State.choices, default=State.TO_READ)
    note = models.TextField(_("private note"), blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="bookmarks", verbose_name=_("tags"))
    created_at = models.DateTimeField(_("saved"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "paper"], name="bookmark_unique_per_person")]
        verbose_name = _("bookmark")
        verbose_name_plural = _("bookmarks")

    def __str__(self) -> str:
        return f"{self.user} · {self.paper.arxiv_id}"


class FeedVisit(models.Model):
    """When a person last opened the feed, for the "new since your last visit" marker."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_visit")
    previous_at = models.DateTimeField(null=True, blank=True)
    last_at = models.DateTimeField(default=timezone.now)

    # A visit within this long of the last one is the same sitting: the marker stays put.
    SITTING = timedelta(minutes=30)

    def __str__(self) -> str:
        return f"{self.user} {self.last_at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(cls, user) -> datetime | None:
        """Note a visit to the feed; return the moment papers count as new since."""
        now = timezone.now()
        visit, created = cls.objects.get_or_create(user=user, defaults={"last_at": now})
        if created:
            return None
        if now - visit.last_at > cls.SITTING:
            cls.objects.filter(pk=visit.pk).update(previous_at=visit.last_at, last_at=now)
            return visit.last_at
        return visit.previous_at


def interest_phrases(text: str) -> list[str]:
    """A person's research interests as phrases: "diffusion models, video" → two phrases."""
    return [p.strip() for p in re.split(r"[,;\n]", text) if len(p.strip()) > 2][:20]


# Push and discussion: watch rules and what they produce, sharing, threads, recommendations
# and the secret feed URLs.


class WatchRuleQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def visible_to(self, user):
        """A person's own rules, their team's (every member sees what the team watches) and
        those of the teams they lead. Membership and leads are set by admins."""
        mine = models.Q(person=user) | models.Q(team_id__in=user.led_team_ids)
        if user.team_id:
            mine |= models.Q(team_id=user.team_id)
        return self.filter(mine)

    def editable_by(self, user):
        """A person edits their own rules; a lead also those of the teams they lead."""
        return self.filter(models.Q(person=user) | models.Q(team_id__in=user.led_team_ids))


class WatchRule(models.Model):
    """What a person or a team wants pushed: every criterion that is set must hold."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="watch_rules",
    )
    team = models.ForeignKey(
        "lab_portal.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="watch_rules",
    )
    name = models.CharField(_("name"), max_length=100)
    query = models.TextField(
        _("keywords"),
        blank=True,
        help_text=_('Words and "quoted phrases" with AND, OR, NOT and parentheses, in title and abstract.'),
    )
    authors = models.JSONField(_("authors"), default=list, blank=True)
    categories = models.JSONField(_("categories"), default=list, blank=True)
    # "Like my library": the recommender's score (0 to 1) a paper needs; null: not used.
    min_recommendation = models.FloatField(_("like my library, at least"), null=True, blank=True)
    include_updates = models.BooleanField(_("also new versions"), default=False)
    # Matches go to chat in one post per announcement; an urgent rule (an author watch, say)
    # sends each of its papers the moment it is matched, and the post then leaves it out.
    in_chat = models.BooleanField(_("in the morning chat post"), default=True)
    urgent = models.BooleanField(_("urgent: send to chat at once"), default=False)
    in_digest = models.BooleanField(_("in the morning e-mail"), default=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = WatchRuleQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("watch rule")
        verbose_name_plural = _("watch rules")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, team__isnull=True)
                | models.Q(person__isnull=True, team__isnull=False),
                name="watch_rule_has_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner})"

    @property
    def owner(self):
        return self.person or self.team

    @property
    def is_team_rule(self) -> bool:
        return self.team_id is not None

    def editable_by(self, user) -> bool:
        if self.person_id is not None:
            return self.person_id == user.pk
        return user.leads_team(self.team_id)

    def recipients(self):
        """The people a match notifies: the owner, or every active member of the team."""
        from lab_portal.models import User

        if self.person_id is not None:
            return User.objects.filter(pk=self.person_id, is_active=True)
        return User.objects.filter(team_id=self.team_id, is_active=True)


class NotificationQuerySet(models.QuerySet):
    def for_digest(self):
        return self.filter(digest_sent_at__isnull=True).filter(
            models.Q(rule__isnull=True) | models.Q(rule__in_digest=True)
        )

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """Something a person should know about a paper, and why: the record behind pushes and digests."""

    class Kind(models.TextChoices):
        MATCH = "match", _("watch rule")
        SHARE = "share", _("shared with you")
        MENTION = "mention", _("mention")
        RECOMMENDATION = "recommendation", _("recommendation")
        COMMENT = "comment", _("new comment in a thread you follow")

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    paper = models.ForeignKey(
        Paper, verbose_name=_("paper"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MATCH)
    rule = models.ForeignKey(
        WatchRule,
        verbose_name=_("watch rule"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    share = models.ForeignKey(
        "Share", verbose_name=_("share"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey(
        "Comment",
        verbose_name=_("comment"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # The paper's version the notification is about: a new version is a new notification.
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    reason = models.TextField(_("why"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    pushed_at = models.DateTimeField(_("pushed to chat at"), null=True, blank=True)
    # When a morning chat post took the match in (shown, or counted in its "and N more"): a later
    # matching of the same run posts only the matches no post has taken yet.
    chat_post_at = models.DateTimeField(_("in a chat post at"), null=True, blank=True)
    digest_sent_at = models.DateTimeField(_("in the digest of"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "paper", "rule", "version"],
                condition=models.Q(rule__isnull=False),
                name="notification_once_per_rule_version",
            ),
            models.UniqueConstraint(
                fields=["person", "comment"],
                condition=models.Q(comment__isnull=False),
                name="notification_once_per_comment",
            ),
            models.UniqueConstraint(
                fields=["person", "share"],
                condition=models.Q(share__isnull=False),
                name="notification_once_per_share",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "digest_sent_at"], name="notification_digest"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.paper.arxiv_id} ({self.kind})"


class ShareQuerySet(models.QuerySet):
    def recent(self):
        return self.order_by("-created_at", "-pk")

    def with_lab(self):
        """The shares the whole lab sees (its chats, the Lab page and its feed)."""
        return self.filter(to_lab=True)


class Dismissal(models.Model):
    """A paper a person marked "not for me": a negative example for their recommendations."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="dismissals",
    )
    paper = models.ForeignKey(
        Paper, verbose_name=_("paper"), on_delete=models.CASCADE, related_name="dismissals"
    )
    created_at = models.DateTimeField(_("marked at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["person", "paper"], name="dismissal_once_per_person")]
        verbose_name = _("not for me")
        verbose_name_plural = _("not for me")

    def __str__(self) -> str:
        return f"{self.person} ✗ {self.paper.arxiv_id}"


class Share(models.Model):
    """A person telling others about a paper, with a note on why it matters: the whole lab,
    teams, chosen people, or any mix of them."""

    paper = models.ForeignKey(Paper, verbose_name=_("paper"), on_delete=models.CASCADE, related_name="shares")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("shared by"), on_delete=models.CASCADE, related_name="shares"
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("shared at"), default=timezone.now)
    to_lab = models.BooleanField(_("with the whole lab"), default=True)
    teams = models.ManyToManyField(
        "lab_portal.Team", verbose_name=_("with teams"), blank=True, related_name="shares"
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("with people"), blank=True, related_name="shares_received"
    )

    objects = ShareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["-created_at"], name="share_recent")]
        verbose_name = _("share")
        verbose_name_plural = _("shares")

    def __str__(self) -> str:
        return f"{self.person} → {self.paper.arxiv_id}"


class CommentQuerySet(models.QuerySet):
    def visible(self):
        """Deleted comments stay as rows (their replies hang on them) but show no text."""
        return self.filter(deleted_at__isnull=True)


class Comment(models.Model):
    """One post in a paper's thread; `body` is Markdown with math, rendered and sanitised on display."""

    paper = models.ForeignKey(
        Paper, verbose_name=_("paper"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("reply to"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="replies",
    )
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("posted at"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["paper", "created_at"], name="comment_thread")]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self) -> str:
        return f"{self.author} on {self.paper.arxiv_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def editable_by(self, user) -> bool:
        return self.author_id == user.pk and not self.is_deleted

    def get_edit_url(self) -> str:
        return reverse("papers:comment-edit", args=[self.pk])

    def get_delete_url(self) -> str:
        return reverse("papers:comment-delete", args=[self.pk])


class Follower(models.Model):
    """A person who hears about every new comment in a paper's thread."""

    paper = models.ForeignKey(
        Paper, verbose_name=_("paper"), on_delete=models.CASCADE, related_name="followers"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="followed_threads",
    )
    created_at = models.DateTimeField(_("following since"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "person"], name="follower_once_per_thread"),
        ]
        verbose_name = _("thread follower")
        verbose_name_plural = _("thread followers")

    def __str__(self) -> str:
        return f"{self.person} follows {self.paper.arxiv_id}"


class Reaction(models.Model):
    class Emoji(models.TextChoices):
        THUMBS_UP = "👍", _("thumbs up")
        HEART = "❤️", _("heart")
        TADA = "🎉", _("celebrate")
        THINKING = "🤔", _("thinking")
        EYES = "👀", _("looking")
        LAUGH = "😄", _("laugh")

    comment = models.ForeignKey(
        Comment, verbose_name=_("comment"), on_delete=models.CASCADE, related_name="reactions"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="reactions"
    )
    emoji = models.CharField(_("emoji"), max_length=8, choices=Emoji.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["comment", "person", "emoji"], name="reaction_once_per_emoji"),
        ]
        verbose_name = _("reaction")
        verbose_name_plural = _("reactions")

    def __str__(self) -> str:
        return f"{self.emoji} {self.person} on comment {self.comment_id}"


class FeedToken(FeedKey):
    """The secret in a person's Atom feed URLs (lab_portal.models.FeedKey)."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="feed_tokens",
    )

    class Meta(FeedKey.Meta):
        verbose_name = _("feed token")
        verbose_name_plural = _("feed tokens")


class RecommendationQuerySet(models.QuerySet):
    def for_day(self, person, day: date):
        return self.filter(person=person, day=day).order_by("-score", "pk")


class Recommendation(models.Model):
    """How much a paper of `day` looks like a person's library (score 0 to 1), and why."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="recommendations",
    )
    paper = models.ForeignKey(
        Paper, verbose_name=_("paper"), on_delete=models.CASCADE, related_name="recommendations"
    )
    score = models.FloatField(_("score"))
    reason = models.TextField(_("why"), blank=True)
    day = models.DateField(_("day"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = RecommendationQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "-score", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["person", "paper", "day"], name="recommendation_once_per_day"),
        ]
        indexes = [models.Index(fields=["person", "day", "-score"], name="recommendation_ranking")]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")

    def __str__(self) -> str:
        return f"{self.person} · {self.paper.arxiv_id} {self.score:.2f}"


class RecommenderState(models.Model):
    """What the last training left for a person: small facts only, the model is rebuilt each run."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="recommender_state",
    )
    trained_at = models.DateTimeField(_("trained at"), null=True, blank=True)
    library_size = models.PositiveIntegerField(_("library papers"), default=0)
    # [["diffusion", 1.7], ...]: the terms that weigh most, for reasons and for the person's page.
    top_terms = models.JSONField(_("top terms"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("recommender state")
        verbose_name_plural = _("recommender states")

    def __str__(self) -> str:
        return f"{self.person} ({self.library_size} papers)"
