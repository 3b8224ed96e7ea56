"""Who may see and change the schedule: every view, every persona."""

import pytest
from django.test import Client
from django.urls import reverse

from seminars.models import Talk, TalkRequest
from seminars.tests.factories import make_series, make_talk

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(researcher, other_researcher):
    return {
        "talk": make_talk(host=researcher),
        "others_talk": make_talk(host=other_researcher),
        "series": make_series(),
        "request": TalkRequest.objects.create(requester=other_researcher, title="An idea"),
    }


def urls(objects) -> dict[str, str]:
    talk, series, request = objects["talk"], objects["series"], objects["request"]
    return {
        "index": reverse("seminars:index"),
        "week": reverse("seminars:week"),
        "week-of": reverse("seminars:week-of", args=[2026, 7, 1]),
        "month": reverse("seminars:month"),
        "month-of": reverse("seminars:month-of", args=[2026, 7]),
        "talk": reverse("seminars:talk", args=[talk.pk]),
        "new-talk": reverse("seminars:new-talk"),
        "edit-talk": reverse("seminars:edit-talk", args=[talk.pk]),
        "cancel-talk": reverse("seminars:cancel-talk", args=[talk.pk]),
        "series-list": reverse("seminars:series-list"),
        "new-series": reverse("seminars:new-series"),
        "series": reverse("seminars:series", args=[series.slug]),
        "generate-series": reverse("seminars:generate-series", args=[series.slug]),
        "rooms": reverse("seminars:rooms"),
        "propose": reverse("seminars:propose"),
        "requests": reverse("seminars:requests"),
        "accept-request": reverse("seminars:accept-request", args=[request.pk]),
        "decline-request": reverse("seminars:decline-request", args=[request.pk]),
    }


EVERYONE = [
    *["index", "week", "week-of", "month", "month-of", "talk"],
    *["series-list", "series", "rooms", "propose", "requests"],
]
LEADS_ONLY_GET = ["new-talk", "new-series", "accept-request"]
LEADS_ONLY_POST = ["generate-series", "decline-request"]
POST_ONLY = ["generate-series", "decline-request"]


def test_every_schedule_view_sends_anonymous_visitors_to_log_in(client, objects):
    for name, url in urls(objects).items():
        for method in (client.get, client.post):
            response = method(url)

            assert response.status_code == 302, name
            assert response["Location"].startswith(reverse("login")), name
    assert Talk.objects.filter(status="cancelled").count() == 0
    assert TalkRequest.objects.get().status == "pending"


def test_every_researcher_sees_the_schedule_pages(login, other_researcher, objects):
    client = login(other_researcher)

    for name in EVERYONE:
        assert client.get(urls(objects)[name]).status_code == 200, name


@pytest.mark.parametrize("name", LEADS_ONLY_GET)
def test_lead_pages_are_forbidden_to_researchers(login, researcher, objects, name):
    client = login(researcher)

    assert client.get(urls(objects)[name]).status_code == 403
    assert client.post(urls(objects)[name], {"title": "x"}).status_code == 403
    assert Talk.objects.count() == 2 and TalkRequest.objects.get().status == "pending"


@pytest.mark.parametrize("name", LEADS_ONLY_POST)
def test_lead_actions_are_forbidden_to_researchers(login, researcher, objects, name):
    response = login(researcher).post(urls(objects)[name], {"until": "2026-12-31", "note": "no"})

    assert response.status_code == 403
    assert not objects["series"].talks.exists()
    assert TalkRequest.objects.get().status == "pending"


@pytest.mark.parametrize("name", POST_ONLY)
def test_lead_actions_answer_only_post(login, lead, objects, name):
    assert login(lead).get(urls(objects)[name]).status_code == 405


def test_lead_sees_every_page_of_the_schedule(login, lead, objects):
    client = login(lead)

    for name in EVERYONE + LEADS_ONLY_GET + ["edit-talk", "cancel-talk"]:
        assert client.get(urls(objects)[name]).status_code == 200, name


def test_host_may_edit_and_cancel_their_own_talk_only(login, researcher, objects):
    client = login(researcher)
    others = objects["others_talk"]

    assert client.get(reverse("seminars:edit-talk", args=[objects["talk"].pk])).status_code == 200
    assert client.get(reverse("seminars:cancel-talk", args=[objects["talk"].pk])).status_code == 200
    assert client.get(reverse("seminars:edit-talk", args=[others.pk])).status_code == 403
    assert client.post(reverse("seminars:cancel-talk", args=[others.pk])).status_code == 403
    others.refresh_from_db()
    assert others.status == "scheduled"


def test_talk_page_offers_edit_links_only_to_those_who_may_edit(login, researcher, other_researcher, objects):
    talk = objects["talk"]

    as_host = login(researcher).get(talk.get_absolute_url()).content.decode()
    as_other = login(other_researcher).get(talk.get_absolute_url()).content.decode()

    assert reverse("seminars:edit-talk", args=[talk.pk]) in as_host
    assert reverse("seminars:edit-talk", args=[talk.pk]) not in as_other


def test_changes_need_the_csrf_token(lead, objects):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)

    response = client.post(reverse("seminars:cancel-talk", args=[objects["talk"].pk]))

    assert response.status_code == 403
    objects["talk"].refresh_from_db()
    assert objects["talk"].status == "scheduled"


def test_missing_objects_are_404_for_everyone(login, lead):
    client = login(lead)

    assert client.get(reverse("seminars:edit-talk", args=[999])).status_code == 404
    assert client.get(reverse("seminars:series", args=["nope"])).status_code == 404
    assert client.get(reverse("seminars:accept-request", args=[999])).status_code == 404
