"""Teams in a real browser: an admin makes someone a team's lead, who then sets up that team's
channel and watch rule without being one of its members."""

import pytest
from playwright.sync_api import expect

from e2e.test_dashboard import log_in
from lab_portal.models import Channel, Team, User
from papers.models import WatchRule

pytestmark = pytest.mark.browser

PASSWORD = "a-long-password-1"


def test_an_admin_sets_a_lead_who_then_runs_the_team(browser, live_server, transactional_db, slack):
    speech = Team.objects.create(name="Speech", slug="speech")
    User.objects.create_superuser("root", "root@lab.example.org", PASSWORD)
    User.objects.create_user("sora", password=PASSWORD, display_name="Sora Han", role=User.Role.LEAD)
    User.objects.create_user("minji", password=PASSWORD, display_name="Minji Kim")
    base = live_server.url

    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    admin.goto(f"{base}/admin/login/?next=/admin/lab_portal/team/{speech.pk}/change/")
    admin.get_by_label("Username").fill("root")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    available = admin.locator("#id_leads_from")
    # Only people with a lead's role are offered.
    expect(available.locator("option")).to_have_count(2)  # sora, and root (an admin)
    available.select_option(label="Sora Han")
    admin.locator("#id_leads_add").click()
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")
    assert [lead.username for lead in speech.leads.all()] == ["sora"]

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, base, "sora", PASSWORD)
    page.goto(f"{base}/me/channels/")
    add = page.locator("section").filter(has=page.get_by_role("heading", name="Add a channel"))
    add.get_by_label("Kind").select_option("slack")
    add.get_by_label("Webhook URL or address").fill(slack.url)
    add.get_by_label("For").select_option(label="Speech")
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_role("heading", name="Channels of Speech")).to_be_visible()
    assert Channel.objects.get(target=slack.url).team == speech

    page.goto(f"{base}/papers/watch/new/")
    page.get_by_label("Name").fill("Speech synthesis")
    page.get_by_label("Keywords").fill('"speech synthesis"')
    page.get_by_label("For").select_option(label="Speech")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{base}/papers/watch/")
    rule = WatchRule.objects.get()
    assert (rule.team, rule.person) == (speech, None)
    expect(page.locator(f"#rule-{rule.pk}")).to_contain_text("team Speech")
