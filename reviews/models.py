"""Venues and their deadlines, drafts with their authors and PDF versions, and who reviews them.

Who may see a draft (its page, its PDFs, later its reviews): its lab authors, its assigned
reviewers and the leads, and nobody else. `Draft.objects.visible_to(user)` is the one place that
says so; every view and the seminar talk page go through it.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from lab_portal.models import validate_timezone

# Anywhere on Earth is UTC-12. The POSIX-style Etc/ names invert the sign: "Etc/GMT+12" is
# twelve hours *behind* UTC, i.e. UTC-12, the zone in which a deadline passes last on Earth.
# ("Etc/GMT-12" would be UTC+12, a day early.)
ANYWHERE_ON_EARTH = "Etc/GMT+12"

# How long before and after a talk that presents a draft its audience may read the draft.
DRAFT_READING_WINDOW = timedelta(days=7)

# Models with a `timezone` field shadow the module inside their class body.
_now = timezone.now
# A deadline turns urgent on every page in its last week.
URGENT_BEFORE = timedelta(days=7)


@dataclass(frozen=True)
class Countdown:
    """How long until a deadline instant (an AoE deadline is already stored as its instant):
    whole days left, or hours in the last day."""

    days: int
    hours: int
    passed: bool
    urgent: bool

    @classmethod
    def until(cls, moment: datetime, now: datetime | None = None) -> "Countdown":
        left = moment - (now or timezone.now())
        if left <= timedelta(0):
            return cls(days=0, hours=0, passed=True, urgent=False)
        return cls(
            days=left.days, hours=int(left.total_seconds() // 3600), passed=False, urgent=left < URGENT_BEFORE
        )


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

    @property
    def countdown(self) -> Countdown:
        return Countdown.until(self.paper_deadline)

    @property
    def abstract_countdown(self) -> Countdown | None:
        return Countdown.until(self.abstract_deadline) if self.abstract_deadline else None

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

    def readable_by(self, user, now: datetime | None = None):
        """Drafts this person may read the current version of: those they may see, those their
        authors opened to the lab, and those a talk presents to its audience (everyone signed up,
        the host and the speaker) from a week before the talk until a week after it.

        The talk rows are reached through the reverse relation from seminars, never by importing
        that app: a draft knows nothing of talks but that they may present it."""
        if not user.is_authenticated:
            return self.none()
        if user.is_lead:
            return self.all()
        now = now or timezone.now()
        window = Q(
            talks__status="scheduled",
            talks__starts_at__lte=now + DRAFT_READING_WINDOW,
            talks__ends_at__gte=now - DRAFT_READING_WINDOW,
        )
        audience = (
            Q(talks__host=user)
            | Q(talks__speaker_user=user)
            | Q(talks__registrations__user=user, talks__registrations__status__in=["confirmed", "waitlisted"])
        )
        presented = Draft.objects.filter(window & audience).values("pk")
        return self.filter(
            Q(pk__in=self.visible_to(user).values("pk")) | Q(open_to_lab=True) | Q(pk__in=presented)
        )

    def authored_by(self, user):
        return self.filter(Exists(DraftAuthor.objects.filter(draft=OuterRef("pk"), person=user)))

    def reviewed_by(self, user):
        return self.filter(Exists(ReviewAssignment.objects.filter(draft=OuterRef("pk"), reviewer=user)))

    def in_review(self):
        return self.filter(status=Draft.Status.IN_REVIEW)

    def heading_for_deadline(self, now: datetime | None = None):
        """Drafts not yet submitted whose target deadline is still ahead."""
        before = [Draft.Status.DRAFT, Draft.Status.IN_REVIEW, Draft.Status.REVIEWED]
        return self.filter(status__in=before, deadline__paper_deadline__gt=now or timezone.now())


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
    # When the status last changed: the publication record dates an acceptance by it.
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    # The publication record once accepted: the arXiv paper, when it appears in the feed.
    paper = models.ForeignKey(
        "papers.Paper",
        verbose_name=_("arXiv paper"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drafts",
    )

    project = models.ForeignKey(
        "lab_portal.Project",
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drafts",
    )
    # The authors' choice: everyone in the lab may read the current version (not the reviews).
    open_to_lab = models.BooleanField(
        _("open to the whole lab"),
        default=False,
        db_default=False,
        help_text=_("Everyone in the lab may read the current version; reviews stay private."),
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

    def is_readable_by(self, user) -> bool:
        return Draft.objects.readable_by(user).filter(pk=self.pk).exists()

    def is_author(self, user) -> bool:
        return user.is_authenticated and self.authors.filter(person=user).exists()

    def shows_authors_to(self, user) -> bool:
        """Anonymous review hides the names from reviewers; authors and leads always see them."""
        return not self.anonymous or user.is_lead or self.is_author(user)

    @property
    def latest_version(self) -> "DraftVersion | None":
        return self.versions.order_by("-number").first()


class DraftAuthor(models.Model):
    """A lab member (person) or an outside co-author (name and e-mail); listed by name (`order`),
    never in the paper's author order, which only its PDF knows."""

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
    file = models.FileField(_("PDF"), upload_to=version_path, max_length=300)
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


