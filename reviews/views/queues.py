"""The review queues: reviews a person owes, the lead's board of a round, the publication record.

Who may see what: "reviews I owe" lists only the viewer's own assignments, with the authors'
names hidden where the draft's anonymity says so. The board of a round is for leads (403 for
everyone else, 404 for a round that does not exist). The publication record is for every
logged-in person: acceptance makes a draft's title and author list public, but its page still
opens only for those who may see the draft. Linking an accepted draft to its arXiv paper by hand
is for the draft's lab authors and the leads (403 for others, 404 for a draft not accepted).
Every change is a POST.

Each list is read in a fixed number of queries, however many rows it has.
"""

from itertools import groupby

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from papers.models import Paper

from .. import publications as record
from ..forms import PaperLinkForm
from ..models import Draft, DraftAuthor, ReviewAssignment
from ..queues import (
    BoardTotals,
    State,
    duration_label,
    owed_reviews,
    review_state,
    submitted_reviews,
    turnaround,
)
from .rounds import _lead_round


@require_safe
def owed(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {"owed": owed_reviews(user), "submitted": submitted_reviews(user)}
    return render(request, "reviews/owed.html", context)


@require_safe
def round_board(request: HttpRequest, pk: int) -> HttpResponse:
    round = _lead_round(request, pk)
    now = timezone.now()
    assignments = ReviewAssignment.objects.select_related("reviewer", "review").order_by("created_at", "pk")
    drafts = list(
        round.drafts.select_related("deadline__venue")
        .prefetch_related(Prefetch("assignments", queryset=assignments))
        .order_by("review_by", "title", "pk")
    )
    totals = BoardTotals()
    for draft in drafts:
        draft.rows = []
        for assignment in draft.assignments.all():
            state = review_state(assignment, now)
            took = turnaround(assignment)
            # Reviews asked for by hand or by another round are shown, but the totals are this
            # round's: they measure how the round went.
            outside = assignment.round_id != round.pk
            if not outside:
                totals.assigned += 1
                totals.submitted += state in (State.ON_TIME, State.LATE)
                totals.overdue += state == State.OVERDUE
                if took is not None:
                    totals.turnarounds.append(took)
            draft.rows.append(
                {
                    "assignment": assignment,
                    "review": getattr(assignment, "review", None),
                    "state": state,
                    "state_label": State.labels[state],
                    "turnaround": duration_label(took),
                    "outside": outside,
                }
            )
    context = {"round": round, "drafts": drafts, "totals": totals, "State": State}
    return render(request, "reviews/board.html", context)


# ---- the publication record -------------------------------------------------------------------


def _get_accepted_draft_for_linking(request: HttpRequest, pk: int) -> Draft:
    draft = get_object_or_404(Draft.objects.filter(status=Draft.Status.ACCEPTED), pk=pk)
    if not (request.user.is_lead or draft.is_author(request.user)):
        raise PermissionDenied
    return draft


@require_safe
def publications(request: HttpRequest) -> HttpResponse:
    user = request.user
    accepted = Draft.objects.filter(status=Draft.Status.ACCEPTED)
    drafts = (
        accepted.select_related("deadline__venue", "paper")
        .prefetch_related(Prefetch("authors", queryset=DraftAuthor.objects.select_related("person")))
        .order_by("-deadline__year", "deadline__venue__short_name", "-status_changed_at", "title", "pk")
    )
    openable = set(
        accepted.filter(pk__in=Draft.objects.visible_to(user).values("pk")).values_list("pk", flat=True)
    )
    years = []
    for year, in_year in groupby(drafts, key=lambda d: d.deadline.year):
        venues = []
        for _venue, at_venue in groupby(in_year, key=lambda d: d.deadline.venue_id):
            rows = list(at_venue)
            for draft in rows:
                draft.can_open = draft.pk in openable
                draft.can_link = user.is_lead or any(a.person_id == user.pk for a in draft.authors.all())
            venues.append((rows[0].deadline.venue, rows))
        years.append((year, venues))
    return render(request, "reviews/publications.html", {"years": years, "link_form": PaperLinkForm()})


@require_POST
def link_publication(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _get_accepted_draft_for_linking(request, pk)
    form = PaperLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["arxiv_id"][0])
        return redirect("reviews:publications")
    arxiv_id = form.cleaned_data["arxiv_id"]
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if paper is None:
        messages.error(
            request,
            _(
                "arXiv:%(id)s is not in the paper store yet; it will be linked automatically when it "
                "is fetched."
            )
            % {"id": arxiv_id},
        )
        return redirect("reviews:publications")
    record.link(draft, paper, by=request.user)
    messages.success(
        request, _("“%(title)s” is linked to arXiv:%(id)s.") % {"title": draft.title, "id": arxiv_id}
    )
    return redirect("reviews:publications")
