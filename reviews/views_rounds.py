"""Review rounds, conflicts and bids.

Who may do what: opening, previewing, editing, solving and publishing a round are for leads
(403 for everyone else). Anyone may bid on the drafts of an open round and declare a conflict with
a draft they can see or that is in an open round (404 otherwise, so a draft's existence is not
revealed). Every change is a POST.

The plan being edited lives in the lead's session until it is published: it is a proposal, not
state anyone else should see, and publishing checks every pair again against the database. A
published round can be edited and solved again the same way; the changes are published as a
difference, and a review that has started never moves (rounds.py).
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

from . import rounds as planner
from .forms import BidForm, ConflictForm, PairForm, RoundDueForm, RoundForm
from .models import Bid, Conflict, Draft, ReviewRound


def _require_lead(request: HttpRequest) -> None:
    if not request.user.is_lead:
        raise PermissionDenied


def _lead_round(request: HttpRequest, pk: int) -> ReviewRound:
    _require_lead(request)
    return get_object_or_404(ReviewRound, pk=pk)


def _session_key(round: ReviewRound) -> str:
    return f"review-round-plan:{round.pk}"


def _stored(request, round):
    """(pairs, message) of the plan in progress. With none yet, an open round is solved first and
    a published one starts from its assignments as they are."""
    stored = request.session.get(_session_key(round))
    if stored is None:
        if round.is_open:
            plan = planner.plan_round(round)
            pairs, message = plan.pairs, plan.message
        else:
            pairs, message = planner.published_pairs(round), ""
        stored = {"pairs": [list(p) for p in pairs], "message": message, "base": planner.base_of(round)}
        request.session[_session_key(round)] = stored
    return [tuple(p) for p in stored["pairs"]], stored["message"]


def _store(request, round, pairs, message) -> None:
    # Hand edits keep the base of the plan they edit; a new solve starts from the round as it is.
    previous = request.session.get(_session_key(round)) or {}
    request.session[_session_key(round)] = {
        "pairs": sorted(list(p) for p in pairs),
        "message": message,
        "base": previous.get("base") or planner.base_of(round),
    }


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
        messages.success(request, _("The round is open; here is the best assignment for it."))
        return redirect(round)
    status = 400 if request.method == "POST" else 200
    return render(request, "reviews/round_form.html", {"form": form}, status=status)


@require_safe
def round_preview(request: HttpRequest, pk: int) -> HttpResponse:
    round = _lead_round(request, pk)
    pairs, message = _stored(request, round)
    plan = planner.plan_from_pairs(round, pairs)
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
        "rows": rows,
        # What publishing would change in a published round: pairs added and released.
        "added": sum(row["added"] for row in rows),
        "released": len(published - set(pairs)),
        "loads": loads,
        "fairness_months": settings.REVIEW_FAIRNESS_MONTHS,
        "message": message,
        "shortfall": plan.shortfall(),
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
    if math.isnan(planner.scores(round).value(*pair)):
        messages.error(
            request, _("That reviewer may not review that draft: they wrote it or declared a conflict.")
        )
        return redirect(round)
    pairs, message = _stored(request, round)
    _store(request, round, set(pairs) | {pair}, message)
    return redirect(round)


@require_POST
def remove_pair(request: HttpRequest, pk: int) -> HttpResponse:
    round = _lead_round(request, pk)
    pair = _pair(request)
    pairs, message = _stored(request, round)
    if pair is not None and pair in planner.fixed_pairs(round, round.drafts.all()):
        messages.error(
            request,
            _("That review has started, or was assigned outside this round: it stays where it is."),
        )
    elif pair is not None:
        _store(request, round, set(pairs) - {pair}, message)
    return redirect(round)


@require_POST
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Throw away hand edits and solve again (new bids and conflicts are taken into account).
    In a published round, reviews that have started stay; the others may move."""
    round = _lead_round(request, pk)
    plan = planner.plan_round(round)
    request.session.pop(_session_key(round), None)
    _store(request, round, plan.pairs, plan.message)
    return redirect(round)


@require_POST
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget the edits to a published round: its assignments stay as published."""
    round = _lead_round(request, pk)
    request.session.pop(_session_key(round), None)
    return redirect(round)


@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    round = _lead_round(request, pk)
    pairs, _message = _stored(request, round)
    try:
        created = planner.publish_round(round, pairs, base=request.session[_session_key(round)].get("base"))
    except planner.StalePlan as error:
        request.session.pop(_session_key(round), None)
        messages.error(request, str(error))
        return redirect(round)
    except planner.PublishError as error:
        messages.error(request, str(error))
        return redirect(round)
    request.session.pop(_session_key(round), None)
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
