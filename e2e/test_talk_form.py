"""A lead schedules a talk in a real browser, picking its time zones from lists (not typing them),
at desktop and phone width, in English and Korean."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from e2e.test_speakers import WIDTHS, log_in, words
from lab_portal.models import User
from seminars.models import Talk

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "language"), [("desktop", "en"), ("phone", "ko")])
def test_lead_schedules_a_talk_in_another_time_zone(live_server, open_page, make_person, width, language):
    base = live_server.url
    make_person("jiwoo", display_name="Jiwoo Park", role=User.Role.LEAD, language=language)
    day = timezone.localdate() + timedelta(days=14)
    page = open_page(WIDTHS[width], language)
    log_in(page, base, "jiwoo")

    page.goto(f"{base}/seminars/talks/new/")
    form = page.locator("main form")
    form.locator("[name=kind]").select_option(Talk.Kind.TECHTALK)
    form.locator("[name=title]").fill("Speech models in the wild")
    form.locator("[name=date]").fill(day.isoformat())
    form.locator("[name=start_time]").fill("16:00")
    form.locator("[name=end_time]").fill("17:30")
    zone = form.locator("select[name=timezone]")
    expect(zone).to_have_value("Asia/Seoul")
    zone.select_option("Europe/London")
    form.locator("select[name=speaker_timezone]").select_option("America/New_York")
    form.locator("[name=speaker_name]").fill("Ada Lovelace")
    form.get_by_role("button", name=words(language, "Save"), exact=True).click()

    expect(page.locator(".messages")).to_contain_text(words(language, "The talk is on the schedule."))
    talk = Talk.objects.get()
    assert (talk.timezone, talk.speaker_timezone) == ("Europe/London", "America/New_York")
    local = talk.local_start
    assert (local.date(), local.hour, local.minute) == (day, 16, 0)
    expect(page.get_by_role("heading", level=1)).to_have_text("Speech models in the wild")
