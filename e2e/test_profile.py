"""Switching the portal's language in a real browser: the confirmation speaks the new language."""

import pytest
from playwright.sync_api import expect

from e2e.test_speakers import WIDTHS, log_in, words
from lab_portal.models import User

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "old", "new"), [("desktop", "en", "ko"), ("phone", "ko", "en")])
def test_language_switch_is_confirmed_in_the_new_language(
    live_server, open_page, make_person, width, old, new
):
    base = live_server.url
    make_person("minji", display_name="Minji Kim", language=old)
    page = open_page(WIDTHS[width], old)
    log_in(page, base, "minji")

    page.goto(f"{base}/me/")
    expect(page.get_by_role("heading", level=1)).to_have_text(words(old, "Your profile"))
    page.locator("main select[name=language]").select_option(new)
    page.locator("main form button[type=submit]").click()

    expect(page.locator(".messages")).to_have_text(words(new, "Your profile is saved."))
    expect(page.get_by_role("heading", level=1)).to_have_text(words(new, "Your profile"))
    assert User.objects.get(username="minji").language == new