class ReviewAssignmentQuerySet(models.QuerySet):
    def owed_by(self, user):
        """What `user` still has to submit, soonest due first."""
        return (
            self.filter(reviewer=user).exclude(review__status=Review.Status.SUBMITTED).order_by("due", "pk")
        )

    def started(self):
        return self.filter(review__isnull=False)


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
    # The date the review is due (the round's, or the draft's review-by date when assigned by
    # hand); it passes at the end of that day in the reviewer's own zone.
    due = models.DateField(_("review due"))

    objects = ReviewAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["draft", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "reviewer"], name="review_assignment_once"),
        ]
        indexes = [models.Index(fields=["reviewer", "due"], name="review_assignment_owed")]
        verbose_name = _("review assignment")
        verbose_name_plural = _("review assignments")

    def __str__(self) -> str:
        return f"{self.reviewer} → {self.draft}"

    @property
    def due_at(self) -> datetime:
        """The moment the due date has passed: midnight after it, in the reviewer's zone."""
        return datetime.combine(
            self.due + timedelta(days=1), time.min, tzinfo=ZoneInfo(self.reviewer.timezone)
        )

    def is_overdue(self, now: datetime | None = None) -> bool:
        submitted = hasattr(self, "review") and self.review.is_submitted
        return not submitted and (now or timezone.now()) >= self.due_at

    @property
    def has_started(self) -> bool:
        """A review row exists (the reviewer saved something): re-solving never moves it."""
        return hasattr(self, "review")


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
        OPEN = "open", pgettext_lazy("review round", "Open")
        PUBLISHED = "published", _("Published")

    name = models.CharField(_("name"), max_length=200)
    drafts = models.ManyToManyField(Draft, verbose_name=_("drafts"), related_name="review_rounds")
    reviewers_per_draft = models.PositiveSmallIntegerField(_("reviewers per draft"), default=3)
    max_load = models.PositiveSmallIntegerField(_("most reviews per person"), default=4)
    min_load = models.PositiveSmallIntegerField(_("fewest reviews per person"), default=0)
    due = models.DateField(_("reviews due"))
    # Fair over time: among equally good plans, those who reviewed less lately take more.
    weigh_past = models.BooleanField(_("weigh past reviews"), default=True, db_default=True)
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


class RoundPlan(models.Model):
    """The assignment a lead is shaping for a round, with the affinities it was made from.

    A plan is made by a POST (opening the round, solving again, a first hand edit of a published
    round) and only shown by a GET. Its affinities are computed once, when it is made: each
    candidate's expertise reads their recent papers, which no page view, hand edit or publish
    should do again. Each lead has their own plan until they publish it: a proposal, not state
    the other leads should see. Publishing checks every pair again against authors and conflicts.
    """

    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="plans")
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    pairs = models.JSONField(default=list)  # [[draft id, reviewer id], ...]
    message = models.TextField(blank=True)  # why no full assignment exists
    # What the plan was made against (reviews.rounds.base_of): publishing refuses a stale plan.
    base = models.JSONField(default=list)
    drafts = models.JSONField(default=list)  # draft ids, the rows of `affinity`
    reviewers = models.JSONField(default=list)  # person ids, its columns
    affinity = models.JSONField(default=list)  # rows of numbers, null where a pair is forbidden
    coauthored = models.JSONField(default=list)  # rows of booleans
    made_at = models.DateTimeField(default=_now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "lead"], name="round_plan_per_lead")]

    def __str__(self) -> str:
        return f"{self.round} · {self.lead}"


class Score(models.IntegerChoices):
    """Soundness, novelty and clarity, on the four-point scale NeurIPS and ICLR reviewers know."""

    POOR = 1, _("1 · poor")
    FAIR = 2, _("2 · fair")
    GOOD = 3, _("3 · good")
    EXCELLENT = 4, _("4 · excellent")


class Overall(models.IntegerChoices):
    STRONG_REJECT = 1, _("1 · strong reject: not ready for this venue")
    REJECT = 2, _("2 · reject: clear problems to fix first")
    WEAK_REJECT = 3, _("3 · weak reject: leaning towards reject")
    WEAK_ACCEPT = 4, _("4 · weak accept: leaning towards accept")
    ACCEPT = 5, _("5 · accept: a good paper")
    STRONG_ACCEPT = 6, _("6 · strong accept: among the best at the venue")


