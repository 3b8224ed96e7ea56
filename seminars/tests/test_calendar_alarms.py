"""Alarms in personal feeds: off by default, chosen on the calendar feeds page (a POST), then
"My talks" rings an hour before each talk and "Deadlines and my reviews" a day before the
person's own deadlines and due dates; the lab's and series' feeds never ring."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from reviews.models import ReviewAssignment
from reviews.tests.factories import make_deadline, make_draft, make_venue
from seminars.models import CalendarToken
from seminars.registration import sign_up
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def events(client, name: str, key: str) -> dict[str, object]:
    response = client.get(reverse(f"seminars:{name}", args=[key]))
    assert response.status_code == 200
    return {str(event["uid"]): event for event in Calendar.from_ical(response.content).walk("VEVENT")}


def triggers(event) -> list[timedelta]:
    return [alarm.decoded("trigger") for alarm in event.walk("VALARM")]


@pytest.fixture
def talks(researcher, other_researcher):
    mine = make_talk(title="My <talk>", starts_at=NOW + timedelta(days=2), host=researcher)
    cancelled = make_talk(starts_at=NOW + timedelta(days=3), host=researcher, status="cancelled")
    attended = make_talk(starts_at=NOW + timedelta(days=4), host=other_researcher)
    sign_up(attended, researcher)
    return mine, cancelled, attended


@pytest.fixture
def paperwork(researcher, other_researcher):
    """A draft of the researcher's aiming at ICML, a review they owe, and a venue not theirs."""
    icml = make_deadline(
        make_venue(short_name="ICML"),
        paper_deadline=NOW + timedelta(days=20),
        abstract_deadline=NOW + timedelta(days=15),
    )
    other = make_deadline(make_venue(short_name="OTHER"), paper_deadline=NOW + timedelta(days=30))
    mine = make_draft(researcher, deadline=icml, title="Sparse attention", review_by=date(2027, 1, 20))
    theirs = make_draft(other_researcher, deadline=other, reviewers=[researcher], title="Their draft")
    owed = ReviewAssignment.objects.get(draft=theirs, reviewer=researcher)
    return {
        "icml-paper": f"deadline-{icml.pk}-paper@lab-portal",
        "icml-abstract": f"deadline-{icml.pk}-abstract@lab-portal",
        "other-paper": f"deadline-{other.pk}-paper@lab-portal",
        "reviews-due": f"draft-{mine.pk}-reviews-due@lab-portal",
        "owed": f"review-{owed.pk}-due@lab-portal",
    }


def test_feeds_carry_no_alarm_by_default(client, researcher, talks, paperwork):
    key = CalendarToken.renew(researcher).key

    talk_events = events(client, "my-feed", key)
    deadline_events = events(client, "deadlines-feed", key)

    assert researcher.calendar_alarms is False
    assert len(talk_events) == 3 and len(deadline_events) == 5
    assert all(triggers(event) == [] for event in [*talk_events.values(), *deadline_events.values()])


def test_chosen_alarms_ring_before_the_persons_own_talks_and_deadlines(
    client, login, researcher, talks, paperwork
):
    mine, cancelled, attended = talks
    key = CalendarToken.renew(researcher).key

    response = login(researcher).post(reverse("seminars:calendar-alarms"), {"calendar_alarms": "on"})

    assert response.status_code == 302
    researcher.refresh_from_db()
    assert researcher.calendar_alarms is True
    talk_events = events(client, "my-feed", key)
    assert triggers(talk_events[str(mine.uid)]) == [-timedelta(hours=1)]
    assert triggers(talk_events[str(attended.uid)]) == [-timedelta(hours=1)]
    assert triggers(talk_events[str(cancelled.uid)]) == []  # a cancelled talk never rings
    [alarm] = talk_events[str(mine.uid)].walk("VALARM")
    assert (str(alarm["action"]), str(alarm["description"])) == ("DISPLAY", "My <talk>")
    deadline_events = events(client, "deadlines-feed", key)
    day_before = [-timedelta(days=1)]
    for own in ("icml-paper", "icml-abstract", "reviews-due", "owed"):
        assert triggers(deadline_events[paperwork[own]]) == day_before, own
    assert triggers(deadline_events[paperwork["other-paper"]]) == []  # a venue none of theirs aims at
    # The lab's feed is everyone's: it never rings.
    assert all(triggers(event) == [] for event in events(client, "lab-feed", key).values())


def test_unticking_turns_the_alarms_off_again_and_htmx_gets_the_section(client, login, researcher, talks):
    mine, _cancelled, _attended = talks
    key = CalendarToken.renew(researcher).key
    browser = login(researcher)
    browser.post(reverse("seminars:calendar-alarms"), {"calendar_alarms": "on"})

    response = browser.post(reverse("seminars:calendar-alarms"), {}, headers=HTMX)

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="feed-alarms">')
    assert "Your feeds no longer carry alarms." in response.text
    researcher.refresh_from_db()
    assert researcher.calendar_alarms is False
    assert triggers(events(client, "my-feed", key)[str(mine.uid)]) == []


def test_the_choice_is_a_post_with_csrf_for_a_logged_in_person_about_themselves_only(
    client, researcher, other_researcher
):
    from django.test import Client

    url = reverse("seminars:calendar-alarms")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(researcher)

    assert client.get(reverse("seminars:calendar-feeds")).status_code == 302  # to the log-in page
    assert client.post(url, {"calendar_alarms": "on"}).status_code == 302
    assert strict.get(url).status_code == 405
    assert strict.post(url, {"calendar_alarms": "on"}).status_code == 403
    page = strict.get(reverse("seminars:calendar-feeds"))
    assert 'name="calendar_alarms"' in page.text
    researcher.refresh_from_db()
    other_researcher.refresh_from_db()
    assert researcher.calendar_alarms is False and other_researcher.calendar_alarms is False
