"""The review queues as data: what a person owes and submitted, each draft's review counts, and
where each review of a round stands (for the lead's board). Each list is read in a fixed number
of queries, however many rows it has."""

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import DraftAuthor, Review, ReviewAssignment

# Submitted reviews stay on the reviewer's list this long, so they can find what they sent.
RECENTLY_SUBMITTED = timedelta(days=60)
RECENTLY_SUBMITTED_ROWS = 20
# The dashboard shows the next few; the reviews page has the rest.
DASHBOARD_ROWS = 5


# ---- reviews a person owes ------------------------------------------------------------------


def _queue(assignments, user, *, authors: bool = True):
    """Assignments with everything a queue row shows, in two queries whatever their number."""
    assignments = assignments.select_related("draft__deadline__venue", "reviewer", "review").annotate(
        by_viewer=Exists(DraftAuthor.objects.filter(draft=OuterRef("draft"), person=user))
    )
    if authors:
        people = DraftAuthor.objects.select_related("person")
        assignments = assignments.prefetch_related(Prefetch("draft__authors", queryset=people))
    return assignments


def _describe(assignment: ReviewAssignment, user, now: datetime) -> ReviewAssignment:
    # Draft.shows_authors_to, without a query per row: `by_viewer` is annotated.
    assignment.shows_authors = not assignment.draft.anonymous or user.is_lead or assignment.by_viewer
    review = getattr(assignment, "review", None)
    assignment.started = review is not None
    assignment.last_saved = review.updated_at if review else None
    # "Overdue by N days" counts the reviewer's own calendar days, the same calendar `due` is on.
    overdue = assignment.is_overdue(now)
    local_today = now.astimezone(ZoneInfo(assignment.reviewer.timezone)).date()
    assignment.overdue_days = (local_today - assignment.due).days if overdue else 0
    return assignment


def owed_reviews(user, *, authors: bool = True, now: datetime | None = None) -> list[ReviewAssignment]:
    """The reviews `user` still has to submit, soonest due first (overdue ones lead).
    `authors=False` leaves out the authors' names, for lists that show titles only."""
    now = now or timezone.now()
    owed = _queue(ReviewAssignment.objects.owed_by(user), user, authors=authors)
    return [_describe(a, user, now) for a in owed]


def submitted_reviews(user, *, now: datetime | None = None) -> list[ReviewAssignment]:
    """What `user` submitted lately, newest first."""
    now = now or timezone.now()
    recent = ReviewAssignment.objects.filter(
        reviewer=user,
        review__status=Review.Status.SUBMITTED,
        review__submitted_at__gte=now - RECENTLY_SUBMITTED,
    ).order_by("-review__submitted_at", "-pk")
    return [_describe(a, user, now) for a in _queue(recent, user)[:RECENTLY_SUBMITTED_ROWS]]


def with_review_counts(drafts):
    """Each draft's reviews submitted and assigned, as subqueries: joins would multiply the
    version counts the draft table already annotates."""
    per_draft = ReviewAssignment.objects.filter(draft=OuterRef("pk")).order_by().values("draft")

    def count(rows):
        counted = rows.annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    return drafts.annotate(
        reviews_assigned=count(per_draft),
        reviews_submitted=count(per_draft.filter(review__status=Review.Status.SUBMITTED)),
    )


# ---- the lead's board of a round --------------------------------------------------------------


class State:
    """Where one review stands, as the board shows it."""

    do_not_call_in_templates = True
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ON_TIME = "on_time"
    LATE = "late"
    OVERDUE = "overdue"

    labels = {
        NOT_STARTED: gettext_lazy("not started"),
        IN_PROGRESS: gettext_lazy("in progress"),
        ON_TIME: gettext_lazy("submitted on time"),
        LATE: gettext_lazy("submitted late"),
        OVERDUE: gettext_lazy("overdue"),
    }


def review_state(assignment: ReviewAssignment, now: datetime) -> str:
    review = getattr(assignment, "review", None)
    if review is not None and review.is_submitted:
        return State.LATE if review.was_late else State.ON_TIME
    if assignment.is_overdue(now):
        return State.OVERDUE
    return State.IN_PROGRESS if review is not None else State.NOT_STARTED


def turnaround(assignment: ReviewAssignment) -> timedelta | None:
    """From being asked to submitting."""
    review = getattr(assignment, "review", None)
    if review is None or not review.is_submitted:
        return None
    return review.submitted_at - assignment.created_at


def duration_label(duration: timedelta | None) -> str:
    if duration is None:
        return ""
    hours = max(0, int(duration.total_seconds() // 3600))
    return _("%(days)d d %(hours)d h") % {"days": hours // 24, "hours": hours % 24}


@dataclass
class BoardTotals:
    assigned: int = 0
    submitted: int = 0
    overdue: int = 0
    turnarounds: list[timedelta] = field(default_factory=list)

    @property
    def median(self) -> str:
        if not self.turnarounds:
            return ""
        seconds = statistics.median(t.total_seconds() for t in self.turnarounds)
        return duration_label(timedelta(seconds=seconds))
