"""Watch rules in a real browser: the preview follows the typing, and the rule saves."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from e2e.test_dashboard import log_in
from lab_portal.models import User
from papers.models import WatchRule
from papers.tests.factories import make_paper

pytestmark = pytest.mark.browser


def test_preview_updates_while_typing_and_the_rule_saves(page, live_server, transactional_db):
    User.objects.create_user("minji", password="a-long-password-1", display_name="Minji Kim")
    day = timezone.localdate() - timedelta(days=3)
    make_paper(title="Video diffusion models", day=day)
    make_paper(title="Audio diffusion", day=day)
    make_paper(title="Graph transformers", day=day)
    base = live_server.url
    log_in(page, base, "minji", "a-long-password-1")

    page.goto(f"{base}/papers/watch/new/")
    page.get_by_label("Name").fill("Diffusion")
    page.get_by_label("Keywords").press_sequentially("diffusion", delay=20)

    preview = page.locator("#rule-preview")
    expect(preview.get_by_role("heading", level=2)).to_have_text("2 matches in the last 30 days")
    expect(preview).to_contain_text("Video diffusion models")
    page.get_by_label("Keywords").press_sequentially(" NOT audio", delay=20)
    expect(preview.get_by_role("heading", level=2)).to_have_text("One match in the last 30 days")

    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{base}/papers/watch/")
    expect(page.locator("#rule-" + str(WatchRule.objects.get().pk))).to_contain_text("diffusion NOT audio")
