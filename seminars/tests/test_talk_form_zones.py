"""The talk form's time zones are picked from a list, as in the profile, and checked."""

import lxml.html
import pytest
from django.urls import reverse

from seminars.models import Talk
from seminars.tests.factories import talk_form

pytestmark = pytest.mark.django_db


def select(html: str, name: str):
    return lxml.html.fromstring(html).xpath(f"//main//form//select[@name='{name}']")[0]


def test_talk_form_time_zones_are_choice_lists(login, lead, settings):
    page = login(lead).get(reverse("seminars:new-talk")).text

    zone = select(page, "timezone")
    speaker_zone = select(page, "speaker_timezone")
    assert zone.value == settings.TIME_ZONE  # a new talk starts in the lab's zone
    assert {"Asia/Seoul", "Europe/London", "America/Los_Angeles"} <= set(zone.value_options)
    assert speaker_zone.value_options[0] == ""  # the talk's own zone unless the speaker is elsewhere
    assert "America/New_York" in speaker_zone.value_options


def test_talk_form_refuses_a_zone_not_in_the_list(login, lead):
    response = login(lead).post(
        reverse("seminars:new-talk"), talk_form(timezone="Asia/Seol", speaker_timezone="Mars/Base")
    )

    assert response.status_code == 200
    assert "“Asia/Seol” is not a time zone name" in response.text
    assert "“Mars/Base” is not a time zone name" in response.text
    assert not Talk.objects.exists()


def test_edit_talk_form_selects_the_talks_own_zones(login, lead):
    client = login(lead)
    client.post(
        reverse("seminars:new-talk"), talk_form(timezone="Europe/London", speaker_timezone="America/New_York")
    )
    talk = Talk.objects.get()

    page = client.get(reverse("seminars:edit-talk", args=[talk.pk])).text

    assert select(page, "timezone").value == "Europe/London"
    assert select(page, "speaker_timezone").value == "America/New_York"
