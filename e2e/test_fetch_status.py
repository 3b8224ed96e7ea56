"""Fetch status in a real browser: a lead sees when a failed daily run is tried again, and fetches now."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from e2e.test_dashboard import log_in
from lab_portal.models import User
from papers.models import FetchRun, Paper
from papers.tests.arxiv_server import TESTING_PAGES, ArxivServer, categories_of, dated, entries

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"


@pytest.fixture
def arxiv(settings):
    settings.ARXIV_CATEGORIES = ["cs.SE"]
    settings.ARXIV_RUN_RETRY_BACKOFF = 60
    with ArxivServer() as server:
        server.configure(settings)
        yield server


def test_lead_sees_the_next_try_of_a_failed_run_and_fetches_now(page, live_server, transactional_db, arxiv):
    lead = User.objects.create_user("jiwoo", password=PASSWORD, role=User.Role.LEAD, display_name="Jiwoo")
    failed_at = timezone.now() - timedelta(seconds=30)
    FetchRun.objects.create(
        status=FetchRun.Status.FAILED, started_at=failed_at - timedelta(seconds=20), finished_at=failed_at,
        error="page 1 (start=0) failed with HTTP 503 (5 tries)",
    )  # fmt: skip
    # This morning's cs.SE papers, for the run the lead starts.
    morning = timezone.now() - timedelta(hours=5)
    software = [entry for entry in entries(*TESTING_PAGES) if "cs.SE" in categories_of(entry)]
    arxiv.serve_entries([dated(entry, morning - timedelta(minutes=n)) for n, entry in enumerate(software)])
    base = live_server.url
    log_in(page, base, lead.username, PASSWORD)

    page.goto(f"{base}/papers/fetch/")

    retry = failed_at + timedelta(seconds=60)
    notice = page.locator("#run-list").get_by_role("status")
    expect(notice).to_have_text(
        f"The last daily run failed. The next one starts at {timezone.localtime(retry):%H:%M}."
    )
    error = page.locator("tr.run.failed td.error")
    expect(error).to_have_text("page 1 (start=0) failed with HTTP 503 (5 tries)")

    page.get_by_role("button", name="Fetch now").click()

    expect(page.locator(".message.success")).to_have_text("Fetch started.")
    latest = page.locator("tr.run").first
    expect(latest).to_contain_text("succeeded")
    expect(latest.locator("td").nth(4)).to_have_text("45")
    expect(page.locator("#run-list").get_by_role("status")).to_have_count(0)
    assert Paper.objects.count() == 45
