"""Reviews a person owes (reviews page, full list, dashboard panel), my drafts, the lead's board."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reviews.models import Draft, Review, ReviewAssignment, ReviewRound

from .factories import make_deadline, make_draft

# 03:00 UTC on 10 July is still the evening of 9 July in Los Angeles, but noon on 10 July in Seoul.
NOW = datetime(2026, 7, 10, 3, 0, tzinfo=UTC)


def review_url(draft) -> str:
    return reverse("reviews:review", args=[draft.pk])


def owe(draft, reviewer, *, due: date, **fields) -> ReviewAssignment:
    return ReviewAssignment.objects.create(draft=draft, reviewer=reviewer, due=due, **fields)


def write_review(assignment, *, submitted_at=None, **fields) -> Review:
    status = Review.Status.SUBMITTED if submitted_at else Review.Status.DRAFT
    return Review.objects.create(
        assignment=assignment,
        version=assignment.draft.latest_version,
        status=status,
        submitted_at=submitted_at,
        **fields,
    )


def section(html: str, heading: str) -> str:
    """The text from a heading to the next heading."""
    start = html.index(f">{heading}</h")
    following = html.find("<h2", start + 1)
    return html[start : following if following != -1 else len(html)]


@pytest.fixture
def far_reviewer(make_person):
    return make_person("dana", display_name="Dana Cho", timezone="America/Los_Angeles")


@pytest.fixture
def owed_three(researcher, far_reviewer, time_machine):
    time_machine.move_to(NOW, tick=False)
    deadline = make_deadline()
    later = make_draft(researcher, deadline=deadline, title="Due later")
    tonight = make_draft(researcher, deadline=deadline, title="Due tonight")
    late = make_draft(researcher, deadline=deadline, title="Long overdue")
    owe(later, far_reviewer, due=date(2026, 7, 20))
    owe(tonight, far_reviewer, due=date(2026, 7, 9))
    owe(late, far_reviewer, due=date(2026, 7, 6))
    return {"later": later, "tonight": tonight, "late": late}


def test_owed_list_is_soonest_first_with_overdue_counted_in_the_reviewers_zone(
    login, far_reviewer, owed_three
):
    html = login(far_reviewer).get(reverse("reviews:owed")).text

    owed = section(html, "Reviews I owe")
    titles = re.findall(r'<a class="math" href="[^"]+">([^<]+)</a>', owed)
    assert titles == ["Long overdue", "Due tonight", "Due later"]
    # In Los Angeles it is 9 July: 6 July was three days ago and 9 July has not ended yet.
    assert "overdue by 3 days" in owed
    assert owed.count('class="overdue"') == 1
    assert "end of the day in America/Los_Angeles" in owed
    assert f'href="{review_url(owed_three["late"])}"' in owed


def test_a_review_due_today_turns_overdue_at_midnight_in_the_reviewers_zone(
    login, far_reviewer, owed_three, time_machine
):
    time_machine.move_to(datetime(2026, 7, 10, 7, 0, tzinfo=UTC), tick=False)  # midnight in LA

    owed = section(login(far_reviewer).get(reverse("reviews:owed")).text, "Reviews I owe")

    assert owed.count('class="overdue"') == 2
    assert "overdue by 1 day<" in owed
    assert "overdue by 4 days" in owed


def test_a_started_review_shows_in_progress_with_when_it_was_last_saved(login, far_reviewer, owed_three):
    assignment = ReviewAssignment.objects.get(draft=owed_three["later"])
    write_review(assignment, updated_at=datetime(2026, 7, 8, 1, 30, tzinfo=UTC))

    owed = section(login(far_reviewer).get(reverse("reviews:owed")).text, "Reviews I owe")

    row = owed[owed.index("Due later") :]
    assert "in progress" in row
    assert "last saved 7 Jul 18:30" in row  # shown in the reviewer's zone
    assert owed.count("not started") == 2


def test_a_submitted_review_leaves_the_owed_list_and_is_listed_below(login, far_reviewer, owed_three):
    on_time = ReviewAssignment.objects.get(draft=owed_three["later"])
    late = ReviewAssignment.objects.get(draft=owed_three["late"])
    write_review(on_time, submitted_at=datetime(2026, 7, 9, 16, 0, tzinfo=UTC))
    write_review(late, submitted_at=datetime(2026, 7, 9, 17, 0, tzinfo=UTC))

    html = login(far_reviewer).get(reverse("reviews:owed")).text

    owed, submitted = section(html, "Reviews I owe"), section(html, "Submitted lately")
    assert "Due later" not in owed and "Long overdue" not in owed
    assert "Due tonight" in owed
    assert submitted.index("Long overdue") < submitted.index("Due later")  # newest first
    late_row = submitted[submitted.index("Long overdue") : submitted.index("Due later")]
    on_time_row = submitted[submitted.index("Due later") :]
    assert "submitted on 9 Jul 2026 10:00, <span" in late_row and ">late<" in late_row
    assert "submitted on 9 Jul 2026 09:00" in on_time_row and ">late<" not in on_time_row


def test_the_reviews_page_lists_owed_reviews_and_hides_anonymous_authors(
    login, researcher, reviewer, make_person
):
    coauthor = make_person("yuna", display_name="Yuna Seo")
    make_draft(researcher, coauthors=[coauthor], reviewers=[reviewer], title="Open draft")
    make_draft(researcher, reviewers=[reviewer], title="Blind draft", anonymous=True)

    owed = section(login(reviewer).get(reverse("reviews:index")).text, "Reviews I owe")

    open_row = owed[owed.index("Open draft") : owed.index("Blind draft")]
    blind_row = owed[owed.index("Blind draft") :]
    assert "Minji Kim, Yuna Seo" in open_row
    assert "Minji Kim" not in blind_row
    assert "Authors hidden" in blind_row


def test_my_drafts_show_status_and_reviews_submitted_of_assigned(login, researcher, make_person):
    people = [make_person(f"r{n}") for n in range(3)]
    draft = make_draft(researcher, reviewers=people, title="Counted draft", status=Draft.Status.IN_REVIEW)
    make_draft(researcher, title="Lonely draft")
    write_review(draft.assignments.first(), submitted_at=datetime.now(UTC))
    write_review(draft.assignments.last())  # started, not submitted

    mine = section(login(researcher).get(reverse("reviews:index")).text, "My drafts")

    assert "1 of 3 submitted" in mine
    assert "In review" in mine
    assert "no reviewers yet" in mine[mine.index("Lonely draft") :]


def test_owed_pages_read_a_fixed_number_of_queries(
    login, researcher, reviewer, django_assert_max_num_queries
):
    deadline = make_deadline()
    make_draft(researcher, deadline=deadline, reviewers=[reviewer])
    sent = make_draft(researcher, deadline=deadline, reviewers=[reviewer])
    write_review(sent.assignments.get(), submitted_at=datetime.now(UTC))
    client = login(reviewer)
    client.get(reverse("reviews:owed"))
    counts = {}
    for name in ["reviews:owed", "reviews:index", "home"]:
        with CaptureQueriesContext(connection) as one:
            client.get(reverse(name))
        counts[name] = len(one.captured_queries)
    for number in range(12):
        draft = make_draft(researcher, deadline=deadline, reviewers=[reviewer], anonymous=number % 2)
        draft.assignments.update(due=date(2026, 1, 1) if number < 4 else date(2027, 1, 1))
        if number % 3 == 1:
            write_review(draft.assignments.get())
        elif number % 3 == 2:
            write_review(draft.assignments.get(), submitted_at=datetime.now(UTC))

    pages = {}
    for name, count in counts.items():
        with django_assert_max_num_queries(count):
            pages[name] = client.get(reverse(name)).text

    owed = section(pages["reviews:owed"], "Reviews I owe")
    assert owed.count("<tr") == 1 + 9  # the header, then every review not submitted
    assert owed.count('class="overdue"') == 3
    assert section(pages["reviews:owed"], "Submitted lately").count("<tr") == 1 + 5
    assert section(pages["home"], "Reviews I owe").count("<li") == 5


def test_dashboard_panel_shows_the_next_owed_reviews(login, researcher, reviewer):
    deadline = make_deadline()
    for number in range(7):
        draft = make_draft(researcher, deadline=deadline, reviewers=[reviewer], title=f"Paper {number}")
        draft.assignments.update(due=date(2026, 12, 1) + timedelta(days=number))
    done = ReviewAssignment.objects.get(draft__title="Paper 0")
    write_review(done, submitted_at=datetime.now(UTC))

    panel = section(login(reviewer).get("/").text, "Reviews I owe")

    assert "You owe no reviews." not in panel
    assert re.findall(r">(Paper \d)</a>", panel) == ["Paper 1", "Paper 2", "Paper 3", "Paper 4", "Paper 5"]
    assert "and 1 more" in panel
    assert f'href="{review_url(done.draft)}"' not in panel


def test_dashboard_panel_says_so_when_nothing_is_owed(login, researcher, reviewer):
    draft = make_draft(researcher, reviewers=[reviewer], title="Already reviewed")
    write_review(draft.assignments.get(), submitted_at=datetime.now(UTC))

    panels = [section(login(person).get("/").text, "Reviews I owe") for person in (reviewer, researcher)]

    for panel in panels:
        assert "You owe no reviews." in panel
        assert "Already reviewed" not in panel


def test_dashboard_panel_highlights_an_overdue_review(login, researcher, reviewer):
    draft = make_draft(researcher, reviewers=[reviewer], title="Forgotten draft")
    draft.assignments.update(due=datetime.now(UTC).date() - timedelta(days=5))

    panel = section(login(reviewer).get("/").text, "Reviews I owe")

    assert '<li class="overdue">' in panel
    assert "Forgotten draft" in panel
    assert re.search(r"overdue by [56] days", panel)  # by the reviewer's calendar in Seoul


# ---- the lead's board --------------------------------------------------------------------------

BOARD_NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
ASKED = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def board_round(lead, researcher, make_person, time_machine):
    """Two drafts; this round's reviews in every state, and one asked for by hand."""
    time_machine.move_to(BOARD_NOW, tick=False)
    deadline = make_deadline()
    first = make_draft(researcher, deadline=deadline, title="First draft", status=Draft.Status.IN_REVIEW)
    second = make_draft(researcher, deadline=deadline, title="Second draft", status=Draft.Status.REVIEWED)
    round = ReviewRound.objects.create(
        name="Summer round", due=date(2026, 7, 15), status=ReviewRound.Status.PUBLISHED, opened_by=lead
    )
    round.drafts.add(first, second)
    people = {
        name: make_person(name.lower(), display_name=name) for name in ["Ana", "Bo", "Cy", "Di", "Ed", "Fu"]
    }

    def ask(draft, name, *, due=date(2026, 7, 15), in_round=True):
        return owe(draft, people[name], due=due, round=round if in_round else None, created_at=ASKED)

    # Due at the end of 15 July in Seoul: 15:00 UTC.
    write_review(ask(first, "Ana"), submitted_at=ASKED + timedelta(days=2, hours=5, minutes=20))
    write_review(ask(first, "Bo"), submitted_at=datetime(2026, 7, 17, 0, 0, tzinfo=UTC))
    ask(first, "Cy")
    write_review(ask(second, "Di", due=date(2026, 7, 25)))
    ask(second, "Ed", due=date(2026, 7, 25))
    write_review(ask(second, "Fu", in_round=False), submitted_at=ASKED + timedelta(days=1))
    return round


