"""The schedule pages: upcoming list, week and month, series, talks, and editing them."""

import html
import re
import threading
import time as clock
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from papers.tests.factories import make_paper
from seminars.models import Reminder, Series, Talk
from seminars.tests.factories import insert_talk_raw, make_room, make_series, make_talk, talk_form

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 24, 3, 0, tzinfo=UTC)  # Wednesday noon in Seoul


def text(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" – ", "–")  # noqa: RUF001


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def change_notices(talk: Talk) -> list[tuple[int, int]]:
    """The change notices written for `talk`, as (sequence, recipient id)."""
    rows = Reminder.objects.filter(talk=talk, kind=Reminder.Kind.CHANGE)
    return list(rows.order_by("sequence", "recipient_id").values_list("sequence", "recipient_id"))


def test_index_lists_upcoming_talks_with_cancelled_ones_marked(login, researcher, frozen):
    make_talk(title="Next week's talk", starts_at=NOW + timedelta(days=7))
    make_talk(title="Called off", starts_at=NOW + timedelta(days=2), status=Talk.Status.CANCELLED)
    make_talk(title="Last week's talk", starts_at=NOW - timedelta(days=7))

    page = login(researcher).get(reverse("seminars:index")).content.decode()

    assert "Next week&#x27;s talk" in page
    assert "Called off" in page and "Cancelled" in page
    assert page.index("Called off") < page.index("Next week&#x27;s talk")
    assert "Last week" not in page


def test_index_shows_seats_left(login, researcher, frozen):
    make_talk(title="Small room", capacity=12, starts_at=NOW + timedelta(days=1))

    page = login(researcher).get(reverse("seminars:index")).content.decode()

    assert "12 seats left" in page


@pytest.mark.parametrize("view", ["seminars:index", "seminars:week", "seminars:month"])
def test_schedule_lists_query_count_does_not_grow_with_talks(
    login, researcher, lead, frozen, django_assert_max_num_queries, view
):
    client = login(researcher)
    series = make_series(host=lead)
    make_talk(room=make_room(), series=series, host=lead, starts_at=NOW + timedelta(hours=5))
    with django_assert_max_num_queries(20) as one:
        client.get(reverse(view))
    for n in range(29):
        make_talk(room=make_room(), series=series, host=lead, starts_at=NOW + timedelta(hours=6, minutes=n))

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse(view))

    assert response.content.decode().count('class="paper talk-item') == 30 or view == "seminars:month"


def test_week_view_shows_the_week_in_the_viewers_zone(login, make_person):
    # Monday 29 June 00:30 in Seoul is Sunday 28 June 08:30 in Los Angeles.
    make_talk(title="Early Monday", starts_at=datetime(2026, 6, 28, 15, 30, tzinfo=UTC))
    seoul = make_person("seoul", timezone="Asia/Seoul")
    la = make_person("la", timezone="America/Los_Angeles")

    in_seoul = login(seoul).get(reverse("seminars:week-of", args=[2026, 6, 29])).content.decode()
    in_la = login(la).get(reverse("seminars:week-of", args=[2026, 6, 29])).content.decode()
    la_before = login(la).get(reverse("seminars:week-of", args=[2026, 6, 22])).content.decode()

    assert "Early Monday" in in_seoul and "Mon 29 Jun, 00:30" in in_seoul
    assert "Early Monday" not in in_la
    assert "Early Monday" in la_before and "Sun 28 Jun, 08:30" in la_before


def test_week_view_links_to_the_previous_and_next_weeks(login, researcher):
    page = login(researcher).get(reverse("seminars:week-of", args=[2026, 7, 1])).content.decode()

    assert reverse("seminars:week-of", args=[2026, 6, 22]) in page
    assert reverse("seminars:week-of", args=[2026, 7, 6]) in page
    assert "Week of 29 Jun – 5 Jul 2026" in page  # noqa: RUF001


