"""Affinity from the paper store: authors and conflicts are never pairs, co-authorship lowers."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from papers.models import Bookmark
from papers.tests.factories import make_paper
from reviews.expertise import COAUTHOR_FACTOR, affinity
from reviews.models import Bid, Conflict
from reviews.tests.factories import make_draft

pytestmark = pytest.mark.django_db

RECENT = datetime.now(UTC).date() - timedelta(days=60)
GRAPH = "Graph neural networks for molecule property prediction with message passing"
SPEECH = "Streaming speech recognition with transducers and low latency decoding"


@pytest.fixture
def vision(make_person):
    return make_person("hana", display_name="Hana Lee", arxiv_names=["Lee, Hana"])


@pytest.fixture
def speech(make_person):
    return make_person("joon", display_name="Joon Choi", arxiv_names=["Joon-Ho Choi"])


@pytest.fixture
def draft(researcher):
    return make_draft(researcher, title="Message passing graph networks", abstract=GRAPH)


def test_own_papers_matched_by_name_raise_affinity(draft, vision, speech):
    make_paper(title="Molecule graphs", abstract=GRAPH, authors=["Hana Lee", "Ada Lovelace"], day=RECENT)
    make_paper(title="Transducers", abstract=SPEECH, authors=["Joonho Choi"], day=RECENT)

    scores = affinity([draft], [vision, speech])

    assert scores.value(draft.pk, vision.pk) > 0.3
    assert scores.value(draft.pk, speech.pk) < scores.value(draft.pk, vision.pk)


def test_library_and_interests_count_as_expertise(draft, vision, speech):
    paper = make_paper(title="Graphs", abstract=GRAPH, authors=["Someone Else"], day=RECENT)
    Bookmark.objects.create(user=speech, paper=paper)
    vision.research_interests = "graph neural networks, molecules"
    vision.save()

    scores = affinity([draft], [vision, speech])

    assert scores.value(draft.pk, speech.pk) > 0.3
    assert scores.value(draft.pk, vision.pk) > 0.1


def test_authors_and_declared_conflicts_are_nan(draft, researcher, vision, speech):
    Conflict.objects.create(draft=draft, person=vision, reason="Same start-up", declared_by=vision)
    Bid.objects.create(draft=draft, person=vision, level=Bid.Level.EAGER)

    scores = affinity([draft], [researcher, vision, speech])

    assert math.isnan(scores.value(draft.pk, researcher.pk))
    assert math.isnan(scores.value(draft.pk, vision.pk))  # an eager bid cannot undo a conflict
    assert not math.isnan(scores.value(draft.pk, speech.pk))


def test_team_and_mail_domain_are_not_conflicts(draft, researcher, make_person, team):
    teammate = make_person("bora", team=team, email="bora@lab.example.org", research_interests=GRAPH)

    assert not math.isnan(affinity([draft], [teammate]).value(draft.pk, teammate.pk))


def test_recent_coauthorship_lowers_but_allows(draft, researcher, vision):
    researcher.arxiv_names = ["Minji Kim"]
    researcher.save()
    make_paper(title="Graphs", abstract=GRAPH, authors=["Hana Lee"], day=RECENT)
    before = affinity([draft], [vision]).value(draft.pk, vision.pk)
    make_paper(
        title="Other", abstract="Unrelated words entirely", authors=["Kim, Minji", "Hana Lee"], day=RECENT
    )

    scores = affinity([draft], [vision])

    assert scores.coauthored[0, 0]
    assert 0 < scores.value(draft.pk, vision.pk) < before
    assert scores.value(draft.pk, vision.pk) <= before * COAUTHOR_FACTOR + 0.05


def test_old_coauthorship_does_not_count(draft, researcher, vision):
    researcher.arxiv_names = ["Minji Kim"]
    researcher.save()
    make_paper(authors=["Minji Kim", "Hana Lee"], day=datetime.now(UTC).date() - timedelta(days=5 * 365))

    assert not affinity([draft], [vision]).coauthored.any()


def test_bids_move_affinity(draft, vision, speech):
    for person in (vision, speech):
        person.research_interests = GRAPH
        person.save()
    Bid.objects.create(draft=draft, person=vision, level=Bid.Level.EAGER)
    Bid.objects.create(draft=draft, person=speech, level=Bid.Level.NOT_WILLING)

    scores = affinity([draft], [vision, speech])

    assert scores.value(draft.pk, vision.pk) > scores.value(draft.pk, speech.pk) + 0.5


def test_declare_conflict_is_a_post_by_a_person_who_can_see_the_draft(
    login, draft, reviewer, other_researcher, researcher
):
    url = reverse("reviews:declare-conflict", args=[draft.pk])
    assert login(other_researcher).get(url).status_code == 404  # cannot see it: not revealed
    client = login(researcher)
    assert client.post(url, {"reason": "mine"}).status_code == 403  # authors have nothing to declare
    draft.assignments.create(reviewer=reviewer, due=draft.review_by)
    client = login(reviewer)
    assert client.post(url, {"reason": ""}).status_code == 400

    response = client.post(url, {"reason": "Co-founded a company with the first author"})

    assert response.status_code == 302
    conflict = Conflict.objects.get(draft=draft, person=reviewer)
    assert conflict.declared_by == reviewer
    assert "company" in conflict.reason
