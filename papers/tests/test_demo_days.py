"""The demo is live whatever day it is seeded: its papers are announced up to today's listing (the
latest weekday in the lab's zone), and seeding again the next day moves them on without adding
anything twice."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.management import call_command

from lab_portal.models import User
from papers.demo import latest_listing_day, live_rows, redate
from papers.models import Bookmark, Paper, Recommendation
from papers.services import record_from_corpus
from papers.tests.factories import make_paper
from reviews.models import Draft
from seminars.models import Talk

# Seoul is nine hours ahead of UTC.
TUESDAY_MORNING_SEOUL = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
WEDNESDAY_MORNING_SEOUL = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "listing"),
    [
        (datetime(2026, 12, 1, 1, 0, tzinfo=UTC), date(2026, 12, 1)),  # Tuesday 10:00 in Seoul
        (datetime(2026, 12, 6, 23, 30, tzinfo=UTC), date(2026, 12, 7)),  # Monday 08:30 in Seoul
        (datetime(2026, 12, 5, 12, 0, tzinfo=UTC), date(2026, 12, 4)),  # Saturday: Friday's
        (datetime(2026, 12, 6, 12, 0, tzinfo=UTC), date(2026, 12, 4)),  # Sunday: Friday's
    ],
)
def test_latest_listing_day_is_the_latest_weekday_in_the_labs_zone(now, listing, settings):
    settings.TIME_ZONE = "Asia/Seoul"

    assert latest_listing_day(now) == listing


def test_live_rows_keep_weekdays_and_their_order(settings):
    settings.TIME_ZONE = "Asia/Seoul"
    rows = [
        {"id": "a", "announced": ["2026-06-29"]},  # Monday
        {"id": "b", "announced": ["2026-06-30"]},  # Tuesday
        {"id": "c", "announced": ["2026-06-26", "2026-07-01"]},  # a Friday, replaced the Wednesday after
    ]

    moved = live_rows(rows, now=datetime(2026, 12, 6, 23, 30, tzinfo=UTC))  # Monday 7 December

    assert [row["announced"] for row in moved] == [
        ["2026-12-03"],  # Thursday
        ["2026-12-04"],  # Friday
        ["2026-12-02", "2026-12-07"],  # three weekdays apart still: the weekend does not count
    ]
    assert rows[0]["announced"] == ["2026-06-29"]  # the sample itself is left as it is


def test_redate_leaves_a_paper_a_real_fetch_has_touched(db, settings):
    settings.TIME_ZONE = "Asia/Seoul"
    row = {"id": "2606.28122", "title": "T", "authors": ["A"], "abstract": "X", "categories": ["cs.LG"]}
    # Stored by a fetch: arXiv's own timestamp, not the corpus's 20:00 announcement.
    fetched = make_paper(arxiv_id="2606.28122", published=datetime(2026, 6, 26, 17, 2, 11, tzinfo=UTC))

    moved = redate([record_from_corpus({**row, "announced": ["2026-12-01"]})])

    assert moved == 0
    assert Paper.objects.get(pk=fetched.pk).first_announced == fetched.first_announced


@pytest.mark.django_db(transaction=True)
def test_seed_demo_is_live_on_the_day_and_again_the_next_day(client, settings):
    settings.DEBUG, settings.TIME_ZONE = True, "Asia/Seoul"

    with time_machine.travel(TUESDAY_MORNING_SEOUL, tick=False):
        call_command("seed_demo", verbosity=0)
        first = _what_minji_sees(client)
        counts = (
            Paper.objects.count(),
            Bookmark.objects.count(),
            Talk.objects.count(),
            Draft.objects.count(),
        )
    with time_machine.travel(WEDNESDAY_MORNING_SEOUL, tick=False):
        call_command("seed_demo", verbosity=0)
        second = _what_minji_sees(client)

    assert first["day"] == date(2026, 12, 1)
    assert second["day"] == date(2026, 12, 2)
    for seen in (first, second):
        assert seen["for_me"], "Papers for me today is empty"
        assert all(
            paper.first_announced == seen["day"] or paper.last_announced == seen["day"]
            for paper in seen["for_me"]
        )
        assert seen["watch_preview"] > 0
        assert seen["for_you"]
    # Moved, not added: the same papers, libraries, talks and drafts, and no ranking of a stale day.
    assert (
        Paper.objects.count(),
        Bookmark.objects.count(),
        Talk.objects.count(),
        Draft.objects.count(),
    ) == counts
    assert counts[0] == 300
    assert set(Recommendation.objects.values_list("day", flat=True)) == {date(2026, 12, 2)}
    days = sorted(set(Paper.objects.values_list("first_announced", flat=True)))
    assert days[-3:] == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
    assert all(day.weekday() < 5 for day in days)
    for paper in Paper.objects.all():
        assert paper.published == paper.updated
        [version] = paper.versions
        assert datetime.fromisoformat(version["updated"]) == paper.updated


def _what_minji_sees(client) -> dict:
    client.force_login(User.objects.get(username="minji"))
    dashboard = client.get("/")
    preview = client.get(
        "/papers/watch/preview/",
        {"name": "Diffusion", "query": "diffusion", "in_digest": "on", "active": "on"},
        headers={"HX-Request": "true"},
    )
    return {
        "day": dashboard.context["day"],
        "for_me": list(dashboard.context["papers"]),
        "for_you": list(dashboard.context["for_you"]),
        "watch_preview": preview.context["preview"].count,
    }