def test_week_view_with_htmx_returns_only_the_grid(login, researcher):
    response = login(researcher).get(
        reverse("seminars:week-of", args=[2026, 7, 1]), headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<section id="week-grid"')
    assert "<html" not in page
    assert "HX-Request" in response["Vary"]


def test_week_view_refuses_a_date_that_does_not_exist(login, researcher):
    assert login(researcher).get(reverse("seminars:week-of", args=[2026, 2, 30])).status_code == 404


def test_month_view_places_talks_on_their_local_day(login, make_person):
    make_talk(title="Month end", starts_at=datetime(2026, 6, 30, 16, 0, tzinfo=UTC))  # 1 July 01:00 Seoul
    seoul = make_person("seoul", timezone="Asia/Seoul")
    la = make_person("la", timezone="America/Los_Angeles")

    july_in_seoul = login(seoul).get(reverse("seminars:month-of", args=[2026, 7])).content.decode()
    june_in_la = login(la).get(reverse("seminars:month-of", args=[2026, 6])).content.decode()
    may_in_la = login(la).get(reverse("seminars:month-of", args=[2026, 5])).content.decode()

    assert re.search(
        r">1</a>\s*<p class=\"month-talk\"><a href=\"[^\"]+\">01:00 <span class=\"math\">Month end",
        july_in_seoul,
    )
    assert re.search(
        r">30</a>\s*<p class=\"month-talk\"><a href=\"[^\"]+\">09:00 <span class=\"math\">Month end",
        june_in_la,
    )
    assert "Month end" not in may_in_la
    assert reverse("seminars:month-of", args=[2026, 5]) in june_in_la
    assert reverse("seminars:month-of", args=[2026, 7]) in june_in_la


def test_month_view_shows_the_talks_of_the_neighbouring_days_in_its_grid(login, researcher):
    # June 2026's grid ends on Sunday 5 July.
    make_talk(title="Early July", starts_at=datetime(2026, 7, 3, 7, 0, tzinfo=UTC))
    make_talk(title="Too late", starts_at=datetime(2026, 7, 6, 7, 0, tzinfo=UTC))

    page = login(researcher).get(reverse("seminars:month-of", args=[2026, 6])).content.decode()

    assert "Early July" in page and "Too late" not in page


def test_month_view_with_htmx_returns_only_the_grid(login, researcher):
    response = login(researcher).get(
        reverse("seminars:month-of", args=[2026, 12]), headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<section id="month-grid"')
    assert "December 2026" in page and reverse("seminars:month-of", args=[2027, 1]) in page
    assert "<html" not in page


@pytest.mark.parametrize("month", [0, 13])
def test_month_view_refuses_a_month_that_does_not_exist(login, researcher, month):
    assert login(researcher).get(reverse("seminars:month-of", args=[2026, month])).status_code == 404


def test_talk_page_shows_talk_time_your_time_and_the_speakers_time(login, make_person):
    talk = make_talk(
        title="Across zones",
        starts_at=datetime(2026, 3, 12, 7, 0, tzinfo=UTC),
        timezone="Asia/Seoul",
        speaker_timezone="Europe/Berlin",
    )
    viewer = make_person("la", timezone="America/Los_Angeles")

    page = login(viewer).get(talk.get_absolute_url()).content.decode()

    shown = text(page)
    assert "Talk time Thursday 12 March 2026, 16:00–17:00 Asia/Seoul" in shown  # noqa: RUF001
    assert "Your time Thursday 12 March 2026, 00:00–01:00 America/Los_Angeles" in shown  # noqa: RUF001
    assert "Speaker's time Thursday 12 March 2026, 08:00–09:00 Europe/Berlin" in shown  # noqa: RUF001


def test_talk_page_shows_only_talk_time_when_the_viewer_is_in_the_same_zone(login, researcher):
    talk = make_talk(timezone="Asia/Seoul")

    page = login(researcher).get(talk.get_absolute_url()).content.decode()

    assert "Talk time" in page
    assert "Your time" not in page


def test_talk_page_keeps_a_cancelled_talk_visible_and_marked(login, researcher):
    talk = make_talk(title="Postponed forever", status=Talk.Status.CANCELLED)

    response = login(researcher).get(talk.get_absolute_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert "<del>Postponed forever</del>" in page
    assert "This talk is cancelled." in page


def test_talk_page_renders_the_abstract_as_markdown_with_math_and_no_script(login, researcher):
    talk = make_talk(abstract="We show $x^2$ is **nice**.\n\n<script>alert(1)</script>")

    page = login(researcher).get(talk.get_absolute_url()).content.decode()

    assert '<span class="math inline">\\(x^2\\)</span>' in page
    assert "<strong>nice</strong>" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_talk_page_lists_related_papers(login, researcher):
    paper = make_paper(title="Attention is still all you need")
    talk = make_talk()
    talk.related_papers.add(paper)

    page = login(researcher).get(talk.get_absolute_url()).content.decode()

    assert "Attention is still all you need" in page and paper.get_absolute_url() in page


def test_talk_page_of_a_missing_talk_is_404(login, researcher):
    assert login(researcher).get(reverse("seminars:talk", args=[999])).status_code == 404


def test_new_talk_is_planned_in_its_own_zone(login, lead):
    paper = make_paper()

    response = login(lead).post(
        reverse("seminars:new-talk"),
        talk_form(timezone="America/Los_Angeles", date="2026-03-09", start_time="09:00", end_time="10:30",
                  papers=f"arXiv:{paper.arxiv_id}v1", capacity="25"),
    )  # fmt: skip

    talk = Talk.objects.get()
    assert response.status_code == 302 and response["Location"] == talk.get_absolute_url()
    assert talk.starts_at == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)  # PDT began on 8 March
    assert talk.ends_at == datetime(2026, 3, 9, 17, 30, tzinfo=UTC)
    assert talk.timezone == "America/Los_Angeles"
    assert list(talk.related_papers.all()) == [paper]
    assert talk.capacity == 25 and talk.sequence == 0 and talk.status == "scheduled"


def test_new_talk_ending_after_midnight_ends_the_next_day(login, lead):
    login(lead).post(reverse("seminars:new-talk"), talk_form(start_time="23:00", end_time="00:30"))

    talk = Talk.objects.get()
    assert talk.duration == timedelta(minutes=90)


def test_new_talk_at_a_time_skipped_by_daylight_saving_is_refused(login, lead):
    response = login(lead).post(
        reverse("seminars:new-talk"),
        talk_form(timezone="America/Los_Angeles", date="2026-03-08", start_time="02:30", end_time="03:30"),
    )

    assert "does not exist in America/Los_Angeles" in response.content.decode()
    assert not Talk.objects.exists()


def test_new_talk_with_an_unknown_paper_or_zone_is_refused(login, lead):
    response = login(lead).post(
        reverse("seminars:new-talk"), talk_form(papers="2401.99999", timezone="Mars/Base")
    )

    page = response.content.decode()
    assert "Not in the portal yet" in page and "2401.99999" in page
    assert "is not a time zone name" in page
    assert not Talk.objects.exists()


def test_new_talk_in_a_booked_room_names_the_talk_in_the_way(login, lead):
    room = make_room(name="Hall A")
    make_talk(room=room, title="Reading group", starts_at=datetime(2026, 7, 2, 6, 30, tzinfo=UTC))

    response = login(lead).post(reverse("seminars:new-talk"), talk_form(room=room.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Hall A is booked at that time for “Reading group” (Thu 2 Jul 2026, 15:30–16:30)." in page  # noqa: RUF001
    assert Talk.objects.count() == 1


def test_new_talk_may_follow_another_in_the_same_room_or_overlap_a_cancelled_one(login, lead):
    room = make_room()
    make_talk(room=room, starts_at=datetime(2026, 7, 2, 6, 0, tzinfo=UTC))  # 15:00 to 16:00 in Seoul
    make_talk(room=room, starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC), status=Talk.Status.CANCELLED)

    response = login(lead).post(reverse("seminars:new-talk"), talk_form(room=room.pk))

    assert response.status_code == 302
    assert Talk.objects.filter(room=room, status="scheduled").count() == 2


def test_new_talk_capacity_cannot_exceed_the_room(login, lead):
    room = make_room(name="Small", seats=10)

    response = login(lead).post(reverse("seminars:new-talk"), talk_form(room=room.pk, capacity="11"))

    assert "Small seats 10." in response.content.decode()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the race is decided by PostgreSQL's constraint"
)
@pytest.mark.django_db(transaction=True)
def test_new_talk_losing_a_race_for_the_room_gets_the_same_form_error(make_person):
    # Another booking is written but not yet committed when the form checks the room: the
    # check sees nothing, the insert waits on the exclusion constraint, and fails once the
    # other transaction commits.
    lead = make_person("lead", role="lead")
    room = make_room(name="Hall B")
    other = connections.create_connection("default")
    other.set_autocommit(False)
    with other.cursor() as cursor:
        insert_talk_raw(
            cursor,
            title="Got there first",
            starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC),
            ends_at=datetime(2026, 7, 2, 8, 0, tzinfo=UTC),
            room_id=room.pk,
        )
    client = Client()
    client.force_login(lead)
    responses = []

    def post():
        try:
            responses.append(client.post(reverse("seminars:new-talk"), talk_form(room=room.pk)))
        finally:
            connection.close()  # this thread's own connection

    poster = threading.Thread(target=post)

    poster.start()
    clock.sleep(1.0)  # the poster is now blocked on the constraint
    other.commit()
    other.close()
    poster.join(timeout=30)

    page = responses[0].content.decode()
    assert responses[0].status_code == 200
    assert "Hall B is booked at that time for “Got there first”" in page
    assert list(Talk.objects.values_list("title", flat=True)) == ["Got there first"]


def test_edit_talk_time_bumps_the_sequence_and_announces_the_change(login, lead, frozen):
    room = make_room()
    talk = make_talk(room=room, host=lead, starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC))

    response = login(lead).post(
        reverse("seminars:edit-talk", args=[talk.pk]),
        talk_form(title=talk.title, room=room.pk, start_time="17:00", end_time="18:00", host=lead.pk),
    )

    talk.refresh_from_db()
    assert response.status_code == 302
    assert talk.starts_at == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)
    assert talk.sequence == 1
    assert change_notices(talk) == [(1, lead.pk)]


