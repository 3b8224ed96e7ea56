"""Deadlines you can see and subscribe to: "N days left" (urgent in the last week) on the venue
list, the draft page and the dashboard; one calendar per person at a secret, revocable key with
every venue's deadlines, their drafts' review dates and the reviews they owe."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from reviews.models import Review, ReviewAssignment
from reviews.tests.factories import make_deadline, make_draft, make_venue
from seminars.models import CalendarToken

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def summaries(body: bytes) -> list[str]:
    return sorted(str(event["summary"]) for event in Calendar.from_ical(body).walk("VEVENT"))


def test_venue_list_counts_down_and_marks_the_last_week_urgent(clock, login, researcher):
    make_deadline(make_venue(short_name="FAR"), paper_deadline=NOW + timedelta(days=8, hours=3))
    make_deadline(make_venue(short_name="NEAR"), paper_deadline=NOW + timedelta(days=6, hours=23))
    make_deadline(make_venue(short_name="TODAY"), paper_deadline=NOW + timedelta(hours=5, minutes=30))

    page = login(researcher).get(reverse("reviews:venues"))

    assert page.status_code == 200
    assert '<span class="countdown">8 days left</span>' in page.text
    assert '<span class="countdown urgent">6 days left</span>' in page.text
    assert '<span class="countdown urgent">5 hours left</span>' in page.text


def test_draft_page_and_dashboard_show_the_time_left_to_the_drafts_deadline(clock, login, researcher):
    deadline = make_deadline(make_venue(short_name="ICML"), paper_deadline=NOW + timedelta(days=1, hours=2))
    draft = make_draft(researcher, deadline=deadline, title="Sparse attention", review_by=NOW.date())
    make_draft(
        researcher, title="Already gone", deadline=make_deadline(paper_deadline=NOW - timedelta(days=1))
    )
    client = login(researcher)

    draft_page = client.get(draft.get_absolute_url())
    dashboard = client.get(reverse("home"))

    assert '<span class="countdown urgent">1 day left</span>' in draft_page.text
    panel = dashboard.text.split('id="panel-deadlines"')[1]
    assert "Sparse attention" in panel and '<span class="countdown urgent">1 day left</span>' in panel
    assert "Already gone" not in panel  # its deadline has passed


def test_dashboard_deadlines_are_only_the_viewers_own(clock, login, researcher, other_researcher):
    make_draft(other_researcher, title="Someone else's draft")

    dashboard = login(researcher).get(reverse("home"))

    assert "Someone else&#x27;s draft" not in dashboard.text
    assert "None of your drafts has a deadline ahead." in dashboard.text


def test_deadlines_feed_opens_without_login_and_holds_deadlines_drafts_and_owed_reviews(
    clock, client, researcher, reviewer, other_researcher
):
    deadline = make_deadline(make_venue(short_name="ICML"), paper_deadline=NOW + timedelta(days=20))
    make_deadline(make_venue(short_name="OLD"), paper_deadline=NOW - timedelta(days=90))
    mine = make_draft(researcher, deadline=deadline, title="Sparse attention", review_by=date(2027, 1, 20))
    theirs = make_draft(other_researcher, reviewers=[researcher, reviewer], title="Their <draft>")
    done = make_draft(other_researcher, reviewers=[researcher], title="Reviewed already")
    Review.objects.create(
        assignment=ReviewAssignment.objects.get(draft=done, reviewer=researcher),
        version=done.latest_version,
        status=Review.Status.SUBMITTED,
        submitted_at=NOW,
    )
    key = CalendarToken.renew(researcher).key

    response = client.get(reverse("seminars:deadlines-feed", args=[key]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in response["Cache-Control"]
    found = summaries(response.content)
    assert any(s.startswith("ICML 2027: paper deadline") for s in found)
    assert not any(s.startswith("OLD") for s in found)
    assert "Reviews due for your draft “Sparse attention” (ICML 2027)" in found
    assert "Review due: “Their <draft>”" in found
    assert "Review due: “Reviewed already”" not in found
    events = {str(e["uid"]): e for e in Calendar.from_ical(response.content).walk("VEVENT")}
    own = events[f"draft-{mine.pk}-reviews-due@lab-portal"]
    assert own.decoded("dtstart") == date(2027, 1, 20)
    owed = events[
        f"review-{ReviewAssignment.objects.get(draft=theirs, reviewer=researcher).pk}-due@lab-portal"
    ]
    assert owed["url"].endswith(reverse("reviews:review", args=[theirs.pk]))


def test_deadlines_feed_is_404_for_an_unknown_revoked_or_renewed_key(clock, client, researcher):
    old = CalendarToken.renew(researcher).key
    new = CalendarToken.renew(researcher).key  # the old one retires
    revoked_person_key = new

    unknown = client.get(reverse("seminars:deadlines-feed", args=["not-a-key"]))
    renewed = client.get(reverse("seminars:deadlines-feed", args=[old]))
    live = client.get(reverse("seminars:deadlines-feed", args=[new]))
    CalendarToken.revoke_all(researcher)
    revoked = client.get(reverse("seminars:deadlines-feed", args=[revoked_person_key]))

    assert (unknown.status_code, renewed.status_code, live.status_code, revoked.status_code) == (
        404,
        404,
        200,
        404,
    )


def test_feeds_page_lists_the_deadlines_calendar(clock, login, researcher):
    key = CalendarToken.renew(researcher).key

    page = login(researcher).get(reverse("seminars:calendar-feeds"))

    assert "Deadlines and my reviews" in page.text
    assert f"/seminars/feeds/{key}/deadlines.ics" in page.text
