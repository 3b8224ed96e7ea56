"""Reviews as reviewers write them: saved as they type, submitted once, and shown to whom.

Who sees a review: the draft's authors and the leads see every submitted review; an assigned
reviewer sees their own review always and the others' submitted reviews only once their own is
submitted, so nobody's judgement leans on another's. Nobody sees someone else's review in progress.
Reviewer names are shown: this is the lab's internal review, not the venue's.

Saving is guarded by `Review.revision`: a page carries the revision it was loaded with, and a save
from a page that is behind (another window saved meanwhile) is refused rather than overwriting.
"""

from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lab_portal.notify import Message, notify

from .models import Draft, DraftVersion, Review, ReviewAssignment

TEXT_FIELDS = ("summary", "strengths", "weaknesses", "questions", "experiments")
SCORE_FIELDS = ("soundness", "novelty", "clarity", "overall", "confidence")
REQUIRED_FIELDS = ("summary", "strengths", "weaknesses", *SCORE_FIELDS)


class ReviewRefused(Exception):
    """A save or a submission that must not happen; the message is for the reviewer."""


class StaleReview(ReviewRefused):
    pass


class ReviewSubmitted(ReviewRefused):
    pass


class IncompleteReview(ReviewRefused):
    def __init__(self, missing: list[str]):
        super().__init__(_("The review is not complete yet."))
        self.missing = missing


def assignment_of(draft: Draft, user) -> ReviewAssignment | None:
    """This person's assignment to review the draft, with their review if they started one."""
    if not user.is_authenticated:
        return None
    return (
        ReviewAssignment.objects.select_related("reviewer", "review__version")
        .filter(draft=draft, reviewer=user)
        .first()
    )


def missing_fields(review: Review) -> list[str]:
    """What a submitted review must have and this one lacks (text of only spaces counts as none)."""
    missing = []
    for name in REQUIRED_FIELDS:
        value = getattr(review, name)
        if value is None or (name in TEXT_FIELDS and not value.strip()):
            missing.append(name)
    return missing


def _locked_review(assignment: ReviewAssignment) -> Review | None:
    # The assignment's row lock makes two first saves at once one create and one refused save,
    # and waits for a lead re-publishing the round (rounds.publish_round takes it too).
    if ReviewAssignment.objects.select_for_update().filter(pk=assignment.pk).first() is None:
        raise ReviewRefused(_("You are no longer asked to review this draft; nothing was saved."))
    return Review.objects.filter(assignment=assignment).first()


def _version(draft: Draft, number: int | None) -> DraftVersion | None:
    """The version the reviewer's page showed (its number travels with every save), or the
    latest when the page did not say: a review is tied to what was read, not to what was
    uploaded while the reviewer was reading."""
    shown = draft.versions.filter(number=number).first() if number else None
    return shown or draft.latest_version


def _write(
    assignment: ReviewAssignment,
    review: Review | None,
    *,
    fields: dict,
    revision: int,
    now,
    version: int | None = None,
) -> Review:
    if review is None:
        if revision != 0:
            raise StaleReview(_("This page is out of date. Nothing was overwritten: reload it."))
        read = _version(assignment.draft, version)
        if read is None:
            raise ReviewRefused(_("The draft has no PDF to review yet."))
        review = Review(assignment=assignment, version=read, revision=0, started_at=now)
    elif review.is_submitted:
        raise ReviewSubmitted(_("This review is submitted and can no longer be changed."))
    elif revision != review.revision:
        raise StaleReview(_("This review was saved from another window or tab. Nothing was overwritten."))
    changed = [name for name in fields if name in TEXT_FIELDS or name in SCORE_FIELDS]
    for name in changed:
        setattr(review, name, fields[name])
    review.revision += 1
    review.updated_at = now
    if review.pk is None:
        review.save()
    else:
        # Only what this save is about: never a stale copy of the version it is tied to.
        review.save(update_fields=[*changed, "revision", "updated_at"])
    return review


def save_review(
    assignment: ReviewAssignment, *, fields: dict, revision: int, version: int | None = None
) -> Review:
    """Save what the reviewer typed so far, from a page loaded at `revision` (0: none saved yet).
    The first save makes the row, on the draft's latest version: from then on the review "has
    started". Only the fields given are written."""
    with transaction.atomic():
        review = _write(
            assignment,
            _locked_review(assignment),
            fields=fields,
            revision=revision,
            now=timezone.now(),
            version=version,
        )
    assignment.review = review
    return review


