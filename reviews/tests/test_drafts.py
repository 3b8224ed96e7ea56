"""Venues, deadlines and drafts through their pages; a seminar talk presenting a draft."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar

from reviews.models import ANYWHERE_ON_EARTH, Deadline, Draft, DraftAuthor
from reviews.tests.factories import make_deadline, make_draft, make_venue, pdf_bytes, pdf_upload
from seminars.forms import TalkForm
from seminars.tests.factories import make_talk, talk_form

pytestmark = pytest.mark.django_db

# 23:59 Anywhere on Earth on 15 May 2027 is 11:59 UTC on 16 May, 20:59 on 16 May in Seoul.
MAY_15_AOE = datetime(2027, 5, 16, 11, 59, tzinfo=UTC)


def test_anywhere_on_earth_is_twelve_hours_behind_utc():
    deadline = Deadline(paper_deadline=MAY_15_AOE, timezone=ANYWHERE_ON_EARTH)

    local = deadline.local_paper_deadline

    assert (local.date(), local.hour, local.minute) == (date(2027, 5, 15), 23, 59)
    assert local.utcoffset().total_seconds() == -12 * 3600


def test_review_by_defaults_to_days_before_the_deadline_on_the_venues_calendar(login, researcher, settings):
    settings.REVIEW_DAYS_BEFORE_DEADLINE = 10
    deadline = make_deadline(paper_deadline=MAY_15_AOE, year=2027)
    data = {"title": "A draft", "abstract": "Text.", "deadline": deadline.pk, "pdf": pdf_upload(), "note": ""}

    login(researcher).post(reverse("reviews:new-draft"), data)

    # Counted from 15 May (AoE), not from 16 May (the date in UTC and in the lab's Seoul).
    assert Draft.objects.get().review_by == date(2027, 5, 5)


def test_a_chosen_review_by_date_is_kept(login, researcher):
    deadline = make_deadline(paper_deadline=MAY_15_AOE, year=2027)
    data = {"title": "A draft", "abstract": "Text.", "deadline": deadline.pk, "review_by": "2027-05-01"}

    login(researcher).post(reverse("reviews:new-draft"), {**data, "pdf": pdf_upload(), "note": ""})

    assert Draft.objects.get().review_by == date(2027, 5, 1)


def test_new_draft_records_lab_and_outside_authors_listed_by_name(login, researcher, make_person):
    coauthor = make_person("yuna", display_name="Yuna Choi")
    deadline = make_deadline()
    data = {
        "title": "Sparse attention at scale",
        "abstract": "We make attention sparse.",
        "deadline": deadline.pk,
        "coauthors": [coauthor.pk],
        "outside_authors": "Grace Hopper <grace@navy.example>\nAlan Turing",
        "anonymous": "on",
        "pdf": pdf_upload(),
        "note": "",
    }

    response = login(researcher).post(reverse("reviews:new-draft"), data)

    draft = Draft.objects.get()
    authors = [(a.person, a.name, a.email) for a in DraftAuthor.objects.filter(draft=draft)]
    assert response.url == draft.get_absolute_url()
    # Not the order they were given in: the form cannot say the paper's order, so none is implied.
    assert authors == [
        (None, "Alan Turing", ""),
        (None, "Grace Hopper", "grace@navy.example"),
        (researcher, "", ""),
        (coauthor, "", ""),
    ]
    assert draft.created_by == researcher and draft.anonymous
    assert draft.status == Draft.Status.DRAFT
    assert draft.is_visible_to(coauthor)


def test_an_outside_author_with_a_bad_address_is_refused(login, researcher):
    deadline = make_deadline()
    data = {"title": "T", "abstract": "A", "deadline": deadline.pk, "pdf": pdf_upload(), "note": ""}

    response = login(researcher).post(
        reverse("reviews:new-draft"), {**data, "outside_authors": "Grace <not an address>"}
    )

    assert "is not an e-mail address" in response.text
    assert not Draft.objects.exists()


def test_past_deadlines_are_not_offered_for_a_new_draft(login, researcher):
    past = make_deadline(paper_deadline=datetime(2020, 5, 16, 11, 59, tzinfo=UTC), year=2020)
    data = {"title": "T", "abstract": "A", "deadline": past.pk, "pdf": pdf_upload(), "note": ""}

    response = login(researcher).post(reverse("reviews:new-draft"), data)

    assert "Select a valid choice" in response.text
    assert not Draft.objects.exists()


def test_draft_page_shows_authors_abstract_versions_and_status(login, researcher, make_person):
    coauthor = make_person("yuna", display_name="Yuna Choi")
    draft = make_draft(researcher, coauthors=[coauthor], title="Sparse attention", abstract="We use $x^2$.")

    page = login(coauthor).get(draft.get_absolute_url()).text

    assert "Sparse attention" in page and "We use" in page
    assert "Minji Kim" in page and "Yuna Choi" in page
    assert "First version" in page and "Draft" in page
    assert reverse("reviews:download", args=[draft.pk, 1]) in page
    assert "/media/" not in page


def test_authors_move_a_draft_through_its_statuses(login, researcher):
    draft = make_draft(researcher)
    client = login(researcher)

    client.post(reverse("reviews:set-status", args=[draft.pk]), {"status": "in_review"})
    draft.refresh_from_db()
    in_review = draft.status
    client.post(reverse("reviews:set-status", args=[draft.pk]), {"status": "no-such-status"})
    draft.refresh_from_db()

    assert in_review == Draft.Status.IN_REVIEW
    assert draft.status == Draft.Status.IN_REVIEW


def test_index_query_count_does_not_grow_with_drafts(login, researcher, django_assert_num_queries):
    deadline = make_deadline()
    make_draft(researcher, deadline=deadline)
    client = login(researcher)
    client.get(reverse("reviews:index"))  # the session and the person are loaded once

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("reviews:index"))
    for _ in range(29):
        make_draft(researcher, deadline=deadline)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(reverse("reviews:index"))

    assert response.text.count(f">{deadline}<") == 30


def test_leads_add_a_deadline_in_the_venues_zone(login, lead):
    venue = make_venue(short_name="NeurIPS")
    data = {
        "venue": venue.pk,
        "year": 2027,
        "abstract_date": "2027-05-11",
        "abstract_time": "23:59",
        "paper_date": "2027-05-15",
        "paper_time": "23:59",
        "timezone": ANYWHERE_ON_EARTH,
    }

    response = login(lead).post(reverse("reviews:add-deadline"), data)
    again = login(lead).post(reverse("reviews:add-deadline"), data)

    deadline = Deadline.objects.get()
    assert response.status_code == 302
    assert deadline.paper_deadline == MAY_15_AOE
    assert deadline.abstract_deadline == datetime(2027, 5, 12, 11, 59, tzinfo=UTC)
    assert again.status_code == 400 and "already has this deadline" in again.text


def test_an_abstract_deadline_after_the_paper_deadline_is_refused(login, lead):
    venue = make_venue()
    data = {"venue": venue.pk, "year": 2026, "abstract_date": "2026-05-20", "abstract_time": "23:59"}

    response = login(lead).post(
        reverse("reviews:add-deadline"),
        {**data, "paper_date": "2026-05-15", "paper_time": "23:59", "timezone": ANYWHERE_ON_EARTH},
    )

    assert response.status_code == 400
    assert "comes before the paper deadline" in response.text
    assert not Deadline.objects.exists()


def test_venues_page_shows_deadlines_as_the_venue_states_them(login, researcher):
    make_deadline(make_venue(short_name="NeurIPS"), paper_deadline=datetime(2099, 5, 16, 11, 59, tzinfo=UTC))

    page = login(researcher).get(reverse("reviews:venues")).text

    assert "NeurIPS 2099" in page
    assert "15 May 2099 23:59 AoE" in page
    assert "16 May 20:59" in page  # the same moment in the viewer's Seoul


def test_deadlines_feed_has_one_event_per_deadline(login, researcher):
    deadline = make_deadline(
        make_venue(short_name="ICML"),
        abstract_deadline=datetime(2099, 1, 24, 11, 59, tzinfo=UTC),
        paper_deadline=datetime(2099, 1, 31, 11, 59, tzinfo=UTC),
    )

    response = login(researcher).get(reverse("reviews:deadlines-ics"))

    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert response["Content-Type"].startswith("text/calendar")
    assert [str(event["UID"]) for event in events] == [
        f"deadline-{deadline.pk}-abstract@lab-portal",
        f"deadline-{deadline.pk}-paper@lab-portal",
    ]
    assert events[1].decoded("DTSTART") == datetime(2099, 1, 31, 11, 59, tzinfo=UTC)
    assert str(events[1]["SUMMARY"]) == "ICML 2099: paper deadline (2099-01-30 23:59 AoE)"


def test_a_talk_links_its_draft_only_for_those_who_may_see_it(
    login, researcher, reviewer, other_researcher, lead
):
    draft = make_draft(researcher, reviewers=[reviewer], title="Sparse attention at scale")
    talk = make_talk(host=lead, draft=draft)

    pages = {
        name: login(user).get(talk.get_absolute_url()).text
        for name, user in [
            ("author", researcher),
            ("reviewer", reviewer),
            ("lead", lead),
            ("other", other_researcher),
        ]
    }

    for name in ["author", "reviewer", "lead"]:
        assert draft.get_absolute_url() in pages[name], name
    assert draft.get_absolute_url() not in pages["other"]
    assert "Sparse attention at scale" not in pages["other"]


def test_the_talk_form_offers_only_drafts_the_editor_may_see(researcher, other_researcher, lead):
    mine = make_draft(researcher)
    theirs = make_draft(other_researcher)

    offered = set(TalkForm(user=researcher).fields["draft"].queryset)
    offered_to_lead = set(TalkForm(user=lead).fields["draft"].queryset)

    assert offered == {mine}
    assert offered_to_lead == {mine, theirs}


def test_a_host_links_their_draft_but_not_anothers(login, researcher, other_researcher):
    mine, theirs = make_draft(researcher), make_draft(other_researcher)
    talk = make_talk(host=researcher, title="Diffusion for video")
    url = reverse("seminars:edit-talk", args=[talk.pk])

    refused = login(researcher).post(url, talk_form(draft=theirs.pk))
    talk.refresh_from_db()
    unlinked = talk.draft
    login(researcher).post(url, talk_form(draft=mine.pk))
    talk.refresh_from_db()

    assert "Select a valid choice" in refused.text and unlinked is None
    assert talk.draft == mine


def test_an_editor_who_may_not_see_the_draft_keeps_the_link_without_seeing_it(
    login, researcher, other_researcher
):
    draft = make_draft(other_researcher, title="A secret draft")
    talk = make_talk(host=researcher, title="Diffusion for video", draft=draft)
    url = reverse("seminars:edit-talk", args=[talk.pk])

    form_page = login(researcher).get(url).text
    login(researcher).post(url, talk_form(title="Diffusion for video, revisited"))
    talk.refresh_from_db()

    assert "A secret draft" not in form_page
    assert talk.title == "Diffusion for video, revisited" and talk.draft == draft


def test_a_new_version_replaces_nothing(login, researcher):
    draft = make_draft(researcher)
    first = draft.versions.get().file.open("rb").read()

    login(researcher).post(
        reverse("reviews:upload-version", args=[draft.pk]),
        {"pdf": pdf_upload(pdf_bytes(b"%2\n")), "note": "v2"},
    )

    versions = {v.number: v.file.open("rb").read() for v in draft.versions.all()}
    assert versions == {1: first, 2: pdf_bytes(b"%2\n")}


def test_new_draft_form_states_the_size_limit_and_the_default_due_date(login, researcher, settings):
    settings.REVIEW_PDF_MAX_BYTES = 50 * 1024 * 1024
    make_deadline(make_venue(short_name="CVPR"))

    page = login(researcher).get(reverse("reviews:new-draft")).text

    assert "A PDF of at most 50.0 MB" in page and 'accept="application/pdf"' in page
    assert "Leave empty for 10 days before the paper deadline." in page
    assert "CVPR" in page and "No upcoming deadlines" not in page


def test_new_draft_form_says_when_no_deadline_is_listed(login, researcher):
    page = login(researcher).get(reverse("reviews:new-draft")).text

    assert "No upcoming deadlines are listed yet" in page


def test_leads_get_the_venue_and_deadline_forms_and_researchers_do_not(login, lead, researcher):
    make_venue(short_name="ACL")

    lead_page = login(lead).get(reverse("reviews:venues")).text
    researcher_page = login(researcher).get(reverse("reviews:venues")).text

    assert reverse("reviews:add-venue") in lead_page and reverse("reviews:add-deadline") in lead_page
    assert 'value="Etc/GMT+12"' in lead_page
    assert reverse("reviews:add-venue") not in researcher_page
