"""The home dashboard: the day's papers and recommendations, talks, drafts and reviews owed.

Who may see what: everyone logged in (LoginRequiredMiddleware) sees their own dashboard; each
part shows only what its app lets the person see. It is the one place lab_portal reads the
apps it hosts (besides a project's page)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def home(request: HttpRequest) -> HttpResponse:
    # The dashboard is the one place lab_portal reads the apps it hosts.
    from django.db.models import OuterRef, Subquery

    from papers.models import Paper, Recommendation
    from reviews.models import Draft
    from reviews.queues import DASHBOARD_ROWS, owed_reviews
    from seminars.models import ActionItem, Registration, Talk

    user = request.user
    day = Paper.objects.latest_day()
    mine = Paper.objects.announced_on(day).for_person(user) if day else Paper.objects.none()
    # This week in the viewer's zone (the middleware activated it), one query however many talks:
    # each talk carries the viewer's place on its list, so sorting out "mine" costs nothing more.
    place = Registration.objects.filter(talk=OuterRef("pk"), user=user).exclude(
        status=Registration.Status.CANCELLED
    )
    week = list(
        Talk.objects.in_week(timezone.localdate())
        .select_related("speaker_user")
        .with_seat_counts()
        .annotate(my_place=Subquery(place.values("status")[:1]))
    )
    for talk in week:
        talk.is_mine = bool(talk.my_place) or user.pk in (talk.host_id, talk.speaker_user_id)
    owed = owed_reviews(user, authors=False)
    context = {
        "day": day,
        "papers": mine.order_by("arxiv_id")[:8],
        # Ranked by the recommender after the fetch; the page only reads the stored top.
        "for_you": Recommendation.objects.for_day(user, day).select_related("paper")[:5] if day else (),
        "has_interests": bool(user.arxiv_names or user.research_interests.strip()),
        "my_talks": [talk for talk in week if talk.is_mine],
        "lab_talks": [talk for talk in week if not talk.is_mine],
        # A person's open items are few: done ones leave the list.
        "action_items": ActionItem.objects.open().filter(owner=user).select_related("talk", "owner"),
        # What others owe from the talks the viewer hosted and is now late: the host follows up.
        "hosted_overdue": ActionItem.objects.overdue(timezone.localdate())
        .filter(talk__host=user)
        .exclude(owner=user)
        .select_related("talk", "owner")[:DASHBOARD_ROWS],
        # A person owes a handful of reviews at most: read them all, show the next few.
        "owed_reviews": owed[:DASHBOARD_ROWS],
        "more_owed": max(0, len(owed) - DASHBOARD_ROWS),
        # The viewer's own drafts still heading for a deadline, the nearest first.
        "my_drafts": Draft.objects.authored_by(user)
        .heading_for_deadline()
        .select_related("deadline__venue")
        .order_by("deadline__paper_deadline", "pk")[:DASHBOARD_ROWS],
    }
    return render(request, "lab_portal/home.html", context)
