"""Who is in which team and who leads it are set by admins, and a team's powers follow those
records: nobody joins a team, or takes over its channels, from their own profile."""

import pytest

from lab_portal.models import Channel, Delivery, Team, User
from lab_portal.tests import migrating

pytestmark = pytest.mark.django_db


@pytest.fixture
def speech(db) -> Team:
    return Team.objects.create(name="Speech", slug="speech")


@pytest.fixture
def speech_chat(speech) -> Channel:
    return Channel.objects.create(team=speech, kind=Channel.Kind.TELEGRAM, target="-100555")


def profile_form(person: User, **fields) -> dict:
    return {
        "display_name": person.display_name,
        "email": person.email,
        "timezone": person.timezone,
        "language": person.language,
        "arxiv_names": "",
        "research_interests": "",
        **fields,
    }


@pytest.mark.parametrize("who", ["researcher", "lead"])
def test_profile_cannot_change_the_team(login, request, speech, speech_chat, team, who):
    person = request.getfixturevalue(who)
    client = login(person)

    response = client.post("/me/", profile_form(person, team=speech.pk), follow=True)
    channels = client.get("/me/channels/")

    person.refresh_from_db()
    assert "Your profile is saved." in response.text
    assert person.team == team
    assert 'name="team"' not in response.text and "Vision" in response.text
    assert "-100555" not in channels.text
    assert client.post(f"/me/channels/{speech_chat.pk}/toggle").status_code == 404
    speech_chat.refresh_from_db()
    assert speech_chat.enabled is True


def test_a_lead_moved_out_of_leading_a_team_loses_its_powers(login, lead, team, telegram, slack):
    chat = Channel.objects.create(team=team, kind=Channel.Kind.TELEGRAM, target="-100123")
    team.leads.remove(lead)  # the admin's change; the lead stays a member
    client = login(lead)

    page = client.get("/me/channels/")
    actions = {
        action: client.post(f"/me/channels/{chat.pk}/{action}").status_code for action in ("toggle", "test")
    }
    added = client.post("/me/channels/", {"kind": "slack", "target": slack.url, "owner": team.pk})

    assert "-100123" not in page.text and "Channels of Vision" not in page.text
    assert actions == {"toggle": 404, "test": 404}
    assert Channel.objects.get(target=slack.url).person == lead  # not the team's: no such choice
    chat.refresh_from_db()
    assert chat.enabled is True and chat.last_test is None
    assert added.status_code == 302


def test_a_lead_of_a_team_they_are_not_in_has_its_powers(
    login, make_person, speech, speech_chat, team, telegram, slack
):
    lead = make_person("sora", role=User.Role.LEAD, team=team)
    speech.leads.add(lead)
    client = login(lead)

    page = client.get("/me/channels/")
    toggled = client.post(f"/me/channels/{speech_chat.pk}/toggle")
    client.post("/me/channels/", {"kind": "slack", "target": slack.url, "owner": speech.pk}, follow=True)

    assert "Channels of Speech" in page.text and "-100555" in page.text
    assert "Channels of Vision" not in page.text
    assert toggled.status_code == 302
    speech_chat.refresh_from_db()
    assert speech_chat.enabled is False
    assert Channel.objects.get(target=slack.url).team == speech


def test_a_lead_of_two_teams_chooses_which_one_a_channel_is_for(login, lead, speech, team):
    speech.leads.add(lead)

    page = login(lead).get("/me/channels/")

    options = page.context["form"].fields["owner"].choices
    assert options == [("person", "Me"), (str(speech.pk), "Speech"), (str(team.pk), "Vision")]


def test_a_team_lead_without_a_lead_role_has_no_team_powers(login, make_person, speech, speech_chat):
    # An admin changed the role back to researcher but left the team's record as it was.
    former = make_person("yuna", role=User.Role.LEAD)
    speech.leads.add(former)
    former.role = User.Role.RESEARCHER
    former.save()

    response = login(former).post(f"/me/channels/{speech_chat.pk}/toggle")

    assert response.status_code == 404


def test_an_admin_sets_a_team_leads_and_a_person_team(login, portal_admin, lead, make_person, speech):
    member = make_person("dami")
    client = login(portal_admin)

    form = client.get(f"/admin/lab_portal/team/{speech.pk}/change/")
    saved = client.post(
        f"/admin/lab_portal/team/{speech.pk}/change/",
        {"name": "Speech", "slug": "speech", "description": "", "leads": [lead.pk]},
    )
    moved = client.post(
        f"/admin/lab_portal/user/{member.pk}/change/",
        {
            "username": "dami",
            "email": member.email,
            "display_name": "Dami",
            "team": speech.pk,
            "role": "researcher",
            "timezone": "Asia/Seoul",
            "language": "en",
            "arxiv_names": "[]",
            "is_active": "on",
            "date_joined_0": "2026-11-01",
            "date_joined_1": "09:00:00",
            # The inline of single sign-on identities, empty.
            "sso_identities-TOTAL_FORMS": "0",
            "sso_identities-INITIAL_FORMS": "0",
        },
    )

    # Only people with a lead's role are offered as leads.
    assert f'value="{lead.pk}"' in form.text and f'value="{member.pk}"' not in form.text
    assert (saved.status_code, moved.status_code) == (302, 302), moved.text[:3000]
    assert list(speech.leads.all()) == [lead]
    member.refresh_from_db()
    assert member.team == speech
    assert speech.pk in User.objects.get(pk=lead.pk).led_team_ids


