"""Seminar sign-up in a real browser: take the last seat, wait in line, get the seat someone gives up."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from conftest import PASSWORD
from e2e.test_dashboard import log_in
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.browser


@pytest.fixture
def logged_in_page(browser, live_server):
    """`logged_in_page(username)`: a browser of that person's own (own cookies), logged in
    through the form."""
    contexts = []

    def open_for(username: str):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, live_server.url, username, PASSWORD)
        expect(page).to_have_url(f"{live_server.url}/")
        return page

    yield open_for
    for context in contexts:
        context.close()


def test_waiting_researcher_gets_the_seat_someone_gives_up(live_server, logged_in_page, make_person):
    make_person("minji", display_name="Minji Kim")
    make_person("taeho", display_name="Taeho Yoon")
    talk = make_talk(capacity=1, title="Scaling laws for small models")
    url = f"{live_server.url}/seminars/talks/{talk.pk}/"
    minji, taeho = logged_in_page("minji"), logged_in_page("taeho")

    minji.goto(url)
    minji_panel = minji.locator(f"#signup-{talk.pk}")
    expect(minji_panel).to_contain_text("1 of 1 seats left")
    minji_panel.get_by_role("button", name="Sign up").click()
    expect(minji_panel).to_contain_text("You have a seat.")
    expect(minji_panel.get_by_role("button", name="Give up my seat")).to_be_visible()

    taeho.goto(url)
    taeho_panel = taeho.locator(f"#signup-{talk.pk}")
    expect(taeho_panel).to_contain_text("All seats are taken")
    taeho_panel.get_by_role("button", name="Join the waiting list").click()
    expect(taeho_panel).to_contain_text("You are number 1 on the waiting list.")

    minji_panel.get_by_role("button", name="Give up my seat").click()
    expect(minji_panel).to_contain_text("You gave up your seat.")
    # Minji's seat went to Taeho at once, so what she sees is a full talk with nobody waiting.
    expect(minji_panel).to_contain_text("All seats are taken · 0 people waiting")
    expect(minji_panel.get_by_role("button", name="Join the waiting list")).to_be_visible()

    taeho.reload()
    expect(taeho_panel).to_contain_text("You have a seat.")
    expect(taeho_panel).not_to_contain_text("waiting list.")
    # Minji's seat was confirmed when she took it; Taeho's when it became his. Each with the .ics.
    assert [message.to for message in mail.outbox] == [["minji@lab.example.org"], ["taeho@lab.example.org"]]
    assert all("Scaling laws for small models" in message.subject for message in mail.outbox)
    assert all(message.attachments[0][2] == "text/calendar" for message in mail.outbox)
