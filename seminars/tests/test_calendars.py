"""Calendars: a talk's .ics, the lab, series and personal feeds, and the secret feed addresses.

Every feed is parsed back with icalendar, as a calendar program would read it.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from seminars.models import CalendarToken, Registration, Talk
from seminars.registration import cancel as give_up_seat
from seminars.registration import sign_up
from seminars.services import cancel_talk, update_talk
from seminars.tests.factories import make_room, make_series, make_talk

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def token(researcher) -> CalendarToken:
    return CalendarToken.objects.create(user=researcher)


def read(response) -> Calendar:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(response.content)
    # Every zone an event names has its VTIMEZONE (times in UTC need none).
    assert cal.get_missing_tzids() == set()
    return cal


def events_by_uid(cal: Calendar) -> dict[str, object]:
    return {str(event.uid): event for event in cal.events}


def lab_feed(client, token: CalendarToken) -> Calendar:
    return read(client.get(reverse("seminars:lab-feed", args=[token.key])))


def move(talk: Talk, **changes) -> Talk:
    """Edit a talk as the edit form does: through the schedule service."""
    old = talk.schedule_snapshot()
    for name, value in changes.items():
        setattr(talk, name, value)
    update_talk(talk, old=old)
    talk.refresh_from_db()
    return talk


def test_talk_ics_carries_every_field_a_calendar_needs(login, researcher, lead, settings):
    room = make_room(name="Seminar room 1", location="Building 2, 3rd floor")
    talk = make_talk(
        title="Diffusion, briefly; with math",
        abstract="We show $x^2$ matters.\n\nSecond paragraph.",
        speaker_name="Ada Lovelace",
        speaker_affiliation="Analytical Engines",
        starts_at=datetime(2026, 3, 12, 16, 0, tzinfo=SEOUL),
        ends_at=datetime(2026, 3, 12, 17, 30, tzinfo=SEOUL),
        timezone="Asia/Seoul",
        room=room,
        online_link="https://meet.example.org/seminar",
        host=lead,
    )

    response = login(researcher).get(reverse("seminars:talk-ics", args=[talk.pk]))

    assert (
        response["Content-Disposition"] == 'attachment; filename="diffusion-briefly-with-math-20260312.ics"'
    )
    cal = read(response)
    [event] = cal.events
    assert str(event.uid) == str(talk.uid)
    assert event.sequence == 0
    assert event.stamp == talk.updated_at.replace(microsecond=0)
    assert event.last_modified == talk.updated_at.replace(microsecond=0)
    assert event["DTSTART"].params["TZID"] == "Asia/Seoul"
    assert event.start == datetime(2026, 3, 12, 16, 0, tzinfo=SEOUL)
    assert event.end == datetime(2026, 3, 12, 17, 30, tzinfo=SEOUL)
    assert [tz.tz_name for tz in cal.timezones] == ["Asia/Seoul"]
    assert event.summary == "Diffusion, briefly; with math"
    assert event.status == "CONFIRMED"
    assert event.url == f"{settings.SITE_URL}/seminars/talks/{talk.pk}/"
    assert event.location == ("Seminar room 1, Building 2, 3rd floor · https://meet.example.org/seminar")
    assert event.description == (
        "Ada Lovelace (Analytical Engines)\n\nWe show $x^2$ matters.\n\nSecond paragraph.\n\n"
        f"{settings.SITE_URL}/seminars/talks/{talk.pk}/"
    )
    assert cal["PRODID"] == "-//Lab Portal//Seminars//EN"
    assert cal["METHOD"] == "PUBLISH"


def test_uid_stays_and_sequence_bumps_when_a_talk_moves(client, token, frozen):
    talk = make_talk(starts_at=datetime(2026, 3, 12, 7, 0, tzinfo=UTC), timezone="Asia/Seoul")
    before = events_by_uid(lab_feed(client, token))[str(talk.uid)]
    frozen.shift(timedelta(hours=2))

    move(talk, starts_at=talk.starts_at + timedelta(days=7), ends_at=talk.ends_at + timedelta(days=7))
    after = events_by_uid(lab_feed(client, token))[str(talk.uid)]

    assert (before.sequence, after.sequence) == (0, 1)
    assert after.stamp == after.last_modified == NOW + timedelta(hours=2)
    assert before.stamp == NOW
    assert after.start == datetime(2026, 3, 19, 16, 0, tzinfo=SEOUL)


def test_title_edit_changes_the_stamp_but_not_the_sequence(client, token, frozen):
    talk = make_talk(starts_at=NOW + timedelta(days=3))
    frozen.shift(timedelta(minutes=5))

    move(talk, title="The real title")
    event = events_by_uid(lab_feed(client, token))[str(talk.uid)]

    assert event.summary == "The real title"
    assert event.sequence == 0
    assert event.last_modified == NOW + timedelta(minutes=5)


def test_cancelled_talk_stays_in_every_feed_marked_cancelled(client, token, researcher):
    series = make_series(name="Weekly Techtalk", slug="techtalk")
    talk = make_talk(starts_at=NOW + timedelta(days=2), series=series, host=researcher)
    feeds = [
        reverse("seminars:lab-feed", args=[token.key]),
        reverse("seminars:series-feed", args=[token.key, "techtalk"]),
        reverse("seminars:my-feed", args=[token.key]),
    ]

    cancel_talk(talk)

    for url in feeds:
        [event] = read(client.get(url)).events
        assert str(event.uid) == str(talk.uid)
        assert event.status == "CANCELLED"
        assert event.sequence == 1


def test_feed_covers_thirty_days_back_and_a_year_ahead(client, token):
    inside = [
        make_talk(starts_at=NOW - timedelta(days=29)),
        make_talk(starts_at=NOW + timedelta(days=1)),
        make_talk(starts_at=NOW + timedelta(days=364)),
    ]
    make_talk(starts_at=NOW - timedelta(days=31))
    make_talk(starts_at=NOW + timedelta(days=366))

    cal = lab_feed(client, token)

    assert set(events_by_uid(cal)) == {str(talk.uid) for talk in inside}


def test_talk_moving_across_a_daylight_saving_change_keeps_its_wall_clock_time(client, token, frozen):
    # 10:00 in Los Angeles on 5 March is PST (UTC-8); on 12 March it is PDT (UTC-7).
    talk, staying = (
        make_talk(
            starts_at=datetime(2026, 3, day, 10, 0, tzinfo=LOS_ANGELES),
            ends_at=datetime(2026, 3, day, 11, 0, tzinfo=LOS_ANGELES),
            timezone="America/Los_Angeles",
        )
        for day in (5, 4)
    )
    frozen.shift(timedelta(minutes=1))

    move(
        talk,
        starts_at=datetime(2026, 3, 12, 10, 0, tzinfo=LOS_ANGELES),
        ends_at=datetime(2026, 3, 12, 11, 0, tzinfo=LOS_ANGELES),
    )
    cal = lab_feed(client, token)

    moved, unmoved = events_by_uid(cal)[str(talk.uid)], events_by_uid(cal)[str(staying.uid)]
    assert moved["DTSTART"].params["TZID"] == "America/Los_Angeles"
    assert moved["DTSTART"].to_ical() == b"20260312T100000"
    assert moved.start.astimezone(UTC) == datetime(2026, 3, 12, 17, 0, tzinfo=UTC)
    assert moved.sequence == 1
    assert unmoved["DTSTART"].to_ical() == b"20260304T100000"
    assert unmoved.start.astimezone(UTC) == datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
    [vtimezone] = cal.timezones
    assert vtimezone.tz_name == "America/Los_Angeles"
    # The definition holds the switch to daylight time on 8 March, so clients place both right.
    assert {(c.name, str(c["TZOFFSETTO"].to_ical())) for c in vtimezone.subcomponents} == {
        ("STANDARD", "-0800"),
        ("DAYLIGHT", "-0700"),
    }
    zone = vtimezone.to_tz()
    assert datetime(2026, 3, 12, 10, 0, tzinfo=zone).utcoffset() == timedelta(hours=-7)
    assert datetime(2026, 3, 4, 10, 0, tzinfo=zone).utcoffset() == timedelta(hours=-8)


def test_moved_talk_alone_gets_the_zone_definition_of_its_new_date(client, token):
    talk = make_talk(
        starts_at=datetime(2026, 3, 5, 10, 0, tzinfo=LOS_ANGELES), timezone="America/Los_Angeles"
    )

    move(
        talk,
        starts_at=datetime(2026, 3, 12, 10, 0, tzinfo=LOS_ANGELES),
        ends_at=datetime(2026, 3, 12, 11, 0, tzinfo=LOS_ANGELES),
    )
    cal = lab_feed(client, token)

    [vtimezone] = cal.timezones
    assert datetime(2026, 3, 12, 10, 0, tzinfo=vtimezone.to_tz()).utcoffset() == timedelta(hours=-7)
    assert cal.events[0].start == datetime(2026, 3, 12, 10, 0, tzinfo=LOS_ANGELES)


def test_seoul_talk_keeps_its_time_for_a_reader_across_their_daylight_saving(client, token):
    # The lab's weekly 16:00 in Seoul (no DST) is 00:00 then 01:00 in Los Angeles after 8 March.
    talks = [
        make_talk(starts_at=datetime(2026, 3, day, 16, 0, tzinfo=SEOUL), timezone="Asia/Seoul")
        for day in (5, 12)
    ]

    cal = lab_feed(client, token)

    events = events_by_uid(cal)
    for talk in talks:
        assert events[str(talk.uid)]["DTSTART"].to_ical().endswith(b"T160000")
    assert [tz.tz_name for tz in cal.timezones] == ["Asia/Seoul"]


def test_talk_planned_in_utc_is_written_in_utc_without_a_vtimezone(client, token):
    make_talk(starts_at=datetime(2026, 3, 12, 9, 0, tzinfo=UTC), timezone="UTC")

    cal = lab_feed(client, token)

    [event] = cal.events
    assert event["DTSTART"].to_ical() == b"20260312T090000Z"
    assert cal.timezones == []


def test_empty_feed_is_still_a_valid_calendar(client, token, settings):
    cal = lab_feed(client, token)

    assert cal.events == []
    # RFC 5545 wants a component in every calendar: the lab's zone.
    assert [tz.tz_name for tz in cal.timezones] == [settings.TIME_ZONE]
    assert str(cal["X-WR-CALNAME"]) == "Lab talks"
    # Clients are asked to fetch again hourly, in RFC 7986's words and Outlook's.
    assert cal["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert cal.refresh_interval == timedelta(hours=1)
    assert cal["X-PUBLISHED-TTL"].to_ical() == b"PT1H"


def test_feed_keeps_its_calendar_uid_between_fetches(client, token):
    first = lab_feed(client, token)
    second = lab_feed(client, token)

    assert str(first["UID"]) == str(second["UID"])


def test_series_feed_holds_only_that_series(client, token):
    techtalk = make_series(name="Weekly Techtalk", slug="techtalk")
    vision = make_series(name="Vision seminar", slug="vision")
    ours = make_talk(starts_at=NOW + timedelta(days=3), series=techtalk)
    make_talk(starts_at=NOW + timedelta(days=4), series=vision)
    make_talk(starts_at=NOW + timedelta(days=5))

    cal = read(client.get(reverse("seminars:series-feed", args=[token.key, "techtalk"])))

    assert set(events_by_uid(cal)) == {str(ours.uid)}
    assert str(cal["X-WR-CALNAME"]) == "Weekly Techtalk"


def test_series_feed_of_an_unknown_series_is_404(client, token):
    response = client.get(reverse("seminars:series-feed", args=[token.key, "nope"]))

    assert response.status_code == 404


def test_my_feed_holds_the_talks_i_host_give_or_signed_up_for(client, token, researcher, other_researcher):
    hosted = make_talk(starts_at=NOW + timedelta(days=1), host=researcher)
    given = make_talk(starts_at=NOW + timedelta(days=2), speaker_user=researcher)
    attended = make_talk(starts_at=NOW + timedelta(days=3))
    waiting = make_talk(starts_at=NOW + timedelta(days=4), capacity=1)
    given_up = make_talk(starts_at=NOW + timedelta(days=5))
    make_talk(starts_at=NOW + timedelta(days=6), host=other_researcher)
    sign_up(attended, researcher)
    sign_up(waiting, other_researcher)
    sign_up(waiting, researcher)
    sign_up(given_up, researcher)
    give_up_seat(given_up, researcher)

    cal = read(client.get(reverse("seminars:my-feed", args=[token.key])))

    assert set(events_by_uid(cal)) == {str(t.uid) for t in (hosted, given, attended, waiting)}
    assert Registration.objects.get(talk=waiting, user=researcher).status == Registration.Status.WAITLISTED
    assert str(cal["X-WR-CALNAME"]) == "Talks of Minji Kim"


@pytest.mark.parametrize("name", ["lab-feed", "my-feed"])
def test_feed_with_a_revoked_unknown_or_deactivated_key_is_404(client, token, researcher, name):
    url = reverse(f"seminars:{name}", args=[token.key])
    assert client.get(url).status_code == 200

    token.revoked_at = NOW
    token.save()
    revoked = client.get(url)
    unknown = client.get(reverse(f"seminars:{name}", args=["not-a-key"]))
    fresh = CalendarToken.objects.create(user=researcher)
    researcher.is_active = False
    researcher.save()
    deactivated = client.get(reverse(f"seminars:{name}", args=[fresh.key]))

    assert (revoked.status_code, unknown.status_code, deactivated.status_code) == (404, 404, 404)


def test_series_feed_with_a_revoked_key_is_404(client, token):
    make_series(slug="techtalk")
    token.revoked_at = NOW
    token.save()

    response = client.get(reverse("seminars:series-feed", args=[token.key, "techtalk"]))

    assert response.status_code == 404


def test_feed_needs_no_login_and_records_its_use_hourly(client, token, frozen):
    assert token.last_used_at is None

    client.get(reverse("seminars:lab-feed", args=[token.key]))
    frozen.shift(timedelta(minutes=30))
    client.get(reverse("seminars:lab-feed", args=[token.key]))
    token.refresh_from_db()
    first = token.last_used_at
    frozen.shift(timedelta(minutes=31))
    client.get(reverse("seminars:lab-feed", args=[token.key]))
    token.refresh_from_db()

    assert first == NOW
    assert token.last_used_at == NOW + timedelta(minutes=61)


def test_feed_is_private_to_caches(client, token):
    response = client.get(reverse("seminars:lab-feed", args=[token.key]))

    assert "private" in response["Cache-Control"]


def test_feed_query_count_does_not_grow_with_talks(client, token, django_assert_num_queries):
    room = make_room()
    make_talk(starts_at=NOW + timedelta(days=1), room=room)
    url = reverse("seminars:lab-feed", args=[token.key])
    client.get(url)  # records the key's use, which later reads skip for an hour
    with django_assert_num_queries(2):
        read(client.get(url))
    for day in range(2, 31):
        make_talk(starts_at=NOW + timedelta(days=day), room=room)

    with django_assert_num_queries(2):
        cal = read(client.get(url))

    assert len(cal.events) == 30


def test_feed_refuses_post(client, token):
    response = client.post(reverse("seminars:lab-feed", args=[token.key]))

    assert response.status_code == 405


# The feeds page and its keys


def test_talk_ics_needs_a_login(client):
    talk = make_talk()

    response = client.get(reverse("seminars:talk-ics", args=[talk.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_talk_ics_of_a_missing_talk_is_404(login, researcher):
    response = login(researcher).get(reverse("seminars:talk-ics", args=[999]))

    assert response.status_code == 404


def test_cancelled_talk_ics_says_cancelled(login, researcher):
    talk = make_talk()
    cancel_talk(talk)

    [event] = read(login(researcher).get(reverse("seminars:talk-ics", args=[talk.pk]))).events

    assert event.status == "CANCELLED"


def test_talk_page_links_its_ics_and_the_feeds(login, researcher):
    series = make_series(slug="techtalk")
    talk = make_talk(series=series)

    response = login(researcher).get(talk.get_absolute_url())

    assert reverse("seminars:talk-ics", args=[talk.pk]).encode() in response.content
    assert f"{reverse('seminars:calendar-feeds')}#series-techtalk".encode() in response.content


def test_calendar_links_on_index_and_series_pages_point_to_the_feeds():
    series = make_series(slug="techtalk")

    on_index = render_to_string("seminars/includes/calendar_links.html", {})
    on_series = render_to_string("seminars/includes/calendar_links.html", {"series": series})

    assert f'href="{reverse("seminars:calendar-feeds")}"' in on_index
    assert "Subscribe to the lab's talks in your calendar" in on_index
    assert f'href="{reverse("seminars:calendar-feeds")}#series-techtalk"' in on_series
    assert ".ics" not in on_index + on_series


def test_feeds_page_query_count_does_not_grow_with_series(login, researcher, django_assert_num_queries):
    CalendarToken.objects.create(user=researcher)
    client = login(researcher)
    make_series()
    client.get(reverse("seminars:calendar-feeds"))  # the session's first read warms what it caches
    with django_assert_num_queries(4):
        client.get(reverse("seminars:calendar-feeds"))
    for _ in range(10):
        make_series()

    with django_assert_num_queries(4):
        response = client.get(reverse("seminars:calendar-feeds"))

    assert response.content.decode().count("Subscribe</a>") == 14  # lab, mine, deadlines, 11 series


def test_feeds_page_needs_a_login(client):
    response = client.get(reverse("seminars:calendar-feeds"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_feeds_page_without_a_key_offers_to_make_one(login, researcher):
    response = login(researcher).get(reverse("seminars:calendar-feeds"))

    assert b"Make my feed addresses" in response.content
    assert b"/feeds/" not in response.content
    assert not CalendarToken.objects.exists()  # a GET makes nothing


def test_feeds_page_shows_my_addresses_and_not_anyone_elses(login, researcher, other_researcher, settings):
    series = make_series(name="Weekly Techtalk", slug="techtalk")
    mine = CalendarToken.objects.create(user=researcher)
    theirs = CalendarToken.objects.create(user=other_researcher)

    response = login(researcher).get(reverse("seminars:calendar-feeds"))

    page = response.content.decode()
    assert f"{settings.SITE_URL}/seminars/feeds/{mine.key}/lab.ics" in page
    assert f"{settings.SITE_URL}/seminars/feeds/{mine.key}/mine.ics" in page
    assert f"{settings.SITE_URL}/seminars/feeds/{mine.key}/series/{series.slug}.ics" in page
    assert f"webcal://{settings.SITE_URL.split('://')[1]}/seminars/feeds/{mine.key}/lab.ics" in page
    assert 'id="series-techtalk"' in page
    assert theirs.key not in page


def test_new_key_replaces_the_old_one(login, researcher, client):
    old = CalendarToken.objects.create(user=researcher)
    old_url = reverse("seminars:my-feed", args=[old.key])

    response = login(researcher).post(reverse("seminars:new-calendar-key"), follow=True)

    new = CalendarToken.objects.get(user=researcher, revoked_at=None)
    assert new.key != old.key
    assert b"the old ones no longer work" in response.content
    assert new.key.encode() in response.content
    client.logout()
    assert client.get(old_url).status_code == 404
    assert client.get(reverse("seminars:my-feed", args=[new.key])).status_code == 200


def test_first_key_is_made_on_request(login, researcher):
    response = login(researcher).post(reverse("seminars:new-calendar-key"))

    assert response.status_code == 302
    assert response["Location"] == reverse("seminars:calendar-feeds")
    assert CalendarToken.objects.filter(user=researcher, revoked_at=None).count() == 1


def test_revoking_stops_every_feed_of_mine_and_nobody_elses(login, researcher, other_researcher, client):
    mine = CalendarToken.objects.create(user=researcher)
    theirs = CalendarToken.objects.create(user=other_researcher)

    response = login(researcher).post(reverse("seminars:revoke-calendar-key"), follow=True)

    assert b"Your feed addresses no longer work." in response.content
    assert b"Make my feed addresses" in response.content
    client.logout()
    assert client.get(reverse("seminars:lab-feed", args=[mine.key])).status_code == 404
    assert client.get(reverse("seminars:lab-feed", args=[theirs.key])).status_code == 200


def test_other_researcher_renewing_leaves_my_key_alone(login, researcher, other_researcher):
    mine = CalendarToken.objects.create(user=researcher)

    login(other_researcher).post(reverse("seminars:new-calendar-key"))

    mine.refresh_from_db()
    assert mine.is_active
    assert CalendarToken.objects.filter(user=other_researcher, revoked_at=None).count() == 1


def test_key_change_with_htmx_returns_only_the_addresses(login, researcher):
    response = login(researcher).post(reverse("seminars:new-calendar-key"), headers={"HX-Request": "true"})

    page = response.content.decode()
    token = CalendarToken.objects.get(user=researcher)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section class="card" id="feed-addresses">')
    assert "<html" not in page
    assert token.key in page


@pytest.mark.parametrize("name", ["new-calendar-key", "revoke-calendar-key"])
def test_key_changes_refuse_get_and_anonymous_posts(login, researcher, client, name):
    anonymous = client.post(reverse(f"seminars:{name}"))
    as_get = login(researcher).get(reverse(f"seminars:{name}"))

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    assert as_get.status_code == 405
    assert not CalendarToken.objects.exists()


def test_key_change_needs_the_csrf_token(researcher):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(researcher)

    response = browser.post(reverse("seminars:new-calendar-key"))

    assert response.status_code == 403
    assert not CalendarToken.objects.exists()