@pytest.mark.parametrize("who", ["researcher", "lead"])
def test_only_admins_reach_the_team_and_membership_pages(login, request, speech, who):
    person = request.getfixturevalue(who)
    client = login(person)

    pages = [
        client.get(f"/admin/lab_portal/team/{speech.pk}/change/"),
        client.post(f"/admin/lab_portal/team/{speech.pk}/change/", {"name": "Speech", "leads": [person.pk]}),
        client.post(
            f"/admin/lab_portal/user/{person.pk}/change/", {"username": person.username, "team": speech.pk}
        ),
        client.post("/admin/lab_portal/team/add/", {"name": "Mine", "slug": "mine", "leads": [person.pk]}),
    ]

    assert all(page.status_code == 302 and "/admin/login/" in page["Location"] for page in pages)
    person.refresh_from_db()
    assert person.team != speech
    assert list(speech.leads.all()) == []
    assert not Team.objects.filter(slug="mine").exists()


@pytest.mark.parametrize("field", ["team", "led_teams", "role", "is_staff"])
def test_the_profile_ignores_fields_only_admins_set(login, lead, speech, team, field):
    value = {"team": speech.pk, "led_teams": speech.pk, "role": "admin", "is_staff": "on"}[field]

    login(lead).post("/me/", profile_form(lead, **{field: value}))

    lead.refresh_from_db()
    assert (lead.team, lead.role, lead.is_staff) == (team, User.Role.LEAD, False)
    assert list(speech.leads.all()) == []


def test_team_page_names_its_leads(login, researcher, lead, make_person, speech):
    outside = make_person("sora", role=User.Role.LEAD)
    speech.leads.add(outside)

    response = login(researcher).get("/teams/speech/")

    assert "Led by" in response.text and "Sora" in response.text
    assert "Nobody in this team yet." in response.text  # a lead need not be a member


def test_migration_makes_every_lead_the_lead_of_their_team(make_person, team, speech):
    from django.apps import apps

    lead = make_person("jiwoo", role=User.Role.LEAD, team=team)
    admin = make_person("root", role=User.Role.ADMIN, team=speech)
    make_person("minji", team=team)
    make_person("nobody", role=User.Role.LEAD)
    migration = migrating.module("team_leads_set_by_admins")

    migration.leads_lead_their_team(apps, None)
    migration.leads_lead_their_team(apps, None)  # and once more: nothing changes

    assert {(t.slug, p.username) for t in Team.objects.all() for p in t.leads.all()} == {
        ("vision", lead.username),
        ("speech", admin.username),
    }


def test_a_team_request_tells_the_admins_and_the_teams_leads_once(
    login, lead, portal_admin, researcher, make_person, speech
):
    newcomer = make_person("sora", display_name="Sora Han", needs_welcome=True)
    speech_lead = make_person("hyun", role=User.Role.LEAD)
    speech.leads.add(speech_lead)
    answers = {"display_name": "Sora Han", "timezone": "Asia/Seoul", "language": "en", "arxiv_names": ""}
    client = login(newcomer)

    first = client.post("/welcome/", {**answers, "requested_team": speech.pk})
    again = client.post("/welcome/", {**answers, "requested_team": speech.pk})

    told = Delivery.objects.filter(dedupe_key=f"team-request:{newcomer.pk}:{speech.pk}")
    assert (first.status_code, again.status_code) == (302, 302)
    assert sorted(told.values_list("channel__person__username", flat=True)) == ["hyun", "root"]
    # Vision's lead and the other researchers hear nothing of a request to join Speech.
    assert not Delivery.objects.filter(channel__person__in=[lead, researcher, newcomer]).exists()
    assert "Sora Han (sora@lab.example.org) asked to join Speech" in told.first().payload["text"]


def test_without_a_team_request_nobody_is_told(login, portal_admin, make_person):
    newcomer = make_person("sora", needs_welcome=True)
    answers = {"display_name": "Sora", "timezone": "Asia/Seoul", "language": "en", "arxiv_names": ""}

    login(newcomer).post("/welcome/", {**answers, "requested_team": ""})

    assert not Delivery.objects.filter(dedupe_key__startswith="team-request:").exists()


def test_an_admin_puts_people_in_the_team_they_asked_for_and_each_is_told(
    login, portal_admin, make_person, researcher, speech, team
):
    asking = make_person("sora", requested_team=speech, language="ko")
    staying = make_person("dami")

    response = login(portal_admin).post(
        "/admin/lab_portal/user/",
        {"action": "put_in_requested_team", "_selected_action": [asking.pk, staying.pk, researcher.pk]},
    )

    asking.refresh_from_db()
    staying.refresh_from_db()
    researcher.refresh_from_db()
    assert response.status_code == 302
    assert (asking.team, asking.requested_team, staying.team, researcher.team) == (speech, None, None, team)
    told = Delivery.objects.get(channel__person=asking, dedupe_key=f"team-joined:{asking.pk}:{speech.pk}")
    assert told.payload["subject"] == "Speech 팀에 들어갔습니다"
    assert not Delivery.objects.filter(channel__person__in=[staying, researcher]).exists()