def submit_review(
    assignment: ReviewAssignment, *, fields: dict, revision: int, version: int | None = None
) -> bool:
    """Save the last changes and submit, in one transaction. False when the review was already
    submitted (a double click): nothing changes and the authors hear of it once.

    A review submitted after its due date is accepted and shows as late (`Review.was_late`): the
    overdue reminders exist precisely to get late reviews in, so refusing them would defeat them."""
    with transaction.atomic():
        # The draft's row lock makes two last reviews submitted at once see each other, so one of
        # them moves the draft to "reviewed"; and it makes a double submit wait, then do nothing.
        draft = Draft.objects.select_for_update().get(pk=assignment.draft_id)
        current = _locked_review(assignment)
        if current is not None and current.is_submitted:
            assignment.review = current
            return False
        now = timezone.now()
        review = _write(assignment, current, fields=fields, revision=revision, now=now, version=version)
        missing = missing_fields(review)
        if missing:
            raise IncompleteReview(missing)
        review.status, review.submitted_at = Review.Status.SUBMITTED, now
        review.save(update_fields=["status", "submitted_at"])
        _mark_reviewed_when_complete(draft, now=now)
        # Robust: a notice that fails is logged; the submission stands.
        transaction.on_commit(partial(_notify_authors, review.pk), robust=True)
    assignment.review = review
    return True


def _mark_reviewed_when_complete(draft: Draft, *, now) -> None:
    owed = draft.assignments.exclude(review__status=Review.Status.SUBMITTED)
    if draft.status == Draft.Status.IN_REVIEW and not owed.exists():
        # Conditional, like services.set_status, and only from "in review": a status the authors
        # set meanwhile (submitted to the venue, say) is theirs to keep.
        Draft.objects.filter(pk=draft.pk, status=Draft.Status.IN_REVIEW).update(
            status=Draft.Status.REVIEWED, updated_at=now, status_changed_at=now
        )


def _notify_authors(review_pk: int) -> None:
    review = Review.objects.select_related("assignment__draft", "assignment__reviewer").get(pk=review_pk)
    draft = review.assignment.draft
    for author in draft.authors.filter(person__is_active=True).select_related("person"):
        person = author.person
        # Each author reads it in their own language, whoever submitted.
        with translation.override(person.language):
            notify(
                person,
                Message(
                    subject=_("A review of “%(title)s” is in") % {"title": draft.title},
                    dedupe_key=f"review-submitted:{review.pk}",
                    text=_("%(reviewer)s submitted a review of “%(title)s” (version %(number)d).")
                    % {
                        "reviewer": review.assignment.reviewer.name,
                        "title": draft.title,
                        "number": review.version.number,
                    },
                    url=draft.get_absolute_url(),
                ),
            )


def move_to_latest_version(review: Review, *, number: int | None = None) -> DraftVersion | None:
    """Tie an in-progress review to a newer PDF: version `number` (the newest the reviewer's page
    showed), else the latest. None when it already is."""
    assignment = review.assignment
    with transaction.atomic():
        # The assignment's lock, as every save takes it: a save in flight cannot write the old
        # version back over the move.
        locked = _locked_review(assignment)
        if locked.is_submitted:
            raise ReviewSubmitted(_("This review is submitted and can no longer be changed."))
        target = _version(assignment.draft, number)
        if target is None or target.number <= locked.version.number:
            return None
        # A new revision, so a window still showing the old version reloads before saving.
        Review.objects.filter(pk=locked.pk).update(
            version=target, revision=F("revision") + 1, updated_at=timezone.now()
        )
    review.refresh_from_db()
    return target


def newer_versions(review: Review | None):
    if review is None:
        return DraftVersion.objects.none()
    return review.assignment.draft.versions.filter(number__gt=review.version.number).order_by("number")


def visible_reviews(draft: Draft, user) -> list[Review]:
    """The reviews of `draft` this person may read (see the module's docstring), oldest first."""
    if not user.is_authenticated:
        return []
    reviews = Review.objects.filter(assignment__draft=draft).select_related("assignment__reviewer", "version")
    # Being assigned comes first: a lead who reviews a draft waits like every other reviewer.
    if draft.assignments.filter(reviewer=user).exists():
        own = reviews.filter(assignment__reviewer=user).first()
        if own is None or not own.is_submitted:
            return [own] if own else []
        return list(reviews.submitted().order_by("submitted_at", "pk"))
    if user.is_lead or draft.is_author(user):
        return list(reviews.submitted().order_by("submitted_at", "pk"))
    return []


@dataclass
class ReviewPanel:
    """What the draft page shows about reviews to one person."""

    assignment: ReviewAssignment | None
    review: Review | None
    reviews: list[Review] = field(default_factory=list)
    latest_version: DraftVersion | None = None
    assigned_count: int = 0
    submitted_count: int = 0

    @property
    def waits_for_own(self) -> bool:
        return self.assignment is not None and not (self.review and self.review.is_submitted)


def review_panel(draft: Draft, user) -> ReviewPanel:
    assignment = assignment_of(draft, user)
    review = getattr(assignment, "review", None) if assignment else None
    shown = [r for r in visible_reviews(draft, user) if r.is_submitted]
    counts = Review.objects.filter(assignment__draft=draft).submitted().count()
    return ReviewPanel(
        assignment=assignment,
        review=review,
        reviews=shown,
        latest_version=draft.latest_version,
        assigned_count=draft.assignments.count(),
        submitted_count=counts,
    )
