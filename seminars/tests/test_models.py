"""Series generation across daylight saving, the talk's derived facts, and the constraints."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, connection, transaction

from lab_portal.models import Channel, Delivery
from seminars.models import Feedback, Registration, Reminder, Series, Talk
from seminars.notices import send_notice
from seminars.services import cancel_talk, extend_active_series, generate_series_talks
from seminars.tests.factories import insert_talk_raw, make_room, make_series, make_talk

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
LA = ZoneInfo("America/Los_Angeles")
only_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the exclusion constraint exists on PostgreSQL only"
)


@time_machine.travel(datetime(2026, 2, 20, tzinfo=UTC), tick=False)
def test_series_weekly_seoul_talk_stays_at_1600_across_the_us_daylight_saving_change():
    # US clocks go forward on Sunday 8 March 2026; Seoul keeps UTC+9 all year.
    series = make_series(weekday=Series.Weekday.THURSDAY, start_time=time(16, 0), timezone="Asia/Seoul")

    generated = generate_series_talks(series, until=date(2026, 3, 19))

    talks = sorted(generated.created, key=lambda talk: talk.starts_at)
    assert [t.local_start.date() for t in talks] == [date(2026, 2, d) for d in (26,)] + [
        date(2026, 3, d) for d in (5, 12, 19)
    ]
    assert {t.local_start.time() for t in talks} == {time(16, 0)}
    assert {t.starts_at.astimezone(UTC).time() for t in talks} == {time(7, 0)}
    assert {t.duration for t in talks} == {timedelta(minutes=60)}


@time_machine.travel(datetime(2026, 2, 20, tzinfo=UTC), tick=False)
def test_series_speaker_in_los_angeles_sees_their_own_time_shift_across_their_dst():
    series = make_series(weekday=Series.Weekday.THURSDAY, start_time=time(16, 0), timezone="Asia/Seoul")
    talks = generate_series_talks(series, until=date(2026, 3, 12)).created
    for talk in talks:
        talk.speaker_timezone = "America/Los_Angeles"

    speaker_times = [
        (t.speaker_local_start.strftime("%a %H:%M"), t.speaker_local_start.tzname()) for t in talks
    ]

    # 16:00 Thursday in Seoul is 23:00 Wednesday in winter (PST) and midnight once PDT begins.
    assert speaker_times == [("Wed 23:00", "PST"), ("Wed 23:00", "PST"), ("Thu 00:00", "PDT")]
    assert [t.local_start.strftime("%a %H:%M") for t in talks] == ["Thu 16:00"] * 3


@time_machine.travel(datetime(2026, 10, 1, tzinfo=UTC), tick=False)
def test_series_in_los_angeles_keeps_its_wall_clock_time_when_its_clocks_go_back():
    # US clocks go back on Sunday 1 November 2026.
    series = make_series(
        weekday=Series.Weekday.TUESDAY, start_time=time(10, 0), timezone="America/Los_Angeles"
    )

    talks = generate_series_talks(series, until=date(2026, 11, 10)).created

    assert [t.local_start.strftime("%m-%d %H:%M %Z") for t in talks[-3:]] == [
        "10-27 10:00 PDT",
        "11-03 10:00 PST",
        "11-10 10:00 PST",
    ]
    assert [t.starts_at.astimezone(SEOUL).strftime("%a %H:%M") for t in talks[-3:]] == [
        "Wed 02:00",
        "Wed 03:00",
        "Wed 03:00",
    ]


@time_machine.travel(datetime(1988, 4, 20, tzinfo=UTC), tick=False)
def test_series_in_seoul_keeps_1600_across_seouls_own_daylight_saving_of_1988():
    # Korea last kept summer time in 1987 and 1988: clocks went forward on 8 May 1988.
    series = make_series(weekday=Series.Weekday.THURSDAY, start_time=time(16, 0), timezone="Asia/Seoul")
    series.starts_on = date(1988, 4, 1)
    series.save()

    talks = generate_series_talks(series, until=date(1988, 5, 19)).created

    assert [t.local_start.strftime("%m-%d %H:%M") for t in talks] == [
        "04-21 16:00",
        "04-28 16:00",
        "05-05 16:00",
        "05-12 16:00",
        "05-19 16:00",
    ]
    assert [t.starts_at.astimezone(UTC).hour for t in talks] == [7, 7, 7, 6, 6]


@time_machine.travel(datetime(2026, 3, 1, tzinfo=UTC), tick=False)
def test_series_time_skipped_by_a_spring_forward_moves_to_the_same_time_after_the_jump():
    series = make_series(
        weekday=Series.Weekday.SUNDAY, start_time=time(2, 30), timezone="America/Los_Angeles"
    )

    talks = generate_series_talks(series, until=date(2026, 3, 8)).created

    assert talks[-1].local_start.strftime("%m-%d %H:%M %Z") == "03-08 03:30 PDT"
    assert talks[-1].duration == timedelta(hours=1)


@time_machine.travel(datetime(2026, 2, 20, tzinfo=UTC), tick=False)
def test_generate_series_talks_is_idempotent_even_after_a_talk_moved_or_was_cancelled():
    series = make_series()
    first = generate_series_talks(series, until=date(2026, 3, 31)).created
    moved, cancelled = first[0], first[1]
    moved.starts_at += timedelta(days=1)
    moved.ends_at += timedelta(days=1)
    moved.save()
    cancel_talk(cancelled)

    again = generate_series_talks(series, until=date(2026, 3, 31))

    assert again.created == [] and again.clashes == []
    assert series.talks.count() == len(first) == 5


@time_machine.travel(datetime(2026, 2, 26, 8, 0, tzinfo=UTC), tick=False)
def test_generate_series_talks_skips_a_meeting_that_already_started_and_respects_the_last_day():
    # 17:00 in Seoul on Thursday 26 February: that day's 16:00 meeting has begun.
    series = make_series(ends_on=date(2026, 3, 12))

    talks = generate_series_talks(series, until=date(2026, 12, 31)).created

    assert [t.occurrence for t in talks] == [date(2026, 3, 5), date(2026, 3, 12)]


@time_machine.travel(datetime(2026, 2, 20, tzinfo=UTC), tick=False)
def test_generate_series_talks_reports_a_taken_room_instead_of_booking_it():
    room = make_room(name="Hall A")
    blocker = make_talk(
        room=room, title="Thesis defence", starts_at=datetime(2026, 3, 5, 6, 30, tzinfo=UTC)
    )  # 15:30 to 16:30 in Seoul
    series = make_series(room=room, capacity=30, host=None)

    generated = generate_series_talks(series, until=date(2026, 3, 12))

    assert [t.occurrence for t in generated.created] == [date(2026, 2, 26), date(2026, 3, 12)]
    assert generated.clashes == [(date(2026, 3, 5), blocker)]
    assert {t.capacity for t in generated.created} == {30}
    assert {t.title for t in generated.created} == {"TBA"}


def test_talk_signup_is_open_until_it_starts_and_never_when_cancelled():
    talk = make_talk()

    assert talk.is_open_for_signup(talk.starts_at - timedelta(seconds=1))
    assert not talk.is_open_for_signup(talk.starts_at)
    talk.status = Talk.Status.CANCELLED
    assert not talk.is_open_for_signup(talk.starts_at - timedelta(days=1))


def test_talk_has_started_follows_the_clock():
    talk = make_talk()

    with time_machine.travel(talk.starts_at - timedelta(minutes=1), tick=False):
        assert not talk.has_started
    with time_machine.travel(talk.starts_at, tick=False):
        assert talk.has_started and not talk.is_over


def test_talk_seats_left_counts_confirmed_only_with_or_without_the_annotation(make_person):
    talk = make_talk(capacity=2)
    Registration.objects.create(talk=talk, user=make_person("a"), status=Registration.Status.CONFIRMED)
    Registration.objects.create(talk=talk, user=make_person("b"), status=Registration.Status.WAITLISTED)
    Registration.objects.create(talk=talk, user=make_person("c"), status=Registration.Status.CANCELLED)

    annotated = Talk.objects.with_seat_counts().get(pk=talk.pk)

    assert talk.seats_left == annotated.seats_left == 1
    assert annotated.waitlisted_count == 1
    assert not annotated.is_full
    assert make_talk(capacity=None).seats_left is None


def test_talk_local_start_is_in_its_own_zone():
    talk = make_talk(starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC), timezone="Asia/Seoul")

    assert talk.local_start.isoformat() == "2026-07-02T16:00:00+09:00"
    assert talk.speaker_local_start is None


def test_talk_bump_sequence_is_atomic_and_moves_the_last_change():
    talk = make_talk()
    stale = Talk.objects.get(pk=talk.pk)
    before = talk.updated_at

    talk.bump_sequence()
    stale.bump_sequence()

    assert Talk.objects.get(pk=talk.pk).sequence == 2
    assert talk.sequence == 1 and stale.sequence == 2
    assert talk.updated_at > before


def test_talk_uid_is_fixed_at_creation():
    talk = make_talk()
    uid = talk.uid

    talk.title = "Renamed"
    talk.save()
    talk.refresh_from_db()

    assert talk.uid == uid
    assert make_talk().uid != uid


def test_talks_in_week_and_month_follow_the_viewers_zone():
    # Monday 00:30 in Seoul is still Sunday in Los Angeles.
    talk = make_talk(starts_at=datetime(2026, 6, 28, 15, 30, tzinfo=UTC))

    assert list(Talk.objects.in_week(date(2026, 6, 29), SEOUL)) == [talk]
    assert list(Talk.objects.in_week(date(2026, 6, 29), LA)) == []
    assert list(Talk.objects.in_week(date(2026, 6, 22), LA)) == [talk]
    assert list(Talk.objects.in_month(2026, 6, LA)) == [talk]
    assert list(Talk.objects.in_month(2026, 6, SEOUL)) == [talk]
    assert list(Talk.objects.in_month(2026, 12, SEOUL)) == []


def test_talks_in_month_of_december_end_at_the_new_year():
    talk = make_talk(starts_at=datetime(2026, 12, 31, 10, 0, tzinfo=UTC))
    make_talk(starts_at=datetime(2027, 1, 1, 10, 0, tzinfo=UTC))

    assert list(Talk.objects.in_month(2026, 12, SEOUL)) == [talk]


def test_talks_upcoming_keeps_cancelled_talks_and_drops_finished_ones():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    cancelled = make_talk(starts_at=now + timedelta(days=1), status=Talk.Status.CANCELLED)
    running = make_talk(starts_at=now - timedelta(minutes=30))
    make_talk(starts_at=now - timedelta(days=1))

    assert list(Talk.objects.upcoming(now)) == [running, cancelled]
    assert list(Talk.objects.upcoming(now).scheduled()) == [running]


def test_talks_for_person_are_hosted_given_or_signed_up(researcher, other_researcher, lead):
    hosted = make_talk(host=researcher)
    given = make_talk(speaker_user=researcher)
    attended = make_talk(host=lead)
    Registration.objects.create(talk=attended, user=researcher, status=Registration.Status.WAITLISTED)
    dropped = make_talk()
    Registration.objects.create(talk=dropped, user=researcher, status=Registration.Status.CANCELLED)
    make_talk(host=other_researcher)

    assert set(Talk.objects.for_person(researcher)) == {hosted, given, attended}


def test_talks_overlapping_are_half_open_and_ignore_cancelled_talks():
    room = make_room()
    start = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    talk = make_talk(room=room, starts_at=start)
    make_talk(room=room, starts_at=start, status=Talk.Status.CANCELLED)

    def clashes(minutes_after: int, length: int = 60):
        begin = start + timedelta(minutes=minutes_after)
        return list(
            Talk.objects.overlapping(room=room, starts_at=begin, ends_at=begin + timedelta(minutes=length))
        )

    assert clashes(60) == []
    assert clashes(-60) == []
    assert clashes(59) == [talk]
    assert clashes(-30) == [talk]
    assert (
        list(
            Talk.objects.overlapping(
                room=room, starts_at=start, ends_at=start + timedelta(hours=1), exclude_pk=talk.pk
            )
        )
        == []
    )


@only_postgresql
def test_postgresql_refuses_two_talks_in_one_room_at_once():
    room = make_room()
    start = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    make_talk(room=room, starts_at=start)

    with pytest.raises(IntegrityError, match="talk_room_no_overlap"), transaction.atomic():
        make_talk(room=room, starts_at=start + timedelta(minutes=30))


@only_postgresql
def test_postgresql_refuses_an_overlap_written_in_raw_sql():
    room = make_room()
    talk = make_talk(room=room)

    with (
        pytest.raises(IntegrityError, match="talk_room_no_overlap"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        start = talk.starts_at + timedelta(minutes=10)
        insert_talk_raw(cursor, title="Sneaky", starts_at=start, ends_at=talk.ends_at, room_id=room.pk)


@only_postgresql
def test_postgresql_allows_back_to_back_talks_other_rooms_and_cancelled_overlaps():
    room = make_room()
    start = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    talk = make_talk(room=room, starts_at=start)

    make_talk(room=room, starts_at=start + timedelta(hours=1))
    make_talk(room=make_room(), starts_at=start)
    make_talk(room=room, starts_at=start, status=Talk.Status.CANCELLED)
    make_talk(room=None, starts_at=start)
    cancel_talk(talk)
    make_talk(room=room, starts_at=start)

    assert Talk.objects.filter(room=room).count() == 4


def test_talk_end_must_follow_its_start():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_talk(starts_at=datetime(2026, 6, 1, tzinfo=UTC), ends_at=datetime(2026, 6, 1, tzinfo=UTC))


def test_registration_is_one_per_talk_and_person(researcher):
    talk = make_talk()
    Registration.objects.create(talk=talk, user=researcher, status=Registration.Status.CONFIRMED)

    with pytest.raises(IntegrityError), transaction.atomic():
        Registration.objects.create(talk=talk, user=researcher, status=Registration.Status.WAITLISTED)


@pytest.mark.parametrize("rating", [0, 6])
def test_feedback_rating_is_one_to_five(researcher, rating):
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.create(talk=make_talk(), user=researcher, rating=rating)


def test_reminder_cannot_exist_twice_for_a_person_or_an_address(researcher):
    talk = make_talk()
    due = talk.starts_at - timedelta(days=1)
    Reminder.objects.create(talk=talk, kind=Reminder.Kind.DAY_BEFORE, recipient=researcher, due_at=due)
    Reminder.objects.create(talk=talk, kind=Reminder.Kind.DAY_BEFORE, email="guest@example.org", due_at=due)
    # The same message for the talk's next sequence (it moved) is another reminder.
    Reminder.objects.create(
        talk=talk, kind=Reminder.Kind.DAY_BEFORE, recipient=researcher, due_at=due, sequence=1
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(talk=talk, kind=Reminder.Kind.DAY_BEFORE, recipient=researcher, due_at=due)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(
            talk=talk, kind=Reminder.Kind.DAY_BEFORE, email="guest@example.org", due_at=due
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(talk=talk, kind=Reminder.Kind.HOUR_BEFORE, due_at=due)


@pytest.fixture
def notice_template(settings, tmp_path):
    (tmp_path / "notice").mkdir()
    (tmp_path / "notice" / "test.txt").write_text(
        "{% load tz %}Hello {{ name }}: {{ moment|date:'H:i T' }} for {{ recipient }}"
    )
    (tmp_path / "notice" / "test.html").write_text("<p>Hello {{ name }}</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    return "notice/test"


def test_send_notice_sends_one_message_per_recipient_in_their_own_time_zone(
    make_person, notice_template, django_capture_on_commit_callbacks
):
    person = make_person("sora", timezone="America/Los_Angeles")
    nobody = make_person("ghost", email="")
    moment = datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    recipients = [person, "Guest@Example.org", nobody]

    with django_capture_on_commit_callbacks(execute=True):
        sent = send_notice(
            recipients, "Talk <soon>", notice_template, {"name": "<b>", "moment": moment}, key="t"
        )
        again = send_notice(
            recipients, "Talk <soon>", notice_template, {"name": "<b>", "moment": moment}, key="t"
        )

    assert (sent, again) == (2, 2)
    assert [m.to for m in mail.outbox] == [["sora@lab.example.org"], ["guest@example.org"]]
    assert mail.outbox[0].subject == "Talk <soon>"
    assert mail.outbox[0].body == "Hello <b>: 00:00 PDT for Sora\n"
    assert mail.outbox[1].body == "Hello <b>: 16:00 KST for Guest@Example.org\n"
    assert mail.outbox[0].alternatives[0].content == "<p>Hello &lt;b&gt;</p>"
    assert mail.outbox[0].alternatives[0].mimetype == "text/html"
    outside = Delivery.objects.get(channel__outside=True)
    assert (outside.channel.target, outside.dedupe_key, outside.state) == (
        "guest@example.org",
        "seminars:t",
        "sent",
    )
    assert not Channel.objects.for_lab().exists()  # the guest's address is not one of the lab's


@time_machine.travel(datetime(2026, 6, 24, tzinfo=UTC), tick=False)
def test_extend_active_series_keeps_active_series_scheduled_ahead_and_repeats_safely():
    active = make_series(weekday=Series.Weekday.MONDAY)
    make_series(active=False)

    first = extend_active_series(weeks=4)
    again = extend_active_series(weeks=4)

    assert list(first) == [active]
    assert [t.occurrence for t in first[active].created] == [
        date(2026, 6, 29) + timedelta(weeks=n) for n in range(4)
    ]
    assert again[active].created == []
    assert Talk.objects.count() == 4
