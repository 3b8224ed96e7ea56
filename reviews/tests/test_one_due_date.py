"""One due date per review: a draft in a review round is due when the round says, on every page
that shows it (the draft page, the draft lists, the review form, the queues) and in the reminders;
a draft outside any round keeps its own review-by date."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import dateformat, timezone

from reviews.models import Draft, ReviewAssignment, ReviewRound
from reviews.reminders import plan_reminders
from reviews.tests.factories import make_draft

pytestmark = pytest.mark.django_db


def day(value) -> str:
    return dateformat.format(value, "j F Y")


def short(value) -> str:
    return dateformat.format(value, "j M Y")


@pytest.fixture
def draft(researcher):
    return make_draft(researcher, status=Draft.Status.IN_REVIEW, title="Sparse attention")


def open_round(client, drafts, due) -> ReviewRound:
    data = {"name": "NeurIPS internal", "drafts": [d.pk for d in drafts], "due": due.isoformat()}
    data |= {"reviewers_per_draft": 1, "max_load": 2, "min_load": 0}
    response = client.post(reverse("reviews:open-round"), data)
    assert response.status_code == 302, response.content
    return ReviewRound.objects.latest("pk")


def test_a_round_due_date_is_the_drafts_on_every_page(login, draft, researcher, lead, make_person):
    reviewer = make_person("sora", display_name="Sora Han", research_interests="sparse attention")
    own_date = draft.review_by
    due = timezone.localdate() + timedelta(days=4)
    assert due != own_date
    client = login(lead)
    round = open_round(client, [draft], due)
    client.post(reverse("reviews:round-publish", args=[round.pk]))
    assignment = ReviewAssignment.objects.get(draft=draft)
    assert assignment.reviewer == reviewer

    draft.refresh_from_db()
    assert draft.review_by == due == assignment.due
    pages = {
        "the author's draft page": login(researcher).get(draft.get_absolute_url()).text,
        "the author's draft list": login(researcher).get(reverse("reviews:index")).text,
        "the lead's list": login(lead).get(reverse("reviews:index")).text,
        "the reviewer's draft page": login(reviewer).get(draft.get_absolute_url()).text,
        "the review form": login(reviewer).get(reverse("reviews:review", args=[draft.pk])).text,
        "the reviewer's queue": login(reviewer).get(reverse("reviews:owed")).text,
    }
    for where, page in pages.items():
        assert day(due) in page or short(due) in page, where
        assert day(own_date) not in page and short(own_date) not in page, where


def test_moving_the_round_due_date_moves_its_drafts_date_and_reminders(login, draft, lead, make_person):
    make_person("sora", display_name="Sora Han", research_interests="sparse attention")
    client = login(lead)
    round = open_round(client, [draft], timezone.localdate() + timedelta(days=4))
    client.post(reverse("reviews:round-publish", args=[round.pk]))
    later = timezone.localdate() + timedelta(days=9)

    client.post(reverse("reviews:round-due", args=[round.pk]), {"due": later.isoformat()})

    draft.refresh_from_db()
    assert draft.review_by == later
    assert ReviewAssignment.objects.get(draft=draft).due == later
    plan_reminders(now=timezone.now() + timedelta(days=8))
    assert {r.due for r in ReviewAssignment.objects.get(draft=draft).reminders.all()} == {later}


def test_a_later_round_has_the_say_over_an_earlier_one(login, draft, lead):
    client = login(lead)
    first = open_round(client, [draft], timezone.localdate() + timedelta(days=4))
    second_due = timezone.localdate() + timedelta(days=6)
    open_round(client, [draft], second_due)

    client.post(
        reverse("reviews:round-due", args=[first.pk]), {"due": (second_due + timedelta(days=5)).isoformat()}
    )

    draft.refresh_from_db()
    assert draft.review_by == second_due


def test_a_draft_outside_any_round_keeps_its_own_date(login, draft, researcher, lead):
    other = make_draft(researcher, status=Draft.Status.IN_REVIEW, title="Not in the round")
    own_date = other.review_by

    open_round(login(lead), [draft], timezone.localdate() + timedelta(days=4))

    other.refresh_from_db()
    assert other.review_by == own_date
    assert day(own_date) in login(researcher).get(other.get_absolute_url()).text
