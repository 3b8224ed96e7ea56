"""Review rounds: plan an assignment with `assignment.solve`, then publish it.

The plan counts the reviews each person already owes from other rounds in their load, so that a
person who got four drafts last week is not given four more; when the lead chooses, it also
weighs the reviews each person submitted over the last REVIEW_FAIRNESS_MONTHS months, so the same
people do not carry every round (that past load evens the plan out; it takes no room under the
most reviews per person). Assignments that already exist for
the round's drafts from other rounds, and every review that has started (its reviewer saved
something), are fixed: planning again never moves them. A published round can be planned again
(a reviewer declared a conflict, or left): only its assignments nobody has started may move, and
publishing the changes tells the reviewers who were added and those who were released.
"""

import math
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from lab_portal.notify import Message, notify, notify_each

from .assignment import Infeasible, solve
from .expertise import Affinity, affinity, forbid
from .models import Conflict, Draft, DraftAuthor, Review, ReviewAssignment, ReviewRound, RoundPlan


class PublishError(Exception):
    pass


@dataclass
class Plan:
    scores: Affinity
    owed: np.ndarray  # per reviewer column
    past: np.ndarray  # reviews submitted in the fairness window, per reviewer column
    chosen: np.ndarray  # drafts x reviewers, bool
    message: str = ""  # why no full assignment exists; empty when it does
    problem_drafts: list = field(default_factory=list)

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return [(self.scores.drafts[i].pk, self.scores.reviewers[j].pk) for i, j in np.argwhere(self.chosen)]

    def rows(self) -> list[dict]:
        """One row per chosen pair, draft by draft, for the preview table."""
        return [
            {
                "draft": self.scores.drafts[i],
                "reviewer": self.scores.reviewers[j],
                "affinity": float(self.scores.matrix[i, j]),
                "coauthored": bool(self.scores.coauthored[i, j]),
            }
            for i, j in np.argwhere(self.chosen)
        ]

    def loads(self) -> list[dict]:
        """Each reviewer's owed and new reviews, busiest first, for the load chart."""
        new = self.chosen.sum(axis=0)
        rows = [
            {
                "reviewer": r,
                "owed": int(self.owed[j]),
                "past": int(self.past[j]),
                "new": int(new[j]),
                "total": int(self.owed[j] + new[j]),
            }
            for j, r in enumerate(self.scores.reviewers)
        ]
        return sorted(rows, key=lambda row: (-row["total"], row["reviewer"].name))

    def shortfall(self) -> dict:
        """{draft: reviewers still missing}, for drafts the plan leaves short."""
        return {
            d: int(need)
            for d, need in zip(self.scores.drafts, self.need - self.chosen.sum(axis=1), strict=True)
            if need > 0
        }

    need: np.ndarray = None  # per draft


def candidates(round: ReviewRound):
    return get_user_model().objects.active().order_by("display_name", "username")


def _owed(round: ReviewRound, reviewers, draft_ids) -> np.ndarray:
    counts = dict(
        ReviewAssignment.objects.filter(round__status__in=ReviewRound.Status.values, reviewer__in=reviewers)
        .exclude(round=round)
        .exclude(draft_id__in=draft_ids)
        .values_list("reviewer_id")
        .annotate(n=Count("pk"))
    )
    return np.array([counts.get(r.pk, 0) for r in reviewers], dtype=np.int64)


def _past(round: ReviewRound, reviewers, draft_ids) -> np.ndarray:
    """Reviews each person submitted in the fairness window, for drafts outside this round."""
    since = timezone.now() - timedelta(days=round_days(settings.REVIEW_FAIRNESS_MONTHS))
    counts = dict(
        Review.objects.filter(
            status=Review.Status.SUBMITTED, submitted_at__gte=since, assignment__reviewer__in=reviewers
        )
        .exclude(assignment__draft_id__in=draft_ids)
        .values_list("assignment__reviewer_id")
        .annotate(n=Count("pk"))
    )
    return np.array([counts.get(r.pk, 0) for r in reviewers], dtype=np.int64)


def round_days(months: int) -> int:
    return int(months * 365.25 / 12)


def scores(round: ReviewRound) -> Affinity:
    """The round's affinities from the paper store: the expensive step, run once per plan."""
    return affinity(round.drafts.order_by("pk"), candidates(round))


def stored_scores(plan: RoundPlan) -> Affinity:
    """The affinities a plan was made from, with its drafts and reviewers read back in order
    (those deleted since drop out)."""
    drafts = Draft.objects.in_bulk(plan.drafts)
    people = get_user_model().objects.in_bulk(plan.reviewers)
    rows = [i for i, pk in enumerate(plan.drafts) if pk in drafts]
    columns = [j for j, pk in enumerate(plan.reviewers) if pk in people]
    matrix = np.array(plan.affinity, dtype=float).reshape(len(plan.drafts), len(plan.reviewers))
    coauthored = np.array(plan.coauthored, dtype=bool).reshape(matrix.shape)
    return Affinity(
        drafts=[drafts[plan.drafts[i]] for i in rows],
        reviewers=[people[plan.reviewers[j]] for j in columns],
        matrix=matrix[np.ix_(rows, columns)],
        coauthored=coauthored[np.ix_(rows, columns)],
    )


def published_scores(round: ReviewRound) -> Affinity:
    """A published round's assignments as they stand, scored by the affinity stored with each,
    for a page that shows them before anyone plans again."""
    assignments = list(
        ReviewAssignment.objects.filter(draft__in=round.drafts.all()).select_related("reviewer")
    )
    drafts = list(round.drafts.order_by("pk"))
    reviewers = list(candidates(round))
    matrix = np.full((len(drafts), len(reviewers)), np.nan)
    scores_ = Affinity(
        drafts=drafts, reviewers=reviewers, matrix=matrix, coauthored=np.zeros(matrix.shape, bool)
    )
    for assignment in assignments:
        i, j = scores_.row(assignment.draft_id), scores_.column(assignment.reviewer_id)
        if i is not None and j is not None:
            matrix[i, j] = assignment.affinity if assignment.affinity is not None else 0.0
    return scores_


def save_plan(round: ReviewRound, *, lead, pairs, message: str, scores_: Affinity, base=None) -> RoundPlan:
    """Keep `lead`'s plan of the round with the affinities it was made from."""
    plan, _created = RoundPlan.objects.update_or_create(
        round=round,
        lead=lead,
        defaults={
            "pairs": sorted([int(d), int(r)] for d, r in pairs),
            "message": message,
            "base": base if base is not None else base_of(round),
            "drafts": [d.pk for d in scores_.drafts],
            "reviewers": [r.pk for r in scores_.reviewers],
            "affinity": [[None if math.isnan(v) else float(v) for v in row] for row in scores_.matrix],
            "coauthored": scores_.coauthored.astype(bool).tolist(),
            "made_at": timezone.now(),
        },
    )
    return plan


def forbidden(round: ReviewRound, draft_id: int, reviewer_id: int) -> bool:
    """Whether the reviewer wrote the draft or declares a conflict with it now."""
    return (
        DraftAuthor.objects.filter(draft_id=draft_id, person_id=reviewer_id).exists()
        or Conflict.objects.filter(draft_id=draft_id, person_id=reviewer_id).exists()
    )


def _with_started(assignments):
    return assignments.annotate(started=Exists(Review.objects.filter(assignment=OuterRef("pk"))))


def fixed_pairs(round: ReviewRound, drafts) -> set[tuple[int, int]]:
    """(draft, reviewer) pairs no plan may move: assigned by another round or by hand, or this
    round's reviews that have started."""
    existing = _with_started(ReviewAssignment.objects.filter(draft__in=drafts))
    return {
        (draft_id, reviewer_id)
        for draft_id, reviewer_id, round_id, started in existing.values_list(
            "draft_id", "reviewer_id", "round_id", "started"
        )
        if round_id != round.pk or started
    }


def published_pairs(round: ReviewRound) -> list[tuple[int, int]]:
    """Every assignment of the round's drafts, as the preview of a published round shows them."""
    return list(
        ReviewAssignment.objects.filter(draft__in=round.drafts.all()).values_list("draft_id", "reviewer_id")
    )


# Planning a published round again prefers the reviewers already told: their pairs get this
# share of the affinity range as a bonus. It outweighs the even-load tie-break, so nobody is moved
# just to even out loads, but never a real difference in affinity.
KEEP_BONUS = 1e-4


def _keeping_published(round: ReviewRound, scores_: Affinity) -> np.ndarray:
    matrix = scores_.matrix
    if round.is_open:
        return matrix
    matrix = matrix.copy()
    values = matrix[~np.isnan(matrix)]
    bonus = KEEP_BONUS * max(float(np.ptp(values)) if values.size else 0.0, 1.0)
    for draft_id, reviewer_id in round.assignments.values_list("draft_id", "reviewer_id"):
        i, j = scores_.row(draft_id), scores_.column(reviewer_id)
        if i is not None and j is not None:
            matrix[i, j] += bonus  # nan stays nan: a conflict declared since still forbids
    return matrix


def plan_round(round: ReviewRound, scores_: Affinity | None = None) -> Plan:
    scores_ = scores_ if scores_ is not None else scores(round)
    drafts, reviewers = scores_.drafts, scores_.reviewers
    owed = _owed(round, reviewers, [d.pk for d in drafts])
    past = _past(round, reviewers, [d.pk for d in drafts])
    fixed = np.zeros(scores_.matrix.shape, dtype=bool)
    for draft_id, reviewer_id in fixed_pairs(round, drafts):
        i, j = scores_.row(draft_id), scores_.column(reviewer_id)
        if j is not None and not math.isnan(scores_.matrix[i, j]):
            fixed[i, j] = True
    need = np.full(len(drafts), round.reviewers_per_draft, dtype=np.int64)
    plan = Plan(scores=scores_, owed=owed, past=past, chosen=fixed, need=need)
    try:
        plan.chosen = solve(
            _keeping_published(round, scores_),
            round.reviewers_per_draft,
            round.max_load,
            round.min_load,
            fixed=fixed,
            owed=owed,
            past=past if round.weigh_past else 0,
            draft_names=[f"“{d.title}”" for d in drafts],
            reviewer_names=[r.name for r in reviewers],
        )
    except Infeasible as error:
        plan.chosen = error.partial if error.partial is not None else fixed
        plan.message = str(error)
        plan.problem_drafts = [drafts[i] for i in error.drafts]
    return plan


def plan_from_pairs(round: ReviewRound, pairs, scores_: Affinity) -> Plan:
    """The preview of a plan the lead edited by hand (pairs of draft and reviewer ids)."""
    chosen = np.zeros(scores_.matrix.shape, dtype=bool)
    for draft_id, reviewer_id in pairs:
        i, j = scores_.row(draft_id), scores_.column(reviewer_id)
        if i is not None and j is not None and not math.isnan(scores_.matrix[i, j]):
            chosen[i, j] = True
    draft_ids = [d.pk for d in scores_.drafts]
    owed = _owed(round, scores_.reviewers, draft_ids)
    past = _past(round, scores_.reviewers, draft_ids)
    need = np.full(len(scores_.drafts), round.reviewers_per_draft, dtype=np.int64)
    return Plan(scores=scores_, owed=owed, past=past, chosen=chosen, need=need)


class StalePlan(PublishError):
    """The round's assignments changed after this plan was made (another lead published)."""


def base_of(round: ReviewRound) -> list[list[int]]:
    """What a plan is made against: every assignment of the round's drafts, and whether the round
    was published. Publishing refuses a plan whose base has changed meanwhile."""
    return [[int(not round.is_open)], *sorted(list(p) for p in published_pairs(round))]


def publish_round(round: ReviewRound, pairs, *, base=None, scores_: Affinity | None = None) -> "Published":
    """Write the round's assignments in one transaction and notify each new reviewer.

    Refuses new pairs outside the round or forbidden (author, conflict); pairs that already exist
    stay even if a conflict was declared since (the lead removes them by hand). On a round already
    published, writes the difference: this round's assignments missing from `pairs` are released
    and their reviewers told, except reviews that have started, which always stay (`kept`).
    With `base` (from `base_of` when the plan was made), a plan made against assignments that
    have changed since is refused with StalePlan instead of undoing another lead's publication.
    `scores_` are the plan's stored affinities; authors and conflicts are checked again now."""
    if scores_ is None:
        scores_ = scores(round)
    else:
        scores_ = forbid(
            Affinity(scores_.drafts, scores_.reviewers, scores_.matrix.copy(), scores_.coauthored)
        )
    values = {}
    with transaction.atomic():
        locked = ReviewRound.objects.select_for_update().get(pk=round.pk)
        if base is not None and base != base_of(locked):
            raise StalePlan(_("This round changed after you began this plan: here it is as it is now."))
        current = {
            (a.draft_id, a.reviewer_id): a
            for a in ReviewAssignment.objects.filter(draft__in=scores_.drafts).select_related(
                "draft", "reviewer"
            )
        }
        for draft_id, reviewer_id in pairs:
            value = scores_.value(draft_id, reviewer_id)
            if math.isnan(value) and (draft_id, reviewer_id) not in current:
                raise PublishError(
                    _("A pair is outside the round, or its reviewer wrote or is conflicted with it.")
                )
            values[(draft_id, reviewer_id)] = value
        released, kept = [], []
        if not locked.is_open:
            mine = [a for pair, a in current.items() if a.round_id == round.pk and pair not in values]
            # The same row lock a reviewer's first save takes (reviewing.save_review): a review
            # cannot start between the check below and the delete, so none is ever deleted.
            list(ReviewAssignment.objects.select_for_update().filter(pk__in=[a.pk for a in mine]))
            started = set(Review.objects.filter(assignment__in=mine).values_list("assignment_id", flat=True))
            kept = [a for a in mine if a.pk in started]
            released = [a for a in mine if a.pk not in started]
            ReviewAssignment.objects.filter(pk__in=[a.pk for a in released]).delete()
        created = ReviewAssignment.objects.bulk_create(
            [
                ReviewAssignment(draft_id=d, reviewer_id=r, round=round, affinity=value, due=locked.due)
                for (d, r), value in values.items()
                if (d, r) not in current
            ]
        )
        if locked.is_open:
            now = timezone.now()
            ReviewRound.objects.filter(pk=round.pk).update(
                status=ReviewRound.Status.PUBLISHED, published_at=now
            )
            round.status, round.published_at = ReviewRound.Status.PUBLISHED, now
        assigned = ReviewAssignment.objects.filter(pk__in=[a.pk for a in created]).select_related(
            "draft", "reviewer"
        )
        notify_each(
            [(a.reviewer, _assigned_message(a, round)) for a in assigned]
            + [(a.reviewer, _released_message(a, round)) for a in released]
        )
    return Published(created=created, released=released, kept=kept)