def board_row(html: str, name: str) -> tuple[str, str]:
    match = re.search(rf'<tr class="state-(\w+)">\s*<td>{name}(.*?)</tr>', html, re.S)
    assert match, name
    return match[1], match[2]


def test_board_shows_each_reviewers_state_and_turnaround(login, lead, board_round):
    html = login(lead).get(reverse("reviews:round-board", args=[board_round.pk])).text

    states = {name: board_row(html, name)[0] for name in ["Ana", "Bo", "Cy", "Di", "Ed", "Fu"]}
    assert states == {
        "Ana": "on_time",
        "Bo": "late",
        "Cy": "overdue",
        "Di": "in_progress",
        "Ed": "not_started",
        "Fu": "on_time",
    }
    assert "2 d 5 h" in board_row(html, "Ana")[1]
    assert "16 d 0 h" in board_row(html, "Bo")[1]
    assert ">submitted late<" in board_row(html, "Bo")[1]
    assert "assigned by hand" in board_row(html, "Fu")[1]
    assert "assigned by hand" not in board_row(html, "Ana")[1]
    assert "In review" in html and "Reviewed" in html


def test_board_totals_count_this_rounds_reviews(login, lead, board_round):
    html = login(lead).get(reverse("reviews:round-board", args=[board_round.pk])).text

    totals = html[html.index('class="facts board-totals"') : html.index("</dl>")]
    assert "<dd>2 of 5</dd>" in totals
    assert '<span class="label warn">1</span>' in totals
    # The median of 2 d 5 h and 16 d 0 h; the review asked for by hand (1 d) is not counted.
    assert "<dd>9 d 2 h</dd>" in totals


