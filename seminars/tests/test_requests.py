"""Researchers ask for a seminar slot or propose a paper; leads schedule or decline."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from papers.tests.factories import make_paper
from seminars.models import Talk, TalkRequest
from seminars.tests.factories import make_room, make_talk, talk_form

pytestmark = pytest.mark.django_db


def make_request(requester, **fields) -> TalkRequest:
    fields.setdefault("title", "First results on video diffusion")
    return TalkRequest.objects.create(requester=requester, **fields)


def test_propose_own_work_reaches_the_leads(login, researcher, lead):
    response = login(researcher).post(
        reverse("seminars:propose"),
        {"kind": "own_work", "paper_id": "", "title": "Sparse attention, first results", "notes": "$O(n)$",
         "preferred_after": "2026-07-01"},
        follow=True,
    )  # fmt: skip

    request = TalkRequest.objects.get()
    assert (request.requester, request.kind, request.status) == (researcher, "own_work", "pending")
    assert request.preferred_after.isoformat() == "2026-07-01"
    assert "Your request is with the leads" in response.content.decode()
    assert "Sparse attention, first results" in login(lead).get(reverse("seminars:requests")).content.decode()


def test_propose_link_from_a_paper_fills_in_the_paper(login, researcher):
    paper = make_paper(title="Scaling laws for cats")

    page = login(researcher).get(reverse("seminars:propose"), {"paper": paper.arxiv_id}).content.decode()

    assert "Proposing:" in page and "Scaling laws for cats" in page
    assert f'value="{paper.arxiv_id}"' in page
    assert '<option value="paper" selected>' in page


def test_propose_with_an_unknown_or_garbled_paper_is_a_plain_form(login, researcher):
    client = login(researcher)

    unknown = client.get(reverse("seminars:propose"), {"paper": "2401.99999"})
    garbled = client.get(reverse("seminars:propose"), {"paper": "<script>"})

    assert unknown.status_code == garbled.status_code == 200
    assert "Proposing:" not in unknown.content.decode() + garbled.content.decode()


def test_propose_a_paper_takes_its_title_when_none_is_given(login, researcher):
    paper = make_paper(title="Scaling laws for cats")

    login(researcher).post(
        reverse("seminars:propose"),
        {"kind": "paper", "paper_id": f"https://arxiv.org/abs/{paper.arxiv_id}v2", "title": "", "notes": ""},
    )

    request = TalkRequest.objects.get()
    assert (request.kind, request.paper, request.title) == ("paper", paper, "Scaling laws for cats")


def test_propose_a_paper_without_naming_it_is_refused(login, researcher):
    response = login(researcher).post(
        reverse("seminars:propose"), {"kind": "paper", "paper_id": "", "title": "x"}
    )

    assert "Name the paper to discuss." in response.content.decode()
    assert not TalkRequest.objects.exists()


def test_propose_own_work_needs_a_title(login, researcher):
    response = login(researcher).post(reverse("seminars:propose"), {"kind": "own_work", "title": ""})

    assert "Give your seminar a working title." in response.content.decode()
    assert not TalkRequest.objects.exists()


def test_requests_page_shows_a_researcher_only_their_own(login, researcher, other_researcher):
    make_request(researcher, title="Mine to present")
    make_request(other_researcher, title="Someone else's idea")

    page = login(researcher).get(reverse("seminars:requests")).content.decode()

    assert "Mine to present" in page
    assert "Someone else" not in page
    assert "Schedule it" not in page


def test_requests_page_shows_a_lead_everything_with_the_decisions(login, researcher, other_researcher, lead):
    make_request(researcher, title="Mine to present")
    make_request(other_researcher, title="Another idea")

    page = login(lead).get(reverse("seminars:requests")).content.decode()

    assert "Mine to present" in page and "Another idea" in page
    assert page.count("Schedule it") == 2


def test_accept_form_is_filled_from_the_request(login, researcher, lead):
    paper = make_paper()
    request = make_request(researcher, title="Our NeurIPS draft", notes="Notes here", paper=paper)

    page = login(lead).get(reverse("seminars:accept-request", args=[request.pk])).content.decode()

    assert 'value="Our NeurIPS draft"' in page
    assert "Notes here" in page
    assert f'value="{paper.arxiv_id}"' in page
    assert f'<option value="{researcher.pk}" selected>' in page  # the speaker


def test_accept_own_work_schedules_the_requester_as_speaker(login, researcher, lead):
    request = make_request(researcher)

    response = login(lead).post(
        reverse("seminars:accept-request", args=[request.pk]),
        talk_form(title=request.title, speaker_name="", speaker_user=researcher.pk, host=lead.pk),
    )

    talk = Talk.objects.get()
    request.refresh_from_db()
    assert response["Location"] == talk.get_absolute_url()
    assert (request.status, request.talk, request.decided_by) == ("accepted", talk, lead)
    assert request.decided_at is not None
    assert talk.speaker_user == researcher and talk.speaker == researcher.name
    assert talk.starts_at == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_accept_a_paper_proposal_links_the_paper(login, researcher, lead):
    paper = make_paper()
    request = make_request(researcher, kind="paper", paper=paper)

    login(lead).post(reverse("seminars:accept-request", args=[request.pk]), talk_form(papers=paper.arxiv_id))

    assert list(Talk.objects.get().related_papers.all()) == [paper]


def test_accept_into_a_booked_room_keeps_the_request_pending(login, researcher, lead):
    room = make_room(name="Hall A")
    make_talk(room=room, title="Reading group", starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC))
    request = make_request(researcher)

    response = login(lead).post(
        reverse("seminars:accept-request", args=[request.pk]), talk_form(room=room.pk)
    )

    request.refresh_from_db()
    assert "booked at that time for “Reading group”" in response.content.decode()
    assert request.status == "pending" and request.talk is None
    assert Talk.objects.count() == 1


def test_accept_a_decided_request_changes_nothing(login, researcher, lead):
    request = make_request(researcher, status=TalkRequest.Status.DECLINED)

    response = login(lead).post(
        reverse("seminars:accept-request", args=[request.pk]), talk_form(), follow=True
    )

    request.refresh_from_db()
    assert "already decided" in response.content.decode()
    assert request.status == "declined" and not Talk.objects.exists()


def test_decline_with_a_note_the_requester_then_reads(login, researcher, lead):
    request = make_request(researcher, title="Too early")

    login(lead).post(
        reverse("seminars:decline-request", args=[request.pk]), {"note": "Let's wait for the ablations."}
    )

    request.refresh_from_db()
    page = login(researcher).get(reverse("seminars:requests")).content.decode()
    assert (request.status, request.decided_by) == ("declined", lead)
    assert "Declined" in page and "Let&#x27;s wait for the ablations." in page


def test_decline_twice_declines_once(login, researcher, lead):
    request = make_request(researcher)
    client = login(lead)
    client.post(reverse("seminars:decline-request", args=[request.pk]), {"note": "first"})

    response = client.post(
        reverse("seminars:decline-request", args=[request.pk]), {"note": "second"}, follow=True
    )

    request.refresh_from_db()
    assert request.decision_note == "first"
    assert "already decided" in response.content.decode()
