import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ARXIV_TZ = ZoneInfo("America/New_York")
# arXiv's daily cutoff: what is submitted before 14:00 US Eastern on a weekday is announced that
# evening at 20:00, and listed under the next day's date (Friday's batch on Monday).
CUTOFF = time(14, 0)


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
        if connection.vendor == "postgresql":
            return self.filter(authors__contains=[name])
        return self.filter(authors__icontains=f'"{name}"')

    def for_person(self, user):
        """Papers that name the person as an author or touch one of their research interests."""
        match = models.Q(pk__in=[])
        for name in user.arxiv_names[:10]:
            match |= models.Q(authors__icontains=name)
        for phrase in interest_phrases(user.research_interests):
            match |= models.Q(title__icontains=phrase) | models.Q(abstract__icontains=phrase)
        return self.filter(match)

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

    class Meta:
        ordering = ["-first_announced", "-arxiv_id"]
        indexes = [
            models.Index(fields=["-first_announced", "-arxiv_id"], name="paper_feed_order"),
            models.Index(fields=["last_announced"], name="paper_last_announced"),
            models.Index(
                fields=["primary_category", "-first_announced", "-arxiv_id"], name="paper_primary_feed"
            ),
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


class FetchRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    class Kind(models.TextChoices):
        DAILY = "daily", _("daily")
        BACKFILL = "backfill", _("backfill")
        OAI = "oai", _("OAI-PMH backfill")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.DAILY)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RUNNING)
    categories = models.JSONField(_("categories"), default=list)
    since = models.DateTimeField(_("window start"), null=True, blank=True)
    until = models.DateTimeField(_("window end"), null=True, blank=True)
    # The latest `updated` time up to which every paper is stored: where the next run resumes.
    checkpoint = models.DateTimeField(_("stored up to"), null=True, blank=True)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    total = models.PositiveIntegerField(_("results announced by arXiv"), default=0)
    new_count = models.PositiveIntegerField(_("new"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        verbose_name = _("fetch run")
        verbose_name_plural = _("fetch runs")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None

    @property
    def stored(self) -> int:
        return self.new_count + self.updated_count + self.unchanged_count


class Tag(models.Model):
    """A person's own label for papers in their library."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="paper_tags")
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="tag_unique_per_person")]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


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