def test_round_page_links_its_board(login, lead, board_round):
    html = login(lead).get(reverse("reviews:round", args=[board_round.pk])).text

    assert f'href="{reverse("reviews:round-board", args=[board_round.pk])}"' in html


def test_board_is_for_leads_only(client, login, lead, researcher, reviewer, board_round):
    url = reverse("reviews:round-board", args=[board_round.pk])

    anonymous = client.get(url)
    answers = {
        "researcher": login(researcher).get(url).status_code,
        "reviewer": login(reviewer).get(url).status_code,
        "lead": login(lead).get(url).status_code,
        "lead, missing round": login(lead).get(reverse("reviews:round-board", args=[99999])).status_code,
    }

    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert answers == {"researcher": 403, "reviewer": 403, "lead": 200, "lead, missing round": 404}


def test_board_reads_a_fixed_number_of_queries(
    login, lead, researcher, make_person, django_assert_max_num_queries
):
    round = ReviewRound.objects.create(name="R", due=date(2026, 12, 1), opened_by=lead)
    deadline = make_deadline()
    people = [make_person(f"p{n}") for n in range(3)]
    round.drafts.add(make_draft(researcher, deadline=deadline, reviewers=people[:1]))
    client = login(lead)
    url = reverse("reviews:round-board", args=[round.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(5):
        draft = make_draft(researcher, deadline=deadline, reviewers=people)
        round.drafts.add(draft)
        draft.assignments.update(round=round)
        write_review(draft.assignments.first(), submitted_at=datetime.now(UTC))
        write_review(draft.assignments.last())

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)

    assert response.text.count('<tr class="state-') == 16
