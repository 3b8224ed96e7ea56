"""The watch-rule pages: who may see and change which rule, and the live preview."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from papers import watch
from papers.models import WatchRule
from papers.tests.factories import make_paper

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def own_rule(researcher):
    return WatchRule.objects.create(person=researcher, name="Mine", query="diffusion")


@pytest.fixture
def team_rule(team, lead):
    return WatchRule.objects.create(team=team, name="Team watch", query="robot", created_by=lead)


@pytest.fixture
def recent_papers():
    day = timezone.localdate() - timedelta(days=2)
    old = timezone.localdate() - timedelta(days=45)
    return [
        make_paper(title="Video diffusion models", authors=["Jung-Woo Ha"], categories=["cs.CV"], day=day),
        make_paper(title="Audio diffusion", authors=["Ada Lovelace"], categories=["cs.SD"], day=day),
        make_paper(title="Robot learning", authors=["J.-W. Ha"], categories=["cs.RO"], day=day),
        make_paper(title="Diffusion long ago", authors=["Ada Lovelace"], categories=["cs.CV"], day=old),
    ]


def form_data(**fields) -> dict:
    data = {
        "name": "Diffusion",
        "query": "diffusion",
        "authors": "",
        "categories": "",
        "in_digest": "on",
        "in_chat": "on",
    }
    data.update(fields)
    return data


def test_watch_rules_lists_own_and_team_rules_only(login, researcher, own_rule, team_rule, other_researcher):
    WatchRule.objects.create(person=other_researcher, name="Someone else's", query="graphs")

    response = login(researcher).get("/papers/watch/")

    assert response.status_code == 200
    assert [rule.name for rule in response.context["rules"]] == ["Mine", "Team watch"]
    assert [rule.can_edit for rule in response.context["rules"]] == [True, False]
    assert "Someone else&#x27;s" not in response.text


def test_watch_rules_anonymous_goes_to_login(client):
    response = client.get("/papers/watch/")

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_new_rule_post_saves_it_for_the_person(login, researcher):
    response = login(researcher).post(
        "/papers/watch/new/",
        form_data(
            query='"video diffusion" OR audio', authors="Jung-Woo Ha\n\nHa, J.-W.", categories="cs.CV, cs"
        ),
    )

    assert response.status_code == 302
    rule = WatchRule.objects.get()
    assert (rule.person, rule.team, rule.created_by) == (researcher, None, researcher)
    assert rule.authors == ["Jung-Woo Ha", "Ha, J.-W."]
    assert rule.categories == ["cs.CV", "cs"]
    assert (rule.in_digest, rule.in_chat, rule.urgent, rule.include_updates) == (True, True, False, False)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"query": "(diffusion"}, "A parenthesis is not closed."),
        ({"query": ""}, "Give keywords, authors, categories or a library score to watch for."),
        ({"categories": "not a category!"}, "is not an arXiv category."),
        ({"min_recommendation": "1.5"}, "Give a number from 0 to 1."),
    ],
)
def test_new_rule_invalid_shows_why_and_saves_nothing(login, researcher, fields, error):
    response = login(researcher).post("/papers/watch/new/", form_data(**fields))

    assert response.status_code == 200
    assert error in response.text.replace("&quot;", '"').replace("&#x27;", "'")
    assert not WatchRule.objects.exists()


def test_new_team_rule_only_for_a_lead_of_the_team(login, researcher, lead, team):
    refused = login(researcher).post("/papers/watch/new/", form_data(owner=team.pk))
    accepted = login(lead).post("/papers/watch/new/", form_data(owner=team.pk, name="Team diffusion"))

    assert refused.status_code == 200
    assert "Select a valid choice" in refused.text
    assert accepted.status_code == 302
    rule = WatchRule.objects.get()
    assert (rule.name, rule.person, rule.team) == ("Team diffusion", None, team)


def test_edit_rule_owner_changes_it(login, researcher, own_rule):
    client = login(researcher)

    page = client.get(f"/papers/watch/{own_rule.pk}/")
    response = client.post(
        f"/papers/watch/{own_rule.pk}/", form_data(name="Renamed", query="diffusion NOT audio")
    )

    assert page.status_code == 200
    assert response.status_code == 302
    own_rule.refresh_from_db()
    assert (own_rule.name, own_rule.query, own_rule.person) == ("Renamed", "diffusion NOT audio", researcher)


def test_edit_rule_of_someone_else_is_404(login, other_researcher, own_rule):
    client = login(other_researcher)

    assert client.get(f"/papers/watch/{own_rule.pk}/").status_code == 404
    assert client.post(f"/papers/watch/{own_rule.pk}/", form_data(name="Taken")).status_code == 404
    assert client.post(f"/papers/watch/{own_rule.pk}/delete/").status_code == 404
    own_rule.refresh_from_db()
    assert own_rule.name == "Mine"


def test_team_rule_member_sees_it_but_only_a_lead_edits(login, researcher, lead, team_rule, other_researcher):
    assert login(researcher).get(f"/papers/watch/{team_rule.pk}/").status_code == 403
    assert login(researcher).post(f"/papers/watch/{team_rule.pk}/delete/").status_code == 403
    assert login(other_researcher).get(f"/papers/watch/{team_rule.pk}/").status_code == 404

    response = login(lead).post(f"/papers/watch/{team_rule.pk}/", form_data(name="Robots", query="robot"))

    assert response.status_code == 302
    team_rule.refresh_from_db()
    assert (team_rule.name, team_rule.team_id, team_rule.person) == ("Robots", lead.team_id, None)


def test_delete_rule_needs_post_and_removes_it(login, researcher, own_rule):
    client = login(researcher)

    assert client.get(f"/papers/watch/{own_rule.pk}/delete/").status_code == 405
    response = client.post(f"/papers/watch/{own_rule.pk}/delete/")

    assert response.status_code == 302
    assert not WatchRule.objects.exists()


def test_rule_changes_need_csrf(researcher, own_rule):
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)

    created = client.post("/papers/watch/new/", form_data())
    deleted = client.post(f"/papers/watch/{own_rule.pk}/delete/")

    assert (created.status_code, deleted.status_code) == (403, 403)
    assert list(WatchRule.objects.all()) == [own_rule]


def test_preview_htmx_returns_only_the_partial_with_the_last_30_days(login, researcher, recent_papers):
    response = login(researcher).get(
        "/papers/watch/preview/", {"name": "x", "query": "diffusion", "categories": ""}, headers=HTMX
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="rule-preview"')
    assert "<html" not in response.text
    assert response.context["preview"].count == 2
    assert "2 matches in the last 30 days" in " ".join(response.text.split())
    assert "counts the newest days only" not in response.text
    # Newest first: on one day, the higher arXiv number first.
    assert [paper.title for paper, _reason in response.context["preview"].matches] == [
        "Audio diffusion",
        "Video diffusion models",
    ]
    assert "Diffusion long ago" not in response.text
    assert "keywords: diffusion" in response.text
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    ("days_ago", "count", "days"),
    [([1, 1, 2, 2, 3], 2, 1), ([1, 1, 1, 1, 2], 4, 1), ([0, 2, 2, 3, 3], 3, 2)],
    ids=["whole-days-only", "one-day-read-whole", "a-day-without-papers"],
)
def test_preview_of_a_broad_rule_counts_over_its_newest_whole_days(
    login, researcher, monkeypatch, days_ago, count, days
):
    monkeypatch.setattr(watch, "PREVIEW_READ", 3)
    today = timezone.localdate()
    for n, ago in enumerate(days_ago):
        make_paper(title=f"Diffusion {n}", day=today - timedelta(days=ago))

    rule = {"name": "x", "query": "diffusion"}
    response = login(researcher).get("/papers/watch/preview/", rule, headers=HTMX)

    since = date_format(today - timedelta(days=days), "SHORT_DATE_FORMAT")
    assert (response.context["preview"].count, response.context["preview"].days) == (count, days)
    assert f"{count} matches since {since}" in " ".join(response.text.split())
    assert "counts the newest days only" in response.text


def test_preview_author_variants_and_categories(login, researcher, recent_papers):
    response = login(researcher).get(
        "/papers/watch/preview/", {"name": "x", "authors": "Ha, Jungwoo", "categories": "cs.RO"}, headers=HTMX
    )

    assert [paper.title for paper, _reason in response.context["preview"].matches] == ["Robot learning"]
    assert "author: J.-W. Ha; category: cs.RO" in response.text


def test_preview_unreadable_rule_says_so(login, researcher, recent_papers):
    response = login(researcher).get(
        "/papers/watch/preview/", {"name": "x", "query": "(diffusion"}, headers=HTMX
    )

    assert response.context["preview"] is None
    assert "The preview appears once the rule can be read." in response.text


def test_preview_without_htmx_renders_the_whole_form_page(login, researcher, recent_papers):
    response = login(researcher).get("/papers/watch/preview/", {"name": "x", "query": "robot"})

    assert "<html" in response.text
    assert 'id="rule-preview"' in response.text
    assert response.context["preview"].count == 1


def test_preview_requires_login(client, recent_papers):
    response = client.get("/papers/watch/preview/", {"name": "x", "query": "diffusion"}, headers=HTMX)

    assert response.status_code == 302
    assert "login" in response["Location"]
    assert "rule-preview" not in response.text


def test_preview_of_someone_elses_rule_is_404(login, other_researcher, own_rule):
    response = login(other_researcher).get(
        "/papers/watch/preview/", {"rule": own_rule.pk, "name": "x", "query": "diffusion"}, headers=HTMX
    )

    assert response.status_code == 404


def test_subnav_links_to_watch_rules(login, researcher):
    response = login(researcher).get("/papers/library/")

    assert 'href="/papers/watch/"' in response.text


def test_watch_rules_query_count_does_not_grow_with_rules(
    login, researcher, team, django_assert_max_num_queries
):
    client = login(researcher)
    WatchRule.objects.create(person=researcher, name="One", query="a")
    client.get("/papers/watch/")  # the session and the person are loaded once, as on every page
    with django_assert_max_num_queries(100) as one:
        client.get("/papers/watch/")
    for number in range(15):
        WatchRule.objects.create(person=researcher, name=f"Mine {number}", query="a")
        WatchRule.objects.create(team=team, name=f"Team {number}", query="b")

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get("/papers/watch/")

    assert len(response.context["rules"]) == 31


def test_preview_with_a_rule_id_that_is_not_a_number_is_a_plain_preview(login, researcher):
    response = login(researcher).get("/papers/watch/preview/", {"rule": "²", "query": "diffusion"})

    assert response.status_code == 200


# Team rules follow the records admins keep: membership (User.team) and leads (Team.leads).


def test_a_lead_no_longer_leading_the_team_only_sees_its_rules(login, lead, team, team_rule):
    team.leads.remove(lead)  # the admin's change; still a member
    client = login(lead)

    listing = client.get("/papers/watch/")
    edit = client.post(f"/papers/watch/{team_rule.pk}/", form_data(name="Taken", query="robot"))
    delete = client.post(f"/papers/watch/{team_rule.pk}/delete/")
    new = client.post("/papers/watch/new/", form_data(owner=team.pk, name="Team again"))

    assert [rule.can_edit for rule in listing.context["rules"]] == [False]
    assert (edit.status_code, delete.status_code) == (403, 403)
    assert "Select a valid choice" in new.text
    team_rule.refresh_from_db()
    assert team_rule.name == "Team watch"
    assert not WatchRule.objects.filter(name="Team again").exists()


def test_a_lead_of_a_team_they_are_not_in_edits_its_rules(login, make_person, team, team_rule):
    from lab_portal.models import User

    outside = make_person("sora", role=User.Role.LEAD)
    team.leads.add(outside)
    client = login(outside)

    listing = client.get("/papers/watch/")
    edited = client.post(f"/papers/watch/{team_rule.pk}/", form_data(name="Robots", query="robot"))
    created = client.post("/papers/watch/new/", form_data(owner=team.pk, name="Team new"))

    assert [(rule.name, rule.can_edit) for rule in listing.context["rules"]] == [("Team watch", True)]
    assert (edited.status_code, created.status_code) == (302, 302)
    team_rule.refresh_from_db()
    assert team_rule.name == "Robots"
    assert WatchRule.objects.get(name="Team new").team == team


def test_a_researcher_cannot_join_a_team_to_read_its_rules(login, other_researcher, team, team_rule):
    client = login(other_researcher)
    profile = {"display_name": "Taeho", "email": other_researcher.email, "timezone": "Asia/Seoul"}

    client.post("/me/", {**profile, "language": "en", "team": team.pk})

    assert client.get("/papers/watch/").context["rules"] == []
    assert client.get(f"/papers/watch/{team_rule.pk}/").status_code == 404
