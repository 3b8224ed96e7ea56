"""Review rounds through HTTP: open, preview, edit by hand, publish; bids; who may do it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lab_portal.models import Delivery
from reviews import rounds as planner
from reviews.models import Bid, Conflict, Draft, Review, ReviewAssignment, ReviewRound, RoundPlan
from reviews.tests.factories import make_draft

pytestmark = pytest.mark.django_db

DUE = datetime.now(UTC).date() + timedelta(days=20)


@pytest.fixture
def lab(make_person, researcher, lead):
    people = [make_person(f"member{n}", display_name=f"Member {n}") for n in range(5)]
    drafts = [make_draft(people[n], status=Draft.Status.IN_REVIEW, title=f"Draft {n}") for n in range(4)]
    return {"people": people, "drafts": drafts}


def _open(client, drafts, **numbers):
    data = {"name": "NeurIPS internal", "drafts": [d.pk for d in drafts], "due": DUE.isoformat()}
    data |= {"reviewers_per_draft": 2, "max_load": 2, "min_load": 0} | numbers
    response = client.post(reverse("reviews:open-round"), data)
    assert response.status_code == 302, response.content
    return ReviewRound.objects.latest("pk")


def test_lab_round_publishes_a_balanced_plan_and_notifies(login, lab, lead, researcher):
    drafts, people = lab["drafts"], lab["people"]
    Conflict.objects.create(draft=drafts[0], person=people[1], reason="Flatmates")
    client = login(lead)
    round = _open(client, drafts)

    preview = client.get(round.get_absolute_url())
    assert preview.status_code == 200
    assert b"No full assignment exists" not in preview.content
    response = client.post(reverse("reviews:round-publish", args=[round.pk]))

    assert response.status_code == 302
    rows = ReviewAssignment.objects.filter(round=round)
    assert rows.count() == 8
    for draft in drafts:
        reviewers = {a.reviewer_id for a in rows.filter(draft=draft)}
        assert len(reviewers) == 2
        assert not draft.authors.filter(person_id__in=reviewers).exists()
    assert not rows.filter(draft=drafts[0], reviewer=people[1]).exists()
    loads = [rows.filter(reviewer=p).count() for p in [*people, researcher, lead]]
    assert max(loads) <= 2
    round.refresh_from_db()
    assert round.status == ReviewRound.Status.PUBLISHED
    keys = set(Delivery.objects.values_list("dedupe_key", flat=True))
    assert keys == {f"review-assigned:{a.pk}" for a in rows}
    # Publishing twice is refused and notifies nobody again.
    client.post(reverse("reviews:round-publish", args=[round.pk]))
    assert Delivery.objects.count() == len(keys)


def test_owed_reviews_from_earlier_rounds_count_in_the_load(login, lab, lead, researcher):
    drafts, people = lab["drafts"], lab["people"]
    earlier = ReviewRound.objects.create(name="Earlier", due=DUE, status=ReviewRound.Status.PUBLISHED)
    old = make_draft(lead, title="Old draft")
    ReviewAssignment.objects.create(draft=old, reviewer=people[4], round=earlier, due=earlier.due)
    ReviewAssignment.objects.create(
        draft=make_draft(lead), reviewer=people[4], round=earlier, due=earlier.due
    )
    client = login(lead)
    round = _open(client, drafts[:2], max_load=2)

    client.post(reverse("reviews:round-publish", args=[round.pk]))

    assert not ReviewAssignment.objects.filter(round=round, reviewer=people[4]).exists()


def test_infeasible_round_names_the_problem_and_shows_the_partial_plan(login, lab, lead):
    client = login(lead)
    round = _open(client, lab["drafts"], reviewers_per_draft=3, max_load=1)

    response = client.get(round.get_absolute_url())

    text = response.content.decode()
    assert "No full assignment exists" in text
    assert "review slots" in text or "load" in text
    assert "still needs" in text
    assert text.count("Remove</button>") == 7  # the partial plan: everyone (7 people) once


def test_hand_edits_refuse_authors_and_conflicts(login, lab, lead):
    drafts, people = lab["drafts"], lab["people"]
    Conflict.objects.create(draft=drafts[1], person=people[2], reason="Competing paper")
    client = login(lead)
    round = _open(client, drafts)
    add = reverse("reviews:round-add-pair", args=[round.pk])
    remove = reverse("reviews:round-remove-pair", args=[round.pk])

    for draft, person in [(drafts[0], people[0]), (drafts[1], people[2])]:
        response = client.post(add, {"draft": draft.pk, "reviewer": person.pk}, follow=True)
        assert "may not review" in response.content.decode()
    pair = ReviewAssignment  # the first pair the plan chose, removed by hand, stays removed
    plan = RoundPlan.objects.get(round=round, lead=lead).pairs
    draft_id, reviewer_id = plan[0]
    client.post(remove, {"draft": draft_id, "reviewer": reviewer_id})
    client.post(reverse("reviews:round-publish", args=[round.pk]))

    assert not pair.objects.filter(round=round, draft_id=draft_id, reviewer_id=reviewer_id).exists()
    assert not pair.objects.filter(draft=drafts[0], reviewer=people[0]).exists()
    assert not pair.objects.filter(draft=drafts[1], reviewer=people[2]).exists()


def test_solving_a_published_round_again_never_moves_a_started_review(login, lab, lead):
    drafts = lab["drafts"][:2]
    client = login(lead)
    round = _open(client, drafts, reviewers_per_draft=2, max_load=2)
    client.post(reverse("reviews:round-publish", args=[round.pk]))
    first, second = ReviewAssignment.objects.filter(round=round, draft=drafts[0]).order_by("pk")
    Review.objects.create(assignment=first, version=drafts[0].latest_version, summary="Halfway through")
    # The second reviewer declares a conflict after publication: a new plan must replace them.
    Conflict.objects.create(draft=drafts[0], person=second.reviewer, reason="Now a co-author")
    Delivery.objects.all().delete()

    client.post(reverse("reviews:round-solve", args=[round.pk]))
    preview = client.get(round.get_absolute_url()).content.decode()
    assert "Unpublished changes: 1 added, 1 released." in preview
    # The started pair cannot be removed by hand either.
    response = client.post(
        reverse("reviews:round-remove-pair", args=[round.pk]),
        {"draft": drafts[0].pk, "reviewer": first.reviewer_id},
        follow=True,
    )
    assert "it stays where it is" in response.content.decode()
    client.post(reverse("reviews:round-publish", args=[round.pk]))

    now = ReviewAssignment.objects.filter(draft=drafts[0])
    assert now.count() == 2
    assert now.filter(pk=first.pk, review__summary="Halfway through").exists()
    assert not now.filter(reviewer=second.reviewer).exists()
    newcomer = now.exclude(pk=first.pk).get()
    keys = set(Delivery.objects.values_list("dedupe_key", flat=True))
    assert keys == {f"review-assigned:{newcomer.pk}", f"review-released:{second.pk}"}


def test_publishing_keeps_a_started_review_the_plan_left_out(login, lab, lead):
    drafts = lab["drafts"][:1]
    client = login(lead)
    round = _open(client, drafts, reviewers_per_draft=2, max_load=2)
    client.post(reverse("reviews:round-publish", args=[round.pk]))
    started = ReviewAssignment.objects.filter(round=round).first()
    # The lead's plan drops the pair just before the reviewer starts (two tabs).
    client.post(
        reverse("reviews:round-remove-pair", args=[round.pk]),
        {"draft": drafts[0].pk, "reviewer": started.reviewer_id},
    )
    Review.objects.create(assignment=started, version=drafts[0].latest_version)

    response = client.post(reverse("reviews:round-publish", args=[round.pk]), follow=True)

    assert "has started reviewing" in response.content.decode()
    assert ReviewAssignment.objects.filter(pk=started.pk).exists()


def test_a_plan_made_before_another_lead_published_is_refused(login, lab, lead, make_person):
    other_lead = make_person("hyejin", role=lead.role)
    first, second = login(lead), None
    round = _open(first, lab["drafts"][:2])
    first.get(round.get_absolute_url())  # lead one's plan, in their session
    from django.test import Client

    second = Client()
    second.force_login(other_lead)
    second.post(reverse("reviews:round-solve", args=[round.pk]))
    second.post(reverse("reviews:round-publish", args=[round.pk]))
    published = set(ReviewAssignment.objects.values_list("pk", flat=True))
    Delivery.objects.all().delete()

    response = first.post(reverse("reviews:round-publish", args=[round.pk]), follow=True)

    assert "changed after you began this plan" in response.content.decode()
    assert set(ReviewAssignment.objects.values_list("pk", flat=True)) == published
    assert not Delivery.objects.exists()


def test_a_started_reviewer_who_declares_a_conflict_does_not_block_the_round(login, lab, lead):
    drafts = lab["drafts"][:1]
    client = login(lead)
    round = _open(client, drafts, reviewers_per_draft=2, max_load=2)
    client.post(reverse("reviews:round-publish", args=[round.pk]))
    started = ReviewAssignment.objects.filter(round=round).first()
    Review.objects.create(assignment=started, version=drafts[0].latest_version, summary="Half")
    Conflict.objects.create(draft=drafts[0], person=started.reviewer, reason="Joined the project")

    client.post(reverse("reviews:round-solve", args=[round.pk]))
    response = client.post(reverse("reviews:round-publish", args=[round.pk]), follow=True)

    text = response.content.decode()
    assert "Published" in text and "that review stays assigned" in text
    rows = ReviewAssignment.objects.filter(draft=drafts[0])
    assert rows.filter(pk=started.pk, review__summary="Half").exists()
    assert rows.count() == 3  # the started review, the other reviewer, and a replacement


def test_publishing_an_unchanged_published_round_changes_nothing(login, lab, lead):
    client = login(lead)
    round = _open(client, lab["drafts"][:2])
    client.post(reverse("reviews:round-publish", args=[round.pk]))
    before = list(ReviewAssignment.objects.values_list("pk", flat=True))

    response = client.post(reverse("reviews:round-publish", args=[round.pk]), follow=True)

    assert "Nothing changed" in response.content.decode()
    assert list(ReviewAssignment.objects.values_list("pk", flat=True)) == before


def test_moving_the_due_date_moves_unsubmitted_reviews_and_their_reminders(login, lab, lead):
    from zoneinfo import ZoneInfo

    import time_machine

    from reviews.models import ReviewReminder
    from reviews.reminders import send_review_reminders

    client = login(lead)
    round = _open(client, lab["drafts"][:2])
    client.post(reverse("reviews:round-publish", args=[round.pk]))
    done, *waiting = ReviewAssignment.objects.filter(round=round).order_by("pk")
    Review.objects.create(
        assignment=done,
        version=done.draft.latest_version,
        status=Review.Status.SUBMITTED,
        submitted_at=datetime.now(UTC),
    )
    Delivery.objects.all().delete()
    later = DUE + timedelta(days=7)

    response = client.post(
        reverse("reviews:round-due", args=[round.pk]), {"due": later.isoformat()}, follow=True
    )

    assert f"Reviews are now due on {later.day} {later:%B %Y}" in response.content.decode()
    round.refresh_from_db()
    assert round.due == later
    assert ReviewAssignment.objects.get(pk=done.pk).due == DUE  # submitted: its date is history
    assert {a.due for a in ReviewAssignment.objects.filter(pk__in=[a.pk for a in waiting])} == {later}
    assert set(Delivery.objects.values_list("dedupe_key", flat=True)) == {
        f"review-due:{a.pk}:{later.isoformat()}" for a in waiting
    }
    # The reminder of the old date never goes; the new date's does.
    seoul = ZoneInfo("Asia/Seoul")
    with time_machine.travel(
        datetime.combine(DUE - timedelta(days=2), datetime.min.time(), seoul) + timedelta(hours=10)
    ):
        assert send_review_reminders() == 0
    with time_machine.travel(
        datetime.combine(later - timedelta(days=2), datetime.min.time(), seoul) + timedelta(hours=10)
    ):
        assert send_review_reminders() == len(waiting)
    assert set(ReviewReminder.objects.filter(sent_at__isnull=False).values_list("due", flat=True)) == {later}


def test_a_due_date_in_the_past_is_refused(login, lab, lead):
    client = login(lead)
    round = _open(client, lab["drafts"][:1])
    yesterday = datetime.now(UTC).date() - timedelta(days=2)

    response = client.post(
        reverse("reviews:round-due", args=[round.pk]), {"due": yesterday.isoformat()}, follow=True
    )

    assert "Choose today or a later day." in response.content.decode()
    round.refresh_from_db()
    assert round.due == DUE


def test_bids_on_an_open_round(login, lab, lead, other_researcher):
    round = _open(login(lead), lab["drafts"])
    client = login(other_researcher)
    url = reverse("reviews:round-bids", args=[round.pk])
    assert client.get(url).status_code == 200

    client.post(url, {"draft": lab["drafts"][2].pk, "level": Bid.Level.EAGER})

    assert Bid.objects.get(person=other_researcher).level == Bid.Level.EAGER
    round.status = ReviewRound.Status.PUBLISHED
    round.save()
    assert client.get(url).status_code == 404


LEAD_VIEWS = [
    ("rounds", "get", False),
    ("open-round", "get", False),
    ("open-round", "post", False),
    ("round", "get", True),
    ("round-add-pair", "post", True),
    ("round-remove-pair", "post", True),
    ("round-solve", "post", True),
    ("round-publish", "post", True),
    ("round-discard", "post", True),
    ("round-due", "post", True),
]


@pytest.mark.parametrize(("name", "method", "with_round"), LEAD_VIEWS)
def test_round_views_are_for_leads(client, lab, lead, researcher, name, method, with_round):
    round = ReviewRound.objects.create(name="R", due=DUE)
    round.drafts.set(lab["drafts"])
    url = reverse(f"reviews:{name}", args=[round.pk] if with_round else [])

    anonymous = getattr(client, method)(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("login"))
    client.force_login(researcher)
    assert getattr(client, method)(url).status_code == 403
    client.force_login(lead)
    assert getattr(client, method)(url).status_code in (200, 302, 400)
    assert not ReviewAssignment.objects.exists() or name == "round-publish"


def _round_page_queries(client, round) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(round.get_absolute_url())
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_round_page_shows_the_stored_plan_without_solving_or_writing(login, lab, lead, monkeypatch):
    client = login(lead)
    round = _open(client, lab["drafts"])
    plan = RoundPlan.objects.get(round=round, lead=lead)
    made_at = plan.made_at

    def refuse(*args, **kwargs):
        raise AssertionError("a GET computed affinities or solved")

    monkeypatch.setattr(planner, "scores", refuse)
    monkeypatch.setattr(planner, "plan_round", refuse)
    monkeypatch.setattr(planner, "solve", refuse)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(round.get_absolute_url())

    assert page.status_code == 200
    writes = [
        q["sql"] for q in captured.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert writes == []
    assert RoundPlan.objects.get(pk=plan.pk).made_at == made_at
    assert len(page.context["rows"]) == 8  # four drafts, two reviewers each


def test_hand_edits_and_publishing_reuse_the_stored_affinities(login, lab, lead, monkeypatch):
    client = login(lead)
    round = _open(client, lab["drafts"])
    plan = RoundPlan.objects.get(round=round, lead=lead)
    draft_id, reviewer_id = plan.pairs[0]
    monkeypatch.setattr(planner, "scores", lambda round: pytest.fail("affinities computed again"))

    client.post(
        reverse("reviews:round-remove-pair", args=[round.pk]), {"draft": draft_id, "reviewer": reviewer_id}
    )
    client.post(
        reverse("reviews:round-add-pair", args=[round.pk]), {"draft": draft_id, "reviewer": reviewer_id}
    )
    client.post(reverse("reviews:round-publish", args=[round.pk]))

    assert ReviewAssignment.objects.filter(round=round).count() == 8
    stored = ReviewAssignment.objects.get(round=round, draft_id=draft_id, reviewer_id=reviewer_id)
    row, column = plan.drafts.index(draft_id), plan.reviewers.index(reviewer_id)
    assert stored.affinity == pytest.approx(plan.affinity[row][column])
    assert not RoundPlan.objects.filter(round=round).exists()  # published: the plan is done


def test_a_conflict_declared_after_planning_still_stops_publishing_that_pair(login, lab, lead):
    client = login(lead)
    round = _open(client, lab["drafts"])
    draft_id, reviewer_id = RoundPlan.objects.get(round=round, lead=lead).pairs[0]
    Conflict.objects.create(draft_id=draft_id, person_id=reviewer_id, reason="Joined the project")

    response = client.post(reverse("reviews:round-publish", args=[round.pk]), follow=True)

    assert "conflicted with it" in response.content.decode()
    assert not ReviewAssignment.objects.filter(round=round).exists()


def test_an_open_round_without_a_plan_offers_one_and_publishing_waits_for_it(login, lab, lead, make_person):
    other_lead = make_person("hyejin", role=lead.role)
    round = _open(login(lead), lab["drafts"])
    client = login(other_lead)

    page = client.get(round.get_absolute_url())
    refused = client.post(reverse("reviews:round-publish", args=[round.pk]), follow=True)

    assert "Plan the assignment" in page.content.decode()
    assert not RoundPlan.objects.filter(lead=other_lead).exists()
    assert "Plan the assignment first." in refused.content.decode()
    assert not ReviewAssignment.objects.exists()


def test_round_page_costs_the_same_queries_for_two_drafts_or_eight(login, lab, lead, make_person):
    client = login(lead)
    small = _open(client, lab["drafts"][:2], reviewers_per_draft=1, max_load=3)
    client.get(small.get_absolute_url())  # the session and the person are loaded once
    few = _round_page_queries(client, small)
    drafts = lab["drafts"] + [
        make_draft(make_person(f"writer{n}"), status=Draft.Status.IN_REVIEW) for n in range(4)
    ]
    for n in range(6):
        make_person(f"extra{n}")
    large = _open(client, drafts, reviewers_per_draft=2, max_load=3)

    many = _round_page_queries(client, large)

    assert few == many
    assert len(RoundPlan.objects.get(round=large, lead=lead).pairs) == 16


def _reviewed(reviewer, draft, *, when) -> Review:
    assignment = ReviewAssignment.objects.create(draft=draft, reviewer=reviewer, due=when.date())
    return Review.objects.create(
        assignment=assignment, version=draft.latest_version, status=Review.Status.SUBMITTED, submitted_at=when
    )


def test_a_round_that_weighs_past_reviews_gives_the_draft_to_who_did_fewest_lately(
    login, lab, lead, researcher, settings
):
    settings.REVIEW_FAIRNESS_MONTHS = 12
    drafts, people = lab["drafts"], lab["people"]
    now = datetime.now(UTC)
    for person in [people[1], people[2], people[4], researcher]:
        _reviewed(
            person, make_draft(lead, title=f"Reviewed by {person.username}"), when=now - timedelta(days=40)
        )
    _reviewed(lead, make_draft(researcher, title="Reviewed by the lead"), when=now - timedelta(days=200))
    for n in range(3):  # outside the window: these no longer count
        _reviewed(people[3], make_draft(lead, title=f"Long ago {n}"), when=now - timedelta(days=400))
    client = login(lead)
    weighed = _open(client, drafts[:1], reviewers_per_draft=1, max_load=1, weigh_past="on")

    preview = client.get(weighed.get_absolute_url())
    client.post(reverse("reviews:round-publish", args=[weighed.pk]))

    chosen = ReviewAssignment.objects.get(round=weighed)
    assert weighed.weigh_past is True
    assert chosen.reviewer == people[3]  # the one person with no review in the last 12 months
    assert "The plan weighs them" in preview.text
    assert "1 done lately" in preview.text and "0 done lately" in preview.text


def test_a_round_that_does_not_weigh_the_past_still_shows_it(login, lab, lead, researcher):
    drafts, people = lab["drafts"], lab["people"]
    _reviewed(people[2], make_draft(lead), when=datetime.now(UTC) - timedelta(days=3))
    client = login(lead)
    flat = _open(client, drafts[:1], reviewers_per_draft=1, max_load=1)

    preview = client.get(flat.get_absolute_url())

    assert flat.weigh_past is False
    assert "This round's plan does not weigh them." in preview.text
    assert "1 done lately" in preview.text