def test_edit_talk_room_bumps_the_sequence_and_announces_the_change(login, lead, frozen):
    first, second = make_room(), make_room()
    talk = make_talk(room=first, host=lead, starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC))

    login(lead).post(
        reverse("seminars:edit-talk", args=[talk.pk]),
        talk_form(title=talk.title, room=second.pk, host=lead.pk),
    )

    talk.refresh_from_db()
    assert talk.room == second and talk.sequence == 1
    assert change_notices(talk) == [(1, lead.pk)]


def test_edit_talk_title_only_keeps_the_sequence_and_announces_nothing(login, lead, frozen):
    talk = make_talk(host=lead, starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC))

    login(lead).post(
        reverse("seminars:edit-talk", args=[talk.pk]), talk_form(title="A better title", host=lead.pk)
    )

    talk.refresh_from_db()
    assert talk.title == "A better title" and talk.sequence == 0
    assert change_notices(talk) == []


def test_edit_talk_without_changes_writes_nothing(login, lead, frozen):
    talk = make_talk(host=lead, starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC))

    response = login(lead).post(
        reverse("seminars:edit-talk", args=[talk.pk]), talk_form(title=talk.title, host=lead.pk)
    )

    talk.refresh_from_db()
    assert response.status_code == 302
    assert talk.sequence == 0 and not Reminder.objects.exists()


