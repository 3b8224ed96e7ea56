"""Venues and their deadlines, drafts with their authors and PDF versions, and who reviews them.

Who may see a draft (its page, its PDFs, later its reviews): its lab authors, its assigned
reviewers and the leads, and nobody else. `Draft.objects.visible_to(user)` is the one place that
says so; every view and the seminar talk page go through it.
"""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lab_portal.models import validate_timezone

from .uploads import private_storage

# Anywhere on Earth is UTC-12. The POSIX-style Etc/ names invert the sign: "Etc/GMT+12" is
# twelve hours *behind* UTC, i.e. UTC-12, the zone in which a deadline passes last on Earth.
# ("Etc/GMT-12" would be UTC+12, a day early.)
ANYWHERE_ON_EARTH = "Etc/GMT+12"

# Models with a `timezone` field shadow the module inside their class body.
_now = timezone.now


class Venue(models.Model):
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(
        _("short name"), max_length=40, unique=True, help_text=_("As people say it, for example NeurIPS.")
    )
    url = models.URLField(_("website"), max_length=500, blank=True)

    class Meta:
        ordering = ["short_name"]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")

    def __str__(self) -> str:
        return self.short_name


class DeadlineQuerySet(models.QuerySet):
    def upcoming(self, now=None):
        return self.filter(paper_deadline__gte=now or timezone.now()).order_by("paper_deadline")


class Deadline(models.Model):
    """One year's submission deadlines of a venue, entered as wall-clock times in the venue's zone."""

    venue = models.ForeignKey(
        Venue, verbose_name=_("venue"), on_delete=models.CASCADE, related_name="deadlines"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    abstract_deadline = models.DateTimeField(_("abstract deadline"), null=True, blank=True)
    paper_deadline = models.DateTimeField(_("paper deadline"))
    # The zone the times were announced in, so they are shown as the venue states them (23:59 AoE).
    timezone = models.CharField(
        _("time zone"), max_length=64, default=ANYWHERE_ON_EARTH, validators=[validate_timezone]
    )
    created_at = models.DateTimeField(_("created"), default=_now, editable=False)

    objects = DeadlineQuerySet.as_manager()

    class Meta:
        ordering = ["paper_deadline", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "paper_deadline"], name="deadline_once_per_venue"),
        ]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")

    def __str__(self) -> str:
        return f"{self.venue.short_name} {self.year}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def zone_label(self) -> str:
        return _("AoE") if self.timezone == ANYWHERE_ON_EARTH else self.timezone

    @property
    def local_paper_deadline(self):
        return self.paper_deadline.astimezone(self.zone)

    @property
    def local_abstract_deadline(self):
        return self.abstract_deadline.astimezone(self.zone) if self.abstract_deadline else None

    @property
    def is_past(self) -> bool:
        return timezone.now() > self.paper_deadline

    def default_review_by(self) -> date:
        """REVIEW_DAYS_BEFORE_DEADLINE calendar days before the paper deadline's date in its own
        zone (counted on the venue's calendar, not by subtracting hours from the UTC instant)."""
        return self.local_paper_deadline.date() - timedelta(days=settings.REVIEW_DAYS_BEFORE_DEADLINE)


class DraftQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        if user.is_lead:
            return self.all()
        authored = DraftAuthor.objects.filter(draft=OuterRef("pk"), person=user)
        reviewing = ReviewAssignment.objects.filter(draft=OuterRef("pk"), reviewer=user)
        return self.filter(Q(Exists(authored)) | Q(Exists(reviewing)))

    def authored_by(self, user):
        return self.filter(Exists(DraftAuthor.objects.filter(draft=OuterRef("pk"), person=user)))

    def reviewed_by(self, user):
        return self.filter(Exists(ReviewAssignment.objects.filter(draft=OuterRef("pk"), reviewer=user)))

    def in_review(self):
        return self.filter(status=Draft.Status.IN_REVIEW)


