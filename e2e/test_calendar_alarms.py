"""A researcher turns on the alarms of their own calendar feeds in a real browser, at desktop and
phone width, in English and Korean, and their feed then rings an hour before their talk."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import translation
from icalendar import Calendar
from playwright.sync_api import expect

from e2e.test_speakers import log_in
from seminars.models import CalendarToken
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.browser

# Screenshots for a person to look at, only when asked for: SHOTS_DIR=/tmp/shots-<name>.
SHOTS = os.environ.get("SHOTS_DIR", "")
WIDTHS = {"desktop": 1280, "phone": 390}


def shown(text: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_researcher_turns_on_feed_alarms_and_the_feed_rings(
    live_server, open_page, make_person, width, language
):
    base = live_server.url
    person = make_person("minji", display_name="Minji Kim", language=language)
    talk = make_talk(title="Sparse attention", host=person, starts_at=datetime.now(UTC) + timedelta(days=3))
    key = CalendarToken.renew(person).key
    page = open_page(WIDTHS[width], language)
    log_in(page, base, "minji")

    page.goto(f"{base}/seminars/calendar/")
    section = page.locator("#feed-alarms")
    box = section.locator("input[name=calendar_alarms]")
    expect(box).not_to_be_checked()
    box.check()
    section.locator("button[type=submit]").click()

    expect(page.locator("#feed-alarms [role=status]")).to_have_text(
        shown("Your feeds now carry alarms.", language)
    )
    expect(page.locator("#feed-alarms input[name=calendar_alarms]")).to_be_checked()
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"calendar-alarms-{width}-{language}.png"), full_page=True)
    person.refresh_from_db()
    assert person.calendar_alarms is True
    # What a calendar program fetches, without the browser's log-in.
    feed = page.request.get(f"{base}/seminars/feeds/{key}/mine.ics", headers={"Cookie": ""})
    assert feed.status == 200
    [event] = Calendar.from_ical(feed.body()).walk("VEVENT")
    assert str(event["uid"]) == str(talk.uid)
    assert [alarm.decoded("trigger") for alarm in event.walk("VALARM")] == [-timedelta(hours=1)]

    # Still ticked after a reload: the choice is stored, not just shown.
    page.reload()
    page.locator("#feed-alarms input[name=calendar_alarms]").uncheck()
    page.locator("#feed-alarms button[type=submit]").click()
    expect(page.locator("#feed-alarms [role=status]")).to_have_text(
        shown("Your feeds no longer carry alarms.", language)
    )
    person.refresh_from_db()
    assert person.calendar_alarms is False