def test_edit_talk_form_shows_the_local_time_in_the_talks_zone(login, make_person, lead):
    viewer = make_person("la", role="lead", timezone="America/Los_Angeles")
    talk = make_talk(starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC), timezone="Asia/Seoul")

    page = login(viewer).get(reverse("seminars:edit-talk", args=[talk.pk])).content.decode()

    assert 'value="2026-07-02"' in page and 'value="16:00"' in page and 'value="17:00"' in page


def test_edit_talk_into_a_booked_room_names_the_talk_in_the_way(login, lead):
    room = make_room(name="Hall A")
    make_talk(room=room, title="Reading group", starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC))
    talk = make_talk(starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC))

    response = login(lead).post(
        reverse("seminars:edit-talk", args=[talk.pk]), talk_form(title=talk.title, room=room.pk)
    )

    talk.refresh_from_db()
    assert "booked at that time for “Reading group”" in response.content.decode()
    assert talk.room is None and talk.sequence == 0


def test_host_edits_their_own_talk_but_cannot_hand_it_over(login, researcher, other_researcher):
    talk = make_talk(host=researcher, starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC))

    response = login(researcher).post(
        reverse("seminars:edit-talk", args=[talk.pk]), talk_form(title="Mine", host=other_researcher.pk)
    )

    talk.refresh_from_db()
    assert response.status_code == 302
    assert talk.title == "Mine" and talk.host == researcher


