"""Rooms, series and talks, and everything that hangs off a talk: sign-ups, invitations,
reminders, feedback and action items.

Times are stored in UTC; each talk and series also keeps the IANA zone it was planned in, so a
weekly Thursday 16:00 in Seoul is computed from the local date and wall-clock time and stays at
16:00 whatever daylight saving does elsewhere.
"""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lab_portal.models import FeedKey, Project, new_feed_key, validate_timezone

# The exclusion constraint that PostgreSQL adds in migration 0002 (see there); named here so the
# code that turns its IntegrityError into a form error recognises it.
ROOM_OVERLAP_CONSTRAINT = "talk_room_no_overlap"

TBA = "TBA"

# Models with a `timezone` field shadow the module inside their class body: defaults use these.
_now = timezone.now
_today = timezone.localdate


def lab_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def zoned(day: date, at: time, zone: str) -> datetime:
    """The moment (in UTC) of a wall-clock time on a local date in an IANA zone.

    In a gap (clocks jump forward) zoneinfo reads the time with the offset from before the jump,
    so 02:30 on a spring-forward night becomes 03:30 new time, as calendar programs do. The
    result is in UTC because Python adds a timedelta to a zoned time on the wall clock, which
    across a jump gives the wrong length.
    """
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def wall_clock_exists(day: date, at: time, zone: str) -> bool:
    """False for a local time skipped by a daylight-saving jump (02:30 on a spring-forward night)."""
    local = datetime.combine(day, at, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(tzinfo=None)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


class Kind(models.TextChoices):
    SEMINAR = "seminar", _("Seminar")
    TECHTALK = "techtalk", _("Techtalk")


class Room(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    seats = models.PositiveIntegerField(_("seats"), null=True, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    video_link = models.URLField(_("video link"), max_length=500, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")

    def __str__(self) -> str:
        return self.name


class SeriesQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class Series(models.Model):
    """A recurring slot in the lab's wall-clock time: "Weekly Techtalk, Thursdays 16:00 Seoul"."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    name = models.CharField(_("name"), max_length=150, unique=True)
    slug = models.SlugField(_("slug"), max_length=150, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SEMINAR)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown."))
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("host"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hosted_series",
    )
    room = models.ForeignKey(
        Room, verbose_name=_("room"), null=True, blank=True, on_delete=models.SET_NULL, related_name="series"
    )
    online_link = models.URLField(_("online link"), max_length=500, blank=True)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("local start time"))
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), default=60, validators=[MinValueValidator(5), MaxValueValidator(12 * 60)]
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[validate_timezone]
    )
    capacity = models.PositiveIntegerField(
        _("capacity"), null=True, blank=True, help_text=_("Leave empty for no limit.")
    )
    starts_on = models.DateField(_("first day"), default=_today)
    ends_on = models.DateField(_("last day"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=_now)

    objects = SeriesQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="series_ends_after_start",
            )
        ]
        verbose_name = _("series")
        verbose_name_plural = _("series")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("seminars:series", args=[self.slug])

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    def occurrences(self, start: date, until: date) -> list[date]:
        """The local dates of this series' meetings from `start` to `until`, both included."""
        first = max(start, self.starts_on)
        last = min(until, self.ends_on) if self.ends_on else until
        day = first + timedelta(days=(self.weekday - first.weekday()) % 7)
        days = []
        while day <= last:
            days.append(day)
            day += timedelta(weeks=1)
        return days

    def starts_at_on(self, day: date) -> datetime:
        return zoned(day, self.start_time, self.timezone)


class TalkQuerySet(models.QuerySet):
    def scheduled(self):
        return self.filter(status=Talk.Status.SCHEDULED)

    def upcoming(self, now: datetime | None = None):
        """Talks not yet over, cancelled ones included (they stay visible, marked)."""
        return self.filter(ends_at__gt=now or timezone.now()).order_by("starts_at", "pk")

    def past(self, now: datetime | None = None):
        return self.filter(ends_at__lte=now or timezone.now()).order_by("-starts_at", "-pk")

    def between(self, start: datetime, end: datetime):
        """Talks that start in [start, end)."""
        return self.filter(starts_at__gte=start, starts_at__lt=end).order_by("starts_at", "pk")

    def in_week(self, day: date, zone: ZoneInfo | None = None):
        """The Monday-to-Sunday week holding `day`, in the given zone (the active one by default)."""
        zone = zone or timezone.get_current_timezone()
        monday = week_start(day)
        start = datetime.combine(monday, time.min, tzinfo=zone)
        return self.between(start, datetime.combine(monday + timedelta(weeks=1), time.min, tzinfo=zone))

    def in_month(self, year: int, month: int, zone: ZoneInfo | None = None):
        zone = zone or timezone.get_current_timezone()
        start = datetime(year, month, 1, tzinfo=zone)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
        return self.between(start, end)

    def for_person(self, user):
        """Talks a person hosts, gives, or holds a seat or a place on the waiting list for."""
        signed_up = Registration.objects.filter(user=user).exclude(status=Registration.Status.CANCELLED)
        return self.filter(
            Q(host=user) | Q(speaker_user=user) | Q(pk__in=signed_up.values("talk_id"))
        ).distinct()

    def overlapping(self, *, room, starts_at: datetime, ends_at: datetime, exclude_pk: int | None = None):
        """Scheduled talks in `room` whose time overlaps [starts_at, ends_at): what blocks a booking."""
        clashes = self.scheduled().filter(room=room, starts_at__lt=ends_at, ends_at__gt=starts_at)
        return clashes.exclude(pk=exclude_pk) if exclude_pk else clashes

    def with_seat_counts(self):
        return self.annotate(
            confirmed_count=Count("registrations", filter=Q(registrations__status="confirmed")),
            waitlisted_count=Count("registrations", filter=Q(registrations__status="waitlisted")),
        )


def upload_photo(instance, filename: str) -> str:
    return f"seminars/{instance.uid}/photo/{filename}"


def upload_slides(instance, filename: str) -> str:
    return f"seminars/{instance.uid}/slides/{filename}"


class Talk(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    Kind = Kind

    # A change to one of these is one a subscribed calendar must see and the people concerned
    # must hear about: it bumps `sequence` and sends a change notice (seminars/reminders.py).
    SCHEDULE_FIELDS = frozenset({"starts_at", "ends_at", "room", "online_link", "status"})

    uid = models.UUIDField(_("calendar UID"), default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(_("calendar sequence"), default=0, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SEMINAR)
    series = models.ForeignKey(
        Series,
        verbose_name=_("series"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="talks",
    )
    # The series meeting this talk is (its local date): what keeps generation idempotent even
    # after a talk of the series has been moved to another day.
    occurrence = models.DateField(_("series date"), null=True, blank=True, editable=False)
    title = models.CharField(_("title"), max_length=300, default=TBA)
    abstract = models.TextField(_("abstract"), blank=True, help_text=_("Markdown, with $math$."))
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("host"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hosted_talks",
    )

    # The speaker: a lab member, or an outside speaker described by the fields below.
    speaker_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("speaker from the lab"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="given_talks",
    )
    speaker_name = models.CharField(_("speaker"), max_length=200, blank=True)
    speaker_affiliation = models.CharField(_("affiliation"), max_length=200, blank=True)
    speaker_email = models.EmailField(_("speaker's e-mail"), blank=True)
    speaker_bio = models.TextField(_("speaker's bio"), blank=True, help_text=_("Markdown."))
    speaker_homepage = models.URLField(_("speaker's homepage"), max_length=500, blank=True)
    speaker_photo = models.FileField(_("speaker's photo"), upload_to=upload_photo, blank=True)
    speaker_timezone = models.CharField(
        _("speaker's time zone"),
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text=_("Where the speaker is, if elsewhere: their own time is shown next to the lab's."),
    )
    speaker_confirmed_at = models.DateTimeField(_("speaker confirmed"), null=True, blank=True)
    recording_consent = models.BooleanField(_("recording consent"), null=True, blank=True)

    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    timezone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[validate_timezone]
    )
    room = models.ForeignKey(
        Room, verbose_name=_("room"), null=True, blank=True, on_delete=models.PROTECT, related_name="talks"
    )
    online_link = models.URLField(_("online link"), max_length=500, blank=True)
    capacity = models.PositiveIntegerField(
        _("capacity"), null=True, blank=True, help_text=_("Leave empty for no limit.")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    related_papers = models.ManyToManyField(
        "papers.Paper", verbose_name=_("related papers"), blank=True, related_name="talks"
    )
    # The lab draft this talk presents; shown only to people who may see the draft.
    draft = models.ForeignKey(
        "reviews.Draft",
        verbose_name=_("draft presented"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="talks",
    )
    project = models.ForeignKey(
        Project,
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="talks",
    )
    stage = models.CharField(
        _("stage"), max_length=20, choices=Project.Stage.choices, blank=True, default="", db_default=""
    )
    slides = models.FileField(_("slides"), upload_to=upload_slides, blank=True)
    slides_url = models.URLField(_("slides link"), max_length=500, blank=True)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)

    # When the host was told the title is still TBA a week ahead, so they are told once.
    tba_flagged_at = models.DateTimeField(_("TBA flagged"), null=True, blank=True, editable=False)

    created_at = models.DateTimeField(_("created"), default=_now, editable=False)
    # The last change: DTSTAMP and LAST-MODIFIED in calendars.
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    objects = TalkQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="talk_ends_after_start"),
            models.UniqueConstraint(
                fields=["series", "occurrence"],
                condition=Q(series__isnull=False, occurrence__isnull=False),
                name="talk_one_per_series_date",
            ),
        ]
        indexes = [
            models.Index(fields=["starts_at"], name="talk_starts"),
            models.Index(fields=["room", "starts_at"], name="talk_room_starts"),
        ]
        verbose_name = _("talk")
        verbose_name_plural = _("talks")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("seminars:talk", args=[self.pk])

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("A talk ends after it starts.")})

    @property
    def speaker(self) -> str:
        if self.speaker_user_id and not self.speaker_name:
            return self.speaker_user.name
        return self.speaker_name

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def is_tba(self) -> bool:
        return self.title.strip().upper() in ("", TBA)

    @property
    def has_started(self) -> bool:
        return timezone.now() >= self.starts_at

    @property
    def is_over(self) -> bool:
        return timezone.now() >= self.ends_at

    def is_open_for_signup(self, now: datetime | None = None) -> bool:
        return self.status == self.Status.SCHEDULED and (now or timezone.now()) < self.starts_at

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(self.zone)

    @property
    def local_end(self) -> datetime:
        return self.ends_at.astimezone(self.zone)

    @property
    def speaker_local_start(self) -> datetime | None:
        return self.starts_at.astimezone(ZoneInfo(self.speaker_timezone)) if self.speaker_timezone else None

    @property
    def speaker_local_end(self) -> datetime | None:
        return self.ends_at.astimezone(ZoneInfo(self.speaker_timezone)) if self.speaker_timezone else None

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def confirmed_seats(self) -> int:
        if hasattr(self, "confirmed_count"):
            return self.confirmed_count
        return self.registrations.filter(status=Registration.Status.CONFIRMED).count()

    @property
    def seats_left(self) -> int | None:
        """Seats still free; None when the talk has no limit. Reads `with_seat_counts()` if used."""
        if self.capacity is None:
            return None
        return max(self.capacity - self.confirmed_seats, 0)

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.seats_left == 0

    def can_edit(self, user) -> bool:
        return user.is_authenticated and (
            user.is_lead or (self.host_id is not None and self.host_id == user.pk)
        )

    def schedule_snapshot(self) -> dict:
        """The values of SCHEDULE_FIELDS and the title, to compare after an edit."""
        return {
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "room": self.room_id,
            "online_link": self.online_link,
            "status": self.status,
            "title": self.title,
            "timezone": self.timezone,
        }

    def bump_sequence(self) -> int:
        """Tell subscribed calendars this talk changed; saves `sequence` and `updated_at` only."""
        Talk.objects.filter(pk=self.pk).update(sequence=F("sequence") + 1, updated_at=timezone.now())
        self.refresh_from_db(fields=["sequence", "updated_at"])
        return self.sequence


class Registration(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        WAITLISTED = "waitlisted", _("On the waiting list")
        CANCELLED = "cancelled", _("Cancelled")

    talk = models.ForeignKey(
        Talk, verbose_name=_("talk"), on_delete=models.CASCADE, related_name="registrations"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="talk_registrations",
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    # The waiting list's order.
    created_at = models.DateTimeField(_("signed up"), default=_now)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)
    promoted_at = models.DateTimeField(_("promoted from the waiting list"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["talk", "user"], name="registration_one_per_person")]
        indexes = [models.Index(fields=["talk", "status", "created_at"], name="registration_queue")]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

    def __str__(self) -> str:
        return f"{self.user} · {self.talk} ({self.status})"


class TalkRequest(models.Model):
    """A researcher asking for a seminar slot for their work, or proposing a paper to discuss."""

    class Kind(models.TextChoices):
        OWN_WORK = "own_work", _("A seminar slot for my work")
        PAPER = "paper", _("A paper for discussion")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="talk_requests",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OWN_WORK)
    paper = models.ForeignKey(
        "papers.Paper",
        verbose_name=_("paper"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="talk_requests",
    )
    project = models.ForeignKey(
        Project,
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="talk_requests",
    )
    stage = models.CharField(
        _("stage"), max_length=20, choices=Project.Stage.choices, blank=True, default="", db_default=""
    )
    draft = models.ForeignKey(
        "reviews.Draft",
        verbose_name=_("draft to present"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="talk_requests",
    )
    title = models.CharField(_("title"), max_length=300)
    notes = models.TextField(_("abstract or notes"), blank=True, help_text=_("Markdown, with $math$."))
    preferred_after = models.DateField(_("not before"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    talk = models.ForeignKey(
        Talk,
        verbose_name=_("talk"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requests",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("note to the requester"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=_now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="talk_request_queue")]
        verbose_name = _("talk request")
        verbose_name_plural = _("talk requests")

    def __str__(self) -> str:
        return self.title

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class SpeakerInvitation(models.Model):
    """A link for an outside speaker: only the SHA-256 of its token is stored, and the salt from
    which the token is recomputed with the secret key (seminars.invitations)."""

    talk = models.ForeignKey(
        Talk, verbose_name=_("talk"), on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("e-mail"))
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    token_salt = models.CharField(_("token salt"), max_length=32, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("sent"), default=_now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    used_at = models.DateTimeField(_("first used"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("speaker invitation")
        verbose_name_plural = _("speaker invitations")

    def __str__(self) -> str:
        return f"{self.email} · {self.talk}"


class Reminder(models.Model):
    """One message due to one person about one talk, claimed by the periodic task before sending.

    `sequence` is the talk's sequence the reminder was computed for: moving a talk makes a new
    set of rows, and the unique constraints make a second row for the same message impossible.
    """

    class Kind(models.TextChoices):
        DAY_BEFORE = "day_before", _("A day before")
        HOUR_BEFORE = "hour_before", _("An hour before")
        CHANGE = "change", _("Change notice")

    talk = models.ForeignKey(Talk, verbose_name=_("talk"), on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    sequence = models.PositiveIntegerField(_("talk sequence"), default=0)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="talk_reminders",
    )
    # For outside speakers, who have no account.
    email = models.EmailField(_("e-mail"), blank=True)
    due_at = models.DateTimeField(_("due"))
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
                fields=["talk", "kind", "sequence", "recipient"],
                condition=Q(recipient__isnull=False),
                name="reminder_once_per_person",
            ),
            models.UniqueConstraint(
                fields=["talk", "kind", "sequence", "email"],
                condition=Q(recipient__isnull=True),
                name="reminder_once_per_address",
            ),
            models.CheckConstraint(
                condition=Q(recipient__isnull=False) | ~Q(email=""), name="reminder_has_recipient"
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(sent_at__isnull=True), name="reminder_due_unsent"),
        ]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.talk} · {self.recipient or self.email}"


class Feedback(models.Model):
    talk = models.ForeignKey(Talk, verbose_name=_("talk"), on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="talk_feedback",
    )
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comments = models.TextField(_("comments"), blank=True)
    created_at = models.DateTimeField(_("given"), default=_now)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["talk", "user"], name="feedback_one_per_person"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5"),
        ]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")

    def __str__(self) -> str:
        return f"{self.user} · {self.talk}: {self.rating}"


class ActionItemQuerySet(models.QuerySet):
    def open(self):
        return self.filter(done_at__isnull=True)

    def overdue(self, today):
        """Open items whose due day is before `today` (the viewer's local date)."""
        return self.open().filter(due_date__lt=today)


class ActionItem(models.Model):
    talk = models.ForeignKey(
        Talk, verbose_name=_("talk"), on_delete=models.CASCADE, related_name="action_items"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="action_items",
    )
    text = models.TextField(_("action"))
    due_date = models.DateField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("noted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("noted"), default=_now)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = [F("due_date").asc(nulls_last=True), "created_at", "pk"]
        indexes = [models.Index(fields=["owner", "done_at"], name="action_item_owner_open")]
        verbose_name = _("action item")
        verbose_name_plural = _("action items")

    def __str__(self) -> str:
        return self.text[:80]


# Migration 0001 names this default; keys are made by lab_portal.models.new_feed_key now.
new_calendar_key = new_feed_key


class CalendarToken(FeedKey):
    """The secret in a person's calendar feed URLs (lab_portal.models.FeedKey)."""

    OWNER = "user"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="calendar_tokens",
    )

    class Meta(FeedKey.Meta):
        verbose_name = _("calendar token")
        verbose_name_plural = _("calendar tokens")