class Draft(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        REVIEWED = "reviewed", _("Reviewed")
        SUBMITTED = "submitted", _("Submitted")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    title = models.CharField(_("title"), max_length=300)
    abstract = models.TextField(_("abstract"), help_text=_("Markdown, with $math$."))
    deadline = models.ForeignKey(
        Deadline, verbose_name=_("target deadline"), on_delete=models.PROTECT, related_name="drafts"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    review_by = models.DateField(_("reviews due"))
    anonymous = models.BooleanField(
        _("anonymous review"), default=False, help_text=_("Reviewers do not see the authors' names.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="created_drafts",
    )
    created_at = models.DateTimeField(_("created"), default=_now, editable=False)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)
    # The publication record once accepted: the arXiv paper, when it appears in the feed.
    paper = models.ForeignKey(
        "papers.Paper",
        verbose_name=_("arXiv paper"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drafts",
    )

    objects = DraftQuerySet.as_manager()

    class Meta:
        ordering = ["review_by", "pk"]
        indexes = [models.Index(fields=["status", "review_by"], name="draft_status_due")]
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("reviews:draft", args=[self.pk])

    def is_visible_to(self, user) -> bool:
        return Draft.objects.visible_to(user).filter(pk=self.pk).exists()

    def is_author(self, user) -> bool:
        return user.is_authenticated and self.authors.filter(person=user).exists()

    def shows_authors_to(self, user) -> bool:
        """Anonymous review hides the names from reviewers; authors and leads always see them."""
        return not self.anonymous or user.is_lead or self.is_author(user)

    @property
    def latest_version(self) -> "DraftVersion | None":
        return self.versions.order_by("-number").first()


class DraftAuthor(models.Model):
    """A lab member (person) or an outside co-author (name and e-mail), in author order."""

    draft = models.ForeignKey(
        Draft, verbose_name=_("draft"), on_delete=models.CASCADE, related_name="authors"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lab member"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="draft_authorships",
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["draft", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(person__isnull=False) | ~Q(name=""), name="draft_author_person_or_name"
            ),
            models.UniqueConstraint(
                fields=["draft", "person"], condition=Q(person__isnull=False), name="draft_author_once"
            ),
        ]
        verbose_name = _("author")
        verbose_name_plural = _("authors")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.person.name if self.person_id else self.name


def version_path(instance: "DraftVersion", filename: str) -> str:
    # The uploaded name is never used: it is the person's, and may say anything.
    return f"drafts/{instance.draft_id}/v{instance.number}.pdf"


class DraftVersion(models.Model):
    draft = models.ForeignKey(
        Draft, verbose_name=_("draft"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("PDF"), upload_to=version_path, storage=private_storage, max_length=300)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    note = models.TextField(_("what changed"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="draft_versions",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=_now, editable=False)

    class Meta:
        ordering = ["draft", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "number"], name="draft_version_number_once"),
        ]
        verbose_name = _("draft version")
        verbose_name_plural = _("draft versions")

    def __str__(self) -> str:
        return f"{self.draft} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:download", args=[self.draft_id, self.number])


class ReviewAssignment(models.Model):
    """A reviewer asked to read a draft; review rounds and the reviews themselves build on it."""

    draft = models.ForeignKey(
        Draft, verbose_name=_("draft"), on_delete=models.CASCADE, related_name="assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.CASCADE,
        related_name="review_assignments",
    )
    created_at = models.DateTimeField(_("created"), default=_now, editable=False)
    # The round that assigned it (null: assigned by hand before rounds existed) and the affinity
    # the plan saw, so the lead's board can show why a pair was chosen.
    round = models.ForeignKey(
        "ReviewRound",
        verbose_name=_("review round"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assignments",
    )
    affinity = models.FloatField(_("affinity"), null=True, blank=True)

    class Meta:
        ordering = ["draft", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "reviewer"], name="review_assignment_once"),
        ]
        verbose_name = _("review assignment")
        verbose_name_plural = _("review assignments")

    def __str__(self) -> str:
        return f"{self.reviewer} → {self.draft}"


class Conflict(models.Model):
    """A person who must not review a draft, with the reason they (or a lead) gave.

    Always one person and one draft: a whole team or e-mail domain is never conflicted, because in
    a lab that would leave most drafts without reviewers who know the field."""

    draft = models.ForeignKey(
        Draft, verbose_name=_("draft"), on_delete=models.CASCADE, related_name="conflicts"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="review_conflicts",
    )
    reason = models.CharField(_("reason"), max_length=500)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("declared by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="declared_conflicts",
    )
    created_at = models.DateTimeField(_("declared"), default=_now, editable=False)

    class Meta:
        ordering = ["draft", "pk"]
        constraints = [models.UniqueConstraint(fields=["draft", "person"], name="conflict_once")]
        verbose_name = _("conflict")
        verbose_name_plural = _("conflicts")

    def __str__(self) -> str:
        return f"{self.person} ✕ {self.draft}"


class Bid(models.Model):
    class Level(models.TextChoices):
        EAGER = "eager", _("Eager")
        WILLING = "willing", _("Willing")
        NOT_WILLING = "not_willing", _("Not willing")

    draft = models.ForeignKey(Draft, verbose_name=_("draft"), on_delete=models.CASCADE, related_name="bids")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="bids"
    )
    level = models.CharField(_("bid"), max_length=20, choices=Level.choices, default=Level.WILLING)
    created_at = models.DateTimeField(_("created"), default=_now, editable=False)

    class Meta:
        ordering = ["draft", "pk"]
        constraints = [models.UniqueConstraint(fields=["draft", "person"], name="bid_once")]
        verbose_name = _("bid")
        verbose_name_plural = _("bids")

    def __str__(self) -> str:
        return f"{self.person} {self.level} {self.draft}"


class ReviewRoundQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=ReviewRound.Status.OPEN)


class ReviewRound(models.Model):
    """A set of drafts to assign at once, with the numbers the solver must meet."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PUBLISHED = "published", _("Published")

    name = models.CharField(_("name"), max_length=200)
    drafts = models.ManyToManyField(Draft, verbose_name=_("drafts"), related_name="review_rounds")
    reviewers_per_draft = models.PositiveSmallIntegerField(_("reviewers per draft"), default=3)
    max_load = models.PositiveSmallIntegerField(_("most reviews per person"), default=4)
    min_load = models.PositiveSmallIntegerField(_("fewest reviews per person"), default=0)
    due = models.DateField(_("reviews due"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="opened_rounds",
    )
    created_at = models.DateTimeField(_("opened"), default=_now, editable=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    objects = ReviewRoundQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_load__lte=models.F("max_load")), name="round_loads_ordered"
            ),
        ]
        verbose_name = _("review round")
        verbose_name_plural = _("review rounds")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reviews:round", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN
