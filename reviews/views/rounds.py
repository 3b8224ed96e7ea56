"""Review rounds, conflicts and bids.

Who may do what: opening, previewing, editing, solving and publishing a round are for leads
(403 for everyone else). Anyone may bid on the drafts of an open round and declare a conflict with
a draft they can see or that is in an open round (404 otherwise, so a draft's existence is not
revealed). Every change is a POST.

The plan being edited is the lead's own (a RoundPlan) until it is published: a proposal, not
state anyone else should see, and publishing checks every pair again against the database. It is
made by a POST (opening the round, solving again, the first hand edit of a published round) with
its affinities computed once; the round page only shows it. A published round can be edited and
solved again the same way; the changes are published as a difference, and a review that has
started never moves (rounds.py).
"""

import math

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from .. import rounds as planner
from ..forms import BidForm, ConflictForm, PairForm, RoundDueForm, RoundForm
from ..models import Bid, Conflict, Draft, ReviewRound, RoundPlan


def _require_lead(request: HttpRequest) -> None:
    if not request.user.is_lead:
        raise PermissionDenied


def _lead_round(request: HttpRequest, pk: int) -> ReviewRound:
    _require_lead(request)
    return get_object_or_404(ReviewRound, pk=pk)


def _plan(request, round) -> RoundPlan | None:
    return RoundPlan.objects.filter(round=round, lead=request.user).first()


def _editable(request, round) -> RoundPlan:
    """The lead's plan to edit, made first when there is none: an open round is solved, a
    published one starts from its assignments as they are. Only POSTs call this."""
    plan = _plan(request, round)
    if plan is None:
        scores = planner.scores(round)
        if round.is_open:
            solved = planner.plan_round(round, scores)
            pairs, message = solved.pairs, solved.message
        else:
            pairs, message = planner.published_pairs(round), ""
        plan = planner.save_plan(round, lead=request.user, pairs=pairs, message=message, scores_=scores)
    return plan


def _store(plan: RoundPlan, pairs) -> None:
    # Hand edits keep the affinities and the base of the plan they edit.
    plan.pairs = sorted([int(d), int(r)] for d, r in pairs)
    plan.save(update_fields=["pairs"])


@require_safe
def rounds(request: HttpRequest) -> HttpResponse:
    _require_lead(request)
    all_rounds = ReviewRound.objects.prefetch_related("drafts").select_related("opened_by")
    return render(request, "reviews/rounds.html", {"rounds": all_rounds})


def open_round(request: HttpRequest) -> HttpResponse:
    _require_lead(request)
    form = RoundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        round = planner.open_round(by=request.user, **form.cleaned_data)
        _editable(request, round)
        messages.success(request, _("The round is open; here is the best assignment for it."))
        return redirect(round)
    status = 400 if request.method == "POST" else 200
    return render(request, "reviews/round_form.html", {"form": form}, status=status)


@require_safe
def round_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead's plan as it stands; a GET changes nothing (see the module's docstring)."""
    round = _lead_round(request, pk)
    stored = _plan(request, round)
    if stored is not None:
        pairs, message = [tuple(p) for p in stored.pairs], stored.message
        plan = planner.plan_from_pairs(round, pairs, planner.stored_scores(stored))
    else:
        # No plan of this lead's yet: an open round waits for one, a published one shows itself.
        pairs = [] if round.is_open else planner.published_pairs(round)
        message = ""
        plan = planner.plan_from_pairs(round, pairs, planner.published_scores(round))
    published = set() if round.is_open else set(planner.published_pairs(round))
    fixed = planner.fixed_pairs(round, plan.scores.drafts)
    loads = plan.loads()
    widest = max([row["total"] for row in loads] + [round.max_load, 1])
    for row in loads:
        row["owed_pct"] = round_pct(row["owed"], widest)
        row["new_pct"] = round_pct(row["new"], widest)
    rows = plan.rows()
    for row in rows:
        row["fixed"] = (row["draft"].pk, row["reviewer"].pk) in fixed
        row["added"] = not round.is_open and (row["draft"].pk, row["reviewer"].pk) not in published
    context = {
        "round": round,
        "planned": stored is not None,
        "rows": rows,
        # What publishing would change in a published round: pairs added and released.
        "added": sum(row["added"] for row in rows),
        "released": len(published - set(pairs)),
        "loads": loads,
        "fairness_months": settings.REVIEW_FAIRNESS_MONTHS,
        "message": message,
        "shortfall": plan.shortfall() if stored is not None or not round.is_open else {},
        "drafts": plan.scores.drafts,
        "reviewers": plan.scores.reviewers,
    }
    return render(request, "reviews/round.html", context)


def round_pct(value: int, widest: int) -> int:
    return round_half(100 * value / widest)


def round_half(x: float) -> int:
    return int(x + 0.5)


def _pair(request) -> tuple[int, int] | None:
    form = PairForm(request.POST)
    if not form.is_valid():
        return None
    return form.cleaned_data["draft"], form.cleaned_data["reviewer"]


@require_POST
def add_pair(request: HttpRequest, pk: int) -> HttpResponse:
    round = _lead_round(request, pk)
    pair = _pair(request)
    if pair is None:
        messages.error(request, _("Choose a draft and a reviewer."))
        return redirect(round)
    plan = _editable(request, round)
    if math.isnan(planner.stored_scores(plan).value(*pair)) or planner.forbidden(round, *pair):
        messages.error(
            request, _("That reviewer may not review that draft: they wrote it or declared a conflict.")
        )
        return redirect(round)
    _store(plan, {tuple(p) for p in plan.pairs} | {pair})
    return redirect(round)


@require_POST
def remove_pair(request: HttpRequest, pk: int) -> HttpResponse:
    round = _lead_round(request, pk)
    pair = _pair(request)
    plan = _editable(request, round)
    if pair is not None and pair in planner.fixed_pairs(round, round.drafts.all()):
        messages.error(
            request,
            _("That review has started, or was assigned outside this round: it stays where it is."),
        )
    elif pair is not None:
        _store(plan, {tuple(p) for p in plan.pairs} - {pair})
    return redirect(round)


@require_POST
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Throw away hand edits and solve again (new bids and conflicts are taken into account).
    In a published round, reviews that have started stay; the others may move."""
    round = _lead_round(request, pk)
    scores = planner.scores(round)
    solved = planner.plan_round(round, scores)
    planner.save_plan(round, lead=request.user, pairs=solved.pairs, message=solved.message, scores_=scores)
    return redirect(round)


@require_POST
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget the edits to a published round: its assignments stay as published."""
    round = _lead_round(request, pk)
    RoundPlan.objects.filter(round=round, lead=request.user).delete()
    return redirect(round)


@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    round = _lead_round(request, pk)
    plan = _plan(request, round)
    if plan is None and not round.is_open:
        messages.info(request, _("Nothing changed: the published assignment stays as it is."))
        return redirect(round)
    if plan is None:
        messages.error(request, _("Plan the assignment first."))
        return redirect(round)
    pairs = [tuple(p) for p in plan.pairs]
    try:
        created = planner.publish_round(round, pairs, base=plan.base, scores_=planner.stored_scores(plan))
    except planner.StalePlan as error:
        plan.delete()
        messages.error(request, str(error))
        return redirect(round)
    except planner.PublishError as error:
        messages.error(request, str(error))
        return redirect(round)
    plan.delete()
    for assignment in created.kept:
        messages.info(
            request,
            _("%(reviewer)s has started reviewing “%(title)s”; that review stays assigned.")
            % {"reviewer": assignment.reviewer.name, "title": assignment.draft.title},
        )
    if not created:
        messages.info(request, _("Nothing changed: the published assignment stays as it is."))
        return redirect(round)
    messages.success(
        request,
        _("Published: %(count)d reviewers are notified.")
        % {"count": len({a.reviewer_id for a in created.created + created.released})},
    )
    return redirect(round)


@require_POST
def move_due(request: HttpRequest, pk: int) -> HttpResponse:
    """A new due date for the round's reviews that are not submitted yet (a deadline moved, or
    the lab needs a few more days)."""
    round = _lead_round(request, pk)
    form = RoundDueForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["due"]))
    else:
        moved = planner.move_due(round, form.cleaned_data["due"])
        messages.success(
            request,
            _("Reviews are now due on %(due)s; %(count)d reviewers are told.")
            % {"due": date_format(round.due, "DATE_FORMAT"), "count": len({a.reviewer_id for a in moved})},
        )
    return redirect("reviews:round-board", round.pk)


def bids(request: HttpRequest, pk: int) -> HttpResponse:
    """Everyone's bidding page for an open round: titles only, never the authors."""
    round = get_object_or_404(ReviewRound.objects.open(), pk=pk)
    drafts = round.drafts.exclude(authors__person=request.user)
    if request.method == "POST":
        form = BidForm(request.POST)
        if form.is_valid() and drafts.filter(pk=form.cleaned_data["draft"]).exists():
            Bid.objects.update_or_create(
                draft_id=form.cleaned_data["draft"],
                person=request.user,
                defaults={"level": form.cleaned_data["level"]},
            )
            messages.success(request, _("Your bid is saved."))
            return redirect("reviews:round-bids", round.pk)
        messages.error(request, _("Choose a draft of this round and a bid."))
        return redirect("reviews:round-bids", round.pk)
    mine = dict(Bid.objects.filter(person=request.user, draft__in=drafts).values_list("draft_id", "level"))
    conflicted = set(
        Conflict.objects.filter(person=request.user, draft__in=drafts).values_list("draft_id", flat=True)
    )
    rows = [
        {"draft": d, "bid": mine.get(d.pk, Bid.Level.WILLING), "conflicted": d.pk in conflicted}
        for d in drafts.order_by("title")
    ]
    return render(
        request, "reviews/round_bids.html", {"round": round, "rows": rows, "levels": Bid.Level.choices}
    )


def declare_conflict(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    in_open_round = Q(review_rounds__status=ReviewRound.Status.OPEN)
    seen = Draft.objects.visible_to(user).values("pk")
    draft = get_object_or_404(Draft.objects.filter(Q(pk__in=seen) | in_open_round).distinct(), pk=pk)
    if draft.is_author(user):
        raise PermissionDenied  # authors never review their own draft; there is nothing to declare
    form = ConflictForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        Conflict.objects.update_or_create(
            draft=draft, person=user, defaults={"reason": form.cleaned_data["reason"], "declared_by": user}
        )
        messages.success(request, _("Your conflict is recorded; you will not be asked to review this draft."))
        return redirect("reviews:index")
    status = 400 if request.method == "POST" else 200
    return render(request, "reviews/conflict_form.html", {"draft": draft, "form": form}, status=status)