@dataclass
class Published:
    created: list
    released: list
    kept: list = field(default_factory=list)  # started reviews the plan left out: they stay

    def __bool__(self) -> bool:
        return bool(self.created or self.released)


def _released_message(assignment: ReviewAssignment, round: ReviewRound) -> Message:
    title = assignment.draft.title
    return Message(
        subject=_("No longer needed: review of %(title)s") % {"title": title},
        dedupe_key=f"review-released:{assignment.pk}",
        text=_("%(round)s was planned again: you no longer need to review “%(title)s”. Thank you.")
        % {"round": round.name, "title": title},
        url=reverse("reviews:index"),
    )


def _assigned_message(assignment: ReviewAssignment, round: ReviewRound) -> Message:
    draft = assignment.draft
    text = _("You are asked to review “%(title)s” in %(round)s; the review is due on %(due)s.") % {
        "title": draft.title,
        "round": round.name,
        "due": round.due.isoformat(),
    }
    return Message(
        subject=_("Please review: %(title)s") % {"title": draft.title},
        dedupe_key=f"review-assigned:{assignment.pk}",
        text=text,
        url=draft.get_absolute_url(),
    )


def open_round(*, by, drafts, **fields) -> ReviewRound:
    """A new round over `drafts` (the rest of `fields` as the round form names them), opened by `by`."""
    with transaction.atomic():
        round = ReviewRound.objects.create(opened_by=by, **fields)
        round.drafts.set(drafts)
        _drafts_follow(round)
    return round


def _drafts_follow(round: ReviewRound) -> None:
    """A draft's reviews are due when its round says, so the round's date becomes its drafts' own
    review-by date: the draft page, the draft lists, the review form, the queues and the reminders
    then all say the same day. A draft a later round has taken follows that round instead."""
    Draft.objects.filter(review_rounds=round).exclude(review_rounds__created_at__gt=round.created_at).update(
        review_by=round.due
    )


def move_due(round: ReviewRound, due) -> list[ReviewAssignment]:
    """Give the round, its drafts and every review of it not yet submitted a new due date; tell
    those reviewers. Reminders follow by themselves: rows of the old date are skipped, the new date
    gets its own (reminders.py). Returns the assignments moved."""
    with transaction.atomic():
        ReviewRound.objects.filter(pk=round.pk).update(due=due)
        round.due = due
        _drafts_follow(round)
        moving = list(
            ReviewAssignment.objects.filter(round=round)
            .exclude(due=due)
            .exclude(review__status=Review.Status.SUBMITTED)
            .select_related("draft", "reviewer")
        )
        ReviewAssignment.objects.filter(pk__in=[a.pk for a in moving]).update(due=due)
        for assignment in moving:
            assignment.due = due
            # Written in the reviewer's language, not the lead's who moved the date.
            with translation.override(assignment.reviewer.language):
                message = Message(
                    subject=_("New due date: review of %(title)s") % {"title": assignment.draft.title},
                    dedupe_key=f"review-due:{assignment.pk}:{due.isoformat()}",
                    text=_("Your review of “%(title)s” is now due on %(due)s.")
                    % {"title": assignment.draft.title, "due": date_format(due, "DATE_FORMAT")},
                    url=reverse("reviews:review", args=[assignment.draft_id]),
                )
            notify(assignment.reviewer, message)
    return moving