class Confidence(models.IntegerChoices):
    GUESS = 1, _("1 · an educated guess")
    WILLING = 2, _("2 · willing to defend, but may have missed things")
    FAIRLY = 3, _("3 · fairly confident")
    CONFIDENT = 4, _("4 · confident; checked the important parts")
    CERTAIN = 5, _("5 · certain; know the area and checked the details")


class ReviewQuerySet(models.QuerySet):
    def submitted(self):
        return self.filter(status=Review.Status.SUBMITTED)


class Review(models.Model):
    """A reviewer's structured review of one draft, saved as they type and then submitted.

    The row is made on the reviewer's first save: from then on the review "has started" and
    re-solving a round keeps its assignment. `version` is the PDF version the reviewer read, so
    the authors read the review next to it. `revision` grows with every save; an autosave from a
    page that is behind (another window saved meanwhile) is refused instead of overwriting."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("In progress")
        SUBMITTED = "submitted", _("Submitted")

    assignment = models.OneToOneField(
        ReviewAssignment, verbose_name=_("assignment"), on_delete=models.CASCADE, related_name="review"
    )
    version = models.ForeignKey(
        DraftVersion, verbose_name=_("version read"), on_delete=models.RESTRICT, related_name="reviews"
    )
    summary = models.TextField(_("summary"), blank=True)
    strengths = models.TextField(_("strengths"), blank=True)
    weaknesses = models.TextField(_("weaknesses"), blank=True)
    questions = models.TextField(_("questions for the authors"), blank=True)
    experiments = models.TextField(_("suggested experiments"), blank=True)
    soundness = models.PositiveSmallIntegerField(_("soundness"), choices=Score.choices, null=True, blank=True)
    novelty = models.PositiveSmallIntegerField(_("novelty"), choices=Score.choices, null=True, blank=True)
    clarity = models.PositiveSmallIntegerField(_("clarity"), choices=Score.choices, null=True, blank=True)
    overall = models.PositiveSmallIntegerField(_("overall"), choices=Overall.choices, null=True, blank=True)
    confidence = models.PositiveSmallIntegerField(
        _("confidence"), choices=Confidence.choices, null=True, blank=True
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    revision = models.PositiveIntegerField(_("revision"), default=0)
    started_at = models.DateTimeField(_("started"), default=_now, editable=False)
    updated_at = models.DateTimeField(_("last saved"), default=_now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["assignment__draft", "submitted_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False), name="review_submitted_has_time"
            ),
        ]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self) -> str:
        return f"{self.assignment}"

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED

    @property
    def was_late(self) -> bool:
        return bool(self.submitted_at and self.submitted_at >= self.assignment.due_at)


class DraftComment(models.Model):
    """The discussion between a draft's authors and its reviewers (leads may join)."""

    draft = models.ForeignKey(
        Draft, verbose_name=_("draft"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="draft_comments",
    )
    body = models.TextField(_("comment"), help_text=_("Markdown, with $math$."))
    created_at = models.DateTimeField(_("posted"), default=_now, editable=False)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)

    class Meta:
        ordering = ["draft", "created_at", "pk"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self) -> str:
        return f"{self.author} on {self.draft}"

    def get_edit_url(self) -> str:
        return reverse("reviews:draft-comment-edit", args=[self.draft_id, self.pk])

    def get_delete_url(self) -> str:
        return reverse("reviews:draft-comment-delete", args=[self.draft_id, self.pk])


class ReviewReminder(models.Model):
    """One reminder to one reviewer about one review, claimed by the periodic task before sending.

    `due` is the assignment's due date the reminder was computed for: moving the due date makes
    new rows, and the unique constraint makes a second row for the same message impossible.
    Overdue reminders repeat; `number` counts them."""

    class Kind(models.TextChoices):
        BEFORE = "before", _("Before the due date")
        OVERDUE = "overdue", _("Overdue")

    assignment = models.ForeignKey(
        ReviewAssignment, verbose_name=_("assignment"), on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    due = models.DateField(_("review due"))
    number = models.PositiveSmallIntegerField(_("number"), default=1)
    due_at = models.DateTimeField(_("send at"))
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    skipped_at = models.DateTimeField(_("skipped"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=_now)

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "kind", "due", "number"], name="review_reminder_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(claimed_at__isnull=True, sent_at__isnull=True, skipped_at__isnull=True),
                name="review_reminder_pending",
            )
        ]
        verbose_name = _("review reminder")
        verbose_name_plural = _("review reminders")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.assignment}"
