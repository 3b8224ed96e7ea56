"""Dates and times read in the reader's language: on pages, in e-mails and in chat messages.

The formats are named (lab_portal/formats/); a Korean reader gets year, month, day and weekday
in that order, an English one day, month, year.
"""

import importlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format, time_format

from lab_portal.formats import NAMES
from lab_portal.models import Channel
from papers.tests.factories import make_paper
from seminars.registration import sign_up
from seminars.tasks import send_reminders
from seminars.tests.factories import make_room, make_talk

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
# Thursday 12 March 2026, 16:00 in Seoul.
STARTS = datetime(2026, 3, 12, 16, 0, tzinfo=SEOUL)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_formats_every_language_names_every_format(language):
    module = importlib.import_module(f"lab_portal.formats.{language}.formats")

    missing = [name for name in NAMES if not isinstance(getattr(module, name, None), str)]

    assert missing == []


def test_formats_korean_puts_year_month_day_then_weekday():
    day = date(2026, 12, 1)

    with translation.override("ko"):
        korean = [date_format(day, name) for name in ("DATE_FORMAT", "SHORT_WEEKDAY_DATE_FORMAT")]
        weekday = date_format(day, "WEEKDAY_DATE_FORMAT")
    with translation.override("en"):
        english = [date_format(day, name) for name in ("DATE_FORMAT", "SHORT_WEEKDAY_DATE_FORMAT")]

    assert korean == ["2026년 12월 1일", "2026년 12월 1일 (화)"]
    assert weekday == "2026년 12월 1일 화요일"
    assert english == ["1 December 2026", "Tue 1 Dec 2026"]


def test_formats_time_is_on_the_24_hour_clock_in_both_languages():
    moment = datetime(2026, 12, 1, 16, 5, tzinfo=UTC)

    times = []
    for language in ("en", "ko"):
        with translation.override(language):
            times.append(time_format(moment, "TIME_FORMAT"))

    assert times == ["16:05", "16:05"]


def test_feed_page_dates_follow_the_readers_language(client, make_person):
    make_paper(day=date(2026, 6, 30))
    make_paper(day=date(2026, 7, 1))
    korean = make_person("sujin", language="ko")
    english = make_person("emma", language="en")

    client.force_login(korean)
    in_korean = client.get(reverse("papers:index")).content.decode()
    client.force_login(english)
    in_english = client.get(reverse("papers:index")).content.decode()

    assert "2026년 7월 1일 수요일" in in_korean
    assert "6월 30일 (화)" in in_korean  # the way back to the day before
    assert "Wednesday" not in in_korean and "Tue 30 Jun" not in in_korean
    assert "Wednesday 1 July 2026" in in_english
    assert "Tue 30 Jun" in in_english


def test_talk_page_dates_follow_the_readers_language(client, make_person, lead):
    talk = make_talk(title="Sparse attention", starts_at=STARTS, timezone="Asia/Seoul", host=lead)
    client.force_login(make_person("sujin", language="ko"))

    page = client.get(talk.get_absolute_url()).content.decode()

    assert "2026년 3월 12일 목요일 16:00" in page
    assert "Thursday" not in page


@pytest.fixture
def talk(lead, make_person):
    with time_machine.travel(datetime(2026, 3, 1, 3, 0, tzinfo=UTC), tick=False):
        yield make_talk(
            title="Sparse attention at scale",
            starts_at=STARTS,
            ends_at=STARTS + timedelta(hours=1),
            timezone="Asia/Seoul",
            host=lead,
            room=make_room(name="Seminar room 1", location="Building 2"),
        )


def test_reminder_email_and_chat_follow_each_recipients_language(
    talk, make_person, telegram, django_capture_on_commit_callbacks
):
    korean = make_person("sujin", language="ko")
    english = make_person("emma", language="en")
    # Sujin reads the portal by e-mail and on Telegram; Emma set no channel, so mail it is.
    Channel.objects.create(person=korean, kind=Channel.Kind.EMAIL, target="")
    Channel.objects.create(person=korean, kind=Channel.Kind.TELEGRAM, target="4242")
    sign_up(talk, korean)
    sign_up(talk, english)

    with (
        time_machine.travel(STARTS - timedelta(days=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        send_reminders.delay().get()

    by_address = {message.to[0]: message.body for message in mail.outbox}
    [chat] = telegram.sent()
    assert "2026년 3월 12일 목요일 16:00–17:00" in by_address[korean.email]  # noqa: RUF001
    assert "Thursday" not in by_address[korean.email]
    assert "Thursday 12 March 2026, 16:00–17:00" in by_address[english.email]  # noqa: RUF001
    assert "2026년 3월 12일 목요일 16:00" in chat.text


def test_review_reminder_mail_and_chat_follow_the_reviewers_language(
    researcher, make_person, telegram, django_capture_on_commit_callbacks
):
    from reviews.tasks import send_reminders as send_review_reminders
    from reviews.tests.factories import make_draft

    reviewer = make_person("sujin", language="ko")
    Channel.objects.create(person=reviewer, kind=Channel.Kind.EMAIL, target="")
    Channel.objects.create(person=reviewer, kind=Channel.Kind.TELEGRAM, target="4242")
    with time_machine.travel(datetime(2026, 3, 1, 9, 0, tzinfo=SEOUL), tick=False) as clock:
        make_draft(researcher, reviewers=[reviewer], title="Sparse attention", review_by=date(2026, 3, 20))
        clock.move_to(datetime(2026, 3, 18, 9, 0, tzinfo=SEOUL))  # two days before, at nine
        with django_capture_on_commit_callbacks(execute=True):
            send_review_reminders.delay().get()

    [message] = mail.outbox
    [chat] = telegram.sent()
    assert "2026년 3월 20일" in message.subject
    assert "2026년 3월 20일" in chat.text
    assert "March" not in message.subject + message.body + chat.text


def test_dashboard_date_follows_the_readers_language(client, make_person):
    client.force_login(make_person("sujin", language="ko"))

    with time_machine.travel(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), tick=False):  # noon in Seoul
        page = client.get(reverse("home")).content.decode()

    assert "2026년 12월 1일 화요일" in page