def test_cancel_talk_asks_first_then_cancels_once(login, lead):
    talk = make_talk(host=lead)
    client = login(lead)

    confirm = client.get(reverse("seminars:cancel-talk", args=[talk.pk]))
    first = client.post(reverse("seminars:cancel-talk", args=[talk.pk]), follow=True)
    second = client.post(reverse("seminars:cancel-talk", args=[talk.pk]), follow=True)

    talk.refresh_from_db()
    assert "Cancel the talk?" in confirm.content.decode()
    assert talk.status == "cancelled" and talk.cancelled_at is not None and talk.sequence == 1
    assert "The talk is cancelled" in first.content.decode()
    assert "already cancelled" in second.content.decode()
    assert change_notices(talk) == [(1, lead.pk)]


def test_cancelled_talk_frees_its_room(login, lead):
    room = make_room()
    talk = make_talk(room=room, starts_at=datetime(2026, 7, 2, 7, 0, tzinfo=UTC))
    client = login(lead)
    client.post(reverse("seminars:cancel-talk", args=[talk.pk]))

    response = client.post(reverse("seminars:new-talk"), talk_form(room=room.pk))

    assert response.status_code == 302


def test_new_series_schedules_its_meetings(login, lead, frozen):
    room = make_room(name="Hall A")

    response = login(lead).post(
        reverse("seminars:new-series"),
        {"name": "Weekly Techtalk", "slug": "", "kind": "techtalk", "description": "", "weekday": "3",
         "start_time": "16:00", "duration_minutes": "90", "timezone": "Asia/Seoul", "starts_on": "2026-06-24",
         "ends_on": "", "room": room.pk, "online_link": "", "capacity": "30", "host": lead.pk,
         "generate_until": "2026-07-31"},
        follow=True,
    )  # fmt: skip

    series = Series.objects.get()
    talks = list(series.talks.all())
    assert series.slug == "weekly-techtalk"
    assert [t.local_start.strftime("%a %m-%d %H:%M") for t in talks] == [
        "Thu 06-25 16:00", "Thu 07-02 16:00", "Thu 07-09 16:00", "Thu 07-16 16:00", "Thu 07-23 16:00",
        "Thu 07-30 16:00",
    ]  # fmt: skip
    assert {(t.kind, t.room, t.capacity, t.host, t.duration) for t in talks} == {
        ("techtalk", room, 30, lead, timedelta(minutes=90))
    }
    assert response.redirect_chain[-1][0] == series.get_absolute_url()
    assert "6 talks scheduled." in response.content.decode()


