"""Titles and names are one line: a line break typed into one (a crafted POST can send it to a
one-line input) becomes a space on the way in, and a calendar file never breaks on one stored
before."""

from importlib import import_module

import pytest
from django.apps import apps
from django.urls import reverse
from icalendar import Calendar

from seminars.models import Talk
from seminars.tests.factories import make_talk, talk_form
from seminars.tests.test_speakers import details, host, invite, techtalk  # noqa: F401 (fixtures)

BROKEN = "Diffusion\r\nBEGIN:VEVENT\nSUMMARY:injected"


def test_the_talk_form_makes_a_title_and_speaker_one_line(login, lead):
    response = login(lead).post(
        reverse("seminars:new-talk"), talk_form(title=BROKEN, speaker_name="Grace\nHopper")
    )

    talk = Talk.objects.get()
    assert response.status_code == 302
    assert talk.title == "Diffusion BEGIN:VEVENT SUMMARY:injected"
    assert talk.speaker_name == "Grace Hopper"


@pytest.mark.django_db(transaction=True)  # the link is mailed on commit
def test_the_speaker_s_link_makes_a_title_and_affiliation_one_line(client, login, host, techtalk):  # noqa: F811
    talk = techtalk
    path = invite(login(host), talk)
    client.logout()

    client.post(path, details(title=BROKEN, speaker_affiliation="US\r\nNavy"))

    talk.refresh_from_db()
    assert talk.title == "Diffusion BEGIN:VEVENT SUMMARY:injected"
    assert talk.speaker_affiliation == "US Navy"


def test_a_talk_stored_with_a_line_break_still_has_a_calendar_file(login, researcher):
    talk = make_talk(title=BROKEN)  # as stored before forms made titles one line

    response = login(researcher).get(reverse("seminars:talk-ics", args=[talk.pk]))

    assert response.status_code == 200
    cal = Calendar.from_ical(response.content)
    [event] = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Diffusion BEGIN:VEVENT SUMMARY:injected"
    assert str(cal["X-WR-CALNAME"]) == "Diffusion BEGIN:VEVENT SUMMARY:injected"


def test_the_migration_mends_stored_titles_and_names(db):
    talk = make_talk(title=BROKEN, speaker_name="Grace\tHopper")
    clean = make_talk(title="Already fine")

    import_module("seminars.migrations.0007_single_line_talk_names").one_line_names(apps, None)

    talk.refresh_from_db()
    clean.refresh_from_db()
    assert talk.title == "Diffusion BEGIN:VEVENT SUMMARY:injected"
    assert talk.speaker_name == "Grace Hopper"
    assert clean.title == "Already fine"
