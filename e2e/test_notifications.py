"""Notification settings in a real browser: the morning digest switch, with htmx and without."""

import threading

import pytest
from django.db import connection
from django.db.models.signals import pre_save
from playwright.sync_api import expect

from e2e.test_dashboard import demo_lab, log_in  # noqa: F401 - the fixture is used by name
from lab_portal.management.commands.seed_demo import DEMO_PASSWORD
from lab_portal.models import Channel, User

pytestmark = pytest.mark.browser


def test_researcher_turns_the_morning_digest_off_and_on_again(page, live_server, demo_lab):  # noqa: F811
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/me/channels/")
    page.evaluate("window.stillTheSamePage = true")
    digest = page.locator("#digest-setting")
    expect(digest).to_contain_text("Every morning after 8:00 your time")

    digest.get_by_role("button", name="Turn the digest off").click()

    expect(digest).to_contain_text("Off: what your watch rules find reaches you only in chat")
    assert page.evaluate("window.stillTheSamePage") is True
    assert User.objects.get(username="minji").morning_digest is False

    # As a plain form (what a browser without JavaScript sends) it posts and comes back with a message:
    # form.submit() skips the submit event htmx listens for.
    page.locator("#digest-setting form").evaluate("form => form.submit()")
    expect(page.locator(".messages")).to_contain_text("The morning e-mail digest is on.")
    expect(page.locator("#digest-setting")).to_contain_text("Every morning after 8:00 your time")
    assert User.objects.get(username="minji").morning_digest is True


def delete_in_another_tab(pk: int) -> None:
    try:
        Channel.objects.filter(pk=pk).delete()
    finally:
        connection.close()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the race holds a row lock from a second connection, which SQLite's one writer cannot",
)
def test_saving_a_channel_deleted_meanwhile_in_another_tab_says_so(page, live_server, transactional_db):
    User.objects.create_user("minji", password=DEMO_PASSWORD, email="minji@lab.example.org")
    channel = Channel.objects.create(
        person=User.objects.get(username="minji"), kind=Channel.Kind.EMAIL, target="minji@lab.example.org"
    )
    base = live_server.url
    log_in(page, base, "minji", DEMO_PASSWORD)
    page.goto(f"{base}/me/channels/")
    row = page.locator(f"#channel-{channel.pk}")
    row.get_by_role("link", name="Edit").click()
    expect(row.get_by_role("button", name="Save")).to_be_visible()

    def deleted_meanwhile(sender, instance, **kwargs):
        # Another tab deletes the channel, and commits, after the save read it and before it writes.
        other = threading.Thread(target=delete_in_another_tab, args=(instance.pk,))
        other.start()
        other.join()

    pre_save.connect(deleted_meanwhile, sender=Channel, dispatch_uid="deleted-meanwhile")
    try:
        row.get_by_role("button", name="Save").click()
        said = "This channel was deleted meanwhile: nothing was saved."
        expect(page.locator(".messages")).to_contain_text(said)
    finally:
        pre_save.disconnect(sender=Channel, dispatch_uid="deleted-meanwhile")

    expect(page.locator(".messages")).to_contain_text(
        "This channel was deleted meanwhile: nothing was saved."
    )
    expect(page.locator(f"#channel-{channel.pk}")).to_have_count(0)
    assert not Channel.objects.exists()