def test_generate_series_again_adds_only_new_meetings_and_reports_clashes(login, lead, frozen):
    room = make_room(name="Hall A")
    series = make_series(room=room, starts_on=date(2026, 6, 24))
    client = login(lead)
    client.post(reverse("seminars:generate-series", args=[series.slug]), {"until": "2026-07-10"})
    make_talk(room=room, title="Defence", starts_at=datetime(2026, 7, 16, 7, 0, tzinfo=UTC))

    response = client.post(
        reverse("seminars:generate-series", args=[series.slug]), {"until": "2026-07-24"}, follow=True
    )

    page = response.content.decode()
    assert series.talks.count() == 4  # 25 Jun, 2, 9 and 23 Jul; the 16th is taken
    assert "1 talk scheduled." in page
    assert "Not scheduled on Thu 16 Jul 2026: Hall A is booked at that time for “Defence”" in page
    assert "2026-07-16" not in page


def test_generate_series_reports_a_clash_in_the_korean_date_order(login, lead, frozen):
    room = make_room(name="Hall A")
    series = make_series(room=room, starts_on=date(2026, 6, 24))
    make_talk(room=room, title="Defence", starts_at=datetime(2026, 7, 16, 7, 0, tzinfo=UTC))
    lead.language = "ko"
    lead.save()

    response = login(lead).post(
        reverse("seminars:generate-series", args=[series.slug]), {"until": "2026-07-24"}, follow=True
    )

    shown = text(response.content.decode())
    assert "2026년 7월 16일 (목)에는 일정을 잡지 못했습니다: Hall A" in shown
    assert "2026-07-16" not in shown


def test_generate_series_refuses_a_bad_day(login, lead):
    series = make_series()

    response = login(lead).post(
        reverse("seminars:generate-series", args=[series.slug]), {"until": "soon"}, follow=True
    )

    assert "Enter a valid date." in response.content.decode()
    assert not series.talks.exists()


def test_series_page_lists_upcoming_and_past_talks(login, researcher, frozen):
    series = make_series(name="Vision seminar", weekday=Series.Weekday.THURSDAY, start_time=time(16, 0))
    make_talk(series=series, title="Coming up", starts_at=NOW + timedelta(days=1))
    make_talk(series=series, title="Done already", starts_at=NOW - timedelta(days=6))

    page = login(researcher).get(series.get_absolute_url()).content.decode()

    assert "Vision seminar" in page and "Every Thursday at 16:00 (Asia/Seoul)" in page
    assert page.index("Coming up") < page.index("Past talks") < page.index("Done already")
    assert "Schedule the meetings" not in page


def test_series_list_and_rooms_pages(login, researcher, frozen):
    make_series(name="Vision seminar")
    room = make_room(name="Hall A", seats=80, location="Building 2, floor 3")
    make_talk(room=room, starts_at=NOW + timedelta(days=1))
    make_talk(room=room, starts_at=NOW - timedelta(days=1))
    client = login(researcher)

    series_page = client.get(reverse("seminars:series-list")).content.decode()
    rooms_page = client.get(reverse("seminars:rooms")).content.decode()

    assert "Vision seminar" in series_page
    assert "Hall A" in rooms_page and "Building 2, floor 3" in rooms_page
    assert "<td>80</td>" in rooms_page and "<td>1</td>" in rooms_page


@pytest.mark.parametrize(
    "path", ["/seminars/week/1/1/1/", "/seminars/week/9999/12/31/", "/seminars/week/2026/2/30/"]
)
def test_week_view_of_a_date_out_of_range_is_404(login, researcher, path):
    assert login(researcher).get(path).status_code == 404


def test_an_edit_saved_after_a_cancellation_keeps_the_talk_cancelled(lead):
    from seminars.services import cancel_talk, update_talk

    talk = make_talk(host=lead)
    editing = Talk.objects.get(pk=talk.pk)  # the form was opened before the cancellation
    old = editing.schedule_snapshot()
    cancel_talk(Talk.objects.get(pk=talk.pk))
    editing.title = "A better title"

    update_talk(editing, old=old)

    talk.refresh_from_db()
    assert talk.status == Talk.Status.CANCELLED
    assert talk.title == "A better title"
