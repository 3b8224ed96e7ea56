"""The dashboard's seminar panels: this week's talks in the viewer's zone, and open action items."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from seminars.models import ActionItem, Registration, Talk
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.django_db

# Wednesday 4 March 2026, noon in Seoul; Los Angeles moves to summer time on Sunday the 8th.
NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def panel(html: str, heading: str) -> str:
    """The list under one of the talk panel's headings."""
    start = html.index(f">{heading}</h3>")
    return html[start : html.index("</ul>", start)]


def test_week_panel_sorts_my_talks_from_the_labs(login, researcher, other_researcher, make_person):
    hosting = make_talk(title="I host this", host=researcher, starts_at=at(5, 7))
    speaking = make_talk(title="I give this", speaker_user=researcher, speaker_name="", starts_at=at(6, 5))
    seated = make_talk(title="I have a seat", starts_at=at(3, 6))
    waiting = make_talk(title="I am waiting", starts_at=at(4, 9), capacity=1)
    left = make_talk(title="I left this one", starts_at=at(5, 3))
    full = make_talk(title="Full lab talk", starts_at=at(5, 2), capacity=1)
    cancelled = make_talk(title="Called off", starts_at=at(6, 8), status=Talk.Status.CANCELLED)
    make_talk(title="Next week", starts_at=at(10, 7))
    make_talk(title="Last week", starts_at=at(27, 7, month=2))
    Registration.objects.create(talk=seated, user=researcher, status="confirmed")
    Registration.objects.create(talk=waiting, user=other_researcher, status="confirmed")
    Registration.objects.create(talk=waiting, user=researcher, status="waitlisted")
    Registration.objects.create(talk=left, user=researcher, status="cancelled")
    Registration.objects.create(talk=full, user=other_researcher, status="confirmed")

    html = login(researcher).get("/").text

    mine, lab = panel(html, "Mine"), panel(html, "In the lab")
    for talk in (hosting, speaking, seated, waiting):
        assert talk.title in mine and talk.title not in lab
    for talk in (left, full, cancelled):
        assert talk.title in lab and talk.title not in mine
    assert "Next week" not in html and "Last week" not in html
    assert "hosting" in mine and "speaking" in mine
    assert "seat confirmed" in mine and "on the waiting list" in mine
    assert "<del>Called off</del>" in lab and "cancelled" in lab
    assert "full" in lab
    assert "over" in mine  # the seat on Tuesday's talk
    assert "No talks are scheduled this week." not in html


def test_week_panel_shows_times_and_the_week_in_the_viewers_zone(login, researcher):
    make_talk(title="Thursday seminar", starts_at=at(5, 7))  # Thu 16:00 Seoul, Wed 23:00 in LA
    make_talk(title="Monday morning in Seoul", starts_at=at(2, 1))  # still Sunday 1 March in LA
    make_talk(title="Sunday in LA", starts_at=at(8, 20))  # already Monday 9 March in Seoul

    in_seoul = login(researcher).get("/").text
    researcher.timezone = "America/Los_Angeles"
    researcher.save()
    in_la = login(researcher).get("/").text

    assert "Thu 5 Mar, 16:00" in in_seoul
    assert "Monday morning in Seoul" in in_seoul and "Sunday in LA" not in in_seoul
    assert "Wed 4 Mar, 23:00" in in_la
    assert "Sun 8 Mar, 13:00" in in_la  # after the change to summer time
    assert "Sunday in LA" in in_la and "Monday morning in Seoul" not in in_la


def test_week_panel_is_honest_when_the_week_is_empty(login, researcher):
    make_talk(title="Next week", starts_at=at(10, 7))

    html = login(researcher).get("/").text

    assert "No talks are scheduled this week." in html
    assert "You have no open action items from seminars." in html


def test_action_items_stay_on_the_owners_dashboard_until_done(login, researcher, other_researcher):
    talk = make_talk(title="Sparse attention results", starts_at=at(2, 7))
    late = ActionItem.objects.create(
        talk=talk, owner=researcher, text="Send the draft", due_date=date(2026, 3, 1)
    )
    ActionItem.objects.create(talk=talk, owner=researcher, text="Rerun ablations", due_date=date(2026, 3, 20))
    ActionItem.objects.create(talk=talk, owner=researcher, text="Already finished", done_at=NOW)
    ActionItem.objects.create(talk=talk, owner=other_researcher, text="Taeho's own task")
    client = login(researcher)

    before = client.get("/").text
    done = client.post(
        f"/seminars/action-items/{late.pk}/done/",
        {"done": "1", "show_talk": "1"},
        headers={"HX-Request": "true"},
    )
    after = client.get("/").text

    assert "Send the draft" in before and "Rerun ablations" in before
    assert "Already finished" not in before and "Taeho's own task" not in before
    row = before[before.index(f'id="action-item-{late.pk}"') :]
    assert row.index("overdue") < row.index("</li>")
    assert before.count(">overdue<") == 1
    assert 'href="/seminars/talks/' in row[: row.index("</li>")]
    assert "<html" not in done.text
    assert "Sparse attention results" in done.text  # the dashboard's row keeps naming its talk
    assert "Send the draft" not in after and "Rerun ablations" in after


def test_dashboard_query_count_does_not_grow_with_talks_or_items(
    login, researcher, other_researcher, django_assert_num_queries, django_assert_max_num_queries
):
    first = make_talk(host=researcher, starts_at=at(5, 7), capacity=10)
    ActionItem.objects.create(talk=first, owner=researcher, text="One thing", due_date=date(2026, 3, 1))
    client = login(researcher)
    client.get("/")  # warm the session
    with django_assert_max_num_queries(50) as small:
        client.get("/")
    for i in range(30):
        talk = make_talk(
            starts_at=at(2 + i % 6, i % 12),
            speaker_user=other_researcher if i % 3 else researcher,
            speaker_name="",
            capacity=2,
            status=Talk.Status.CANCELLED if i % 7 == 0 else Talk.Status.SCHEDULED,
        )
        Registration.objects.create(talk=talk, user=other_researcher, status="confirmed")
        if i % 2:
            Registration.objects.create(talk=talk, user=researcher, status="waitlisted")
        ActionItem.objects.create(
            talk=talk, owner=researcher, text=f"Task {i}", due_date=date(2026, 3, 1 + i % 20)
        )

    with django_assert_num_queries(len(small.captured_queries)):
        html = client.get("/").text

    assert html.count('class="action-item"') == 31


def test_the_host_sees_what_others_owe_from_their_talks_once_it_is_overdue(
    login, researcher, other_researcher, make_person
):
    hosted = make_talk(title="Minji hosted this", host=researcher, starts_at=at(2, 7))
    elsewhere = make_talk(title="Someone else hosted", host=make_person("sora"), starts_at=at(2, 8))
    late = ActionItem.objects.create(
        talk=hosted, owner=other_researcher, text="Send the <b>numbers</b>", due_date=date(2026, 3, 2)
    )
    ActionItem.objects.create(
        talk=hosted, owner=other_researcher, text="Not due yet", due_date=date(2026, 3, 9)
    )
    ActionItem.objects.create(
        talk=hosted, owner=other_researcher, text="Done late", due_date=date(2026, 3, 1), done_at=NOW
    )
    ActionItem.objects.create(talk=hosted, owner=other_researcher, text="No due day")
    ActionItem.objects.create(
        talk=elsewhere, owner=other_researcher, text="Not my talk", due_date=date(2026, 3, 1)
    )

    host_view = login(researcher).get("/").text
    owner_view = login(other_researcher).get("/").text
    talk_page = login(researcher).get(hosted.get_absolute_url()).text

    hosted_list = panel(host_view, "Overdue from talks I hosted")
    assert "Send the &lt;b&gt;numbers&lt;/b&gt;" in hosted_list and "Minji hosted this" in hosted_list
    assert ">overdue<" in hosted_list
    for absent in ("Not due yet", "Done late", "No due day", "Not my talk"):
        assert absent not in hosted_list
    assert "Overdue from talks I hosted" not in owner_view  # the owner has them in their own list
    assert "Send the &lt;b&gt;numbers&lt;/b&gt;" in owner_view
    # The talk's own page marks it overdue for its host as well.
    row = talk_page[talk_page.index(f'id="action-item-{late.pk}"') :]
    assert ">overdue<" in row[: row.index("</li>")]
