"""The leads' fetch status page and its "fetch now" button."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from papers.models import FetchRun, Paper
from papers.queries import forget_feed_frame
from papers.tests.arxiv_server import TESTING_PAGES, ArxivServer


def test_fetch_status_is_for_leads_only(client, login, researcher, lead):
    assert client.get("/papers/fetch/").status_code == 302
    assert login(researcher).get("/papers/fetch/").status_code == 403
    assert login(researcher).post("/papers/fetch/now/").status_code == 403
    assert not FetchRun.objects.exists()


def test_fetch_status_lists_runs_with_counts_and_errors(login, lead):
    FetchRun.objects.create(
        status="succeeded", finished_at=timezone.now(), new_count=12, updated_count=3, total=15
    )
    FetchRun.objects.create(
        status="failed", finished_at=timezone.now(), error="page 2 (start=200) is not valid XML"
    )

    response = login(lead).get("/papers/fetch/")

    assert response.status_code == 200
    assert "page 2 (start=200) is not valid XML" in response.text
    assert "<td>12</td>" in response.text
    assert 'hx-trigger="every 2s"' not in response.text


def test_fetch_status_polls_while_a_run_is_running(login, lead):
    FetchRun.objects.create(status="running", total=400, new_count=200)

    response = login(lead).get("/papers/fetch/", headers={"HX-Request": "true"})

    assert "<html" not in response.text
    assert 'hx-trigger="every 2s"' in response.text
    assert 'value="200"' in response.text


def test_fetch_status_page_and_its_polled_part_both_vary_on_htmx(login, lead):
    client = login(lead)

    page, part = client.get("/papers/fetch/"), client.get("/papers/fetch/", headers={"HX-Request": "true"})

    assert "<html" in page.text and "<html" not in part.text
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in part.headers["Vary"]


def test_fetch_now_refuses_a_second_run_while_one_is_running(login, lead):
    FetchRun.objects.create(status="running", kind="daily")

    response = login(lead).post("/papers/fetch/now/", follow=True)

    assert "A fetch is already running" in response.text
    assert FetchRun.objects.count() == 1


def test_fetch_now_runs_a_fetch_and_the_status_page_shows_it(
    login, lead, settings, django_capture_on_commit_callbacks
):
    settings.ARXIV_CATEGORIES = ["cs.CV"]
    with ArxivServer() as server:
        server.configure(settings)
        server.serve_pages(*TESTING_PAGES)
        client = login(lead)

        # The task is enqueued only once the view's transaction commits.
        with django_capture_on_commit_callbacks(execute=True) as enqueued:
            started = client.post("/papers/fetch/now/")
        response = client.get(started["Location"])

    run = FetchRun.objects.get()
    # The fetch, then what it queues: matching once the new papers are stored, then training with
    # matching again after it (each stored page also drops the feed pages' cached frame on commit).
    tasks = [callback for callback in enqueued if callback is not forget_feed_frame]
    assert tasks[0].func.__self__.name == "papers.fetch_new_papers"
    assert len(tasks) == 3
    assert "Fetch started." in response.text
    assert run.status == FetchRun.Status.SUCCEEDED
    assert Paper.objects.count() == run.new_count == 60
    assert "<td>60</td>" in response.text


def test_fetch_status_says_when_a_failed_daily_run_is_tried_again(login, lead, settings, time_machine):
    settings.ARXIV_RUN_RETRY_BACKOFF = 60
    time_machine.move_to(datetime(2026, 7, 3, 3, 0, tzinfo=UTC), tick=False)
    lead.timezone = "Asia/Seoul"
    lead.save()
    failed_at = timezone.now() - timedelta(minutes=10)
    FetchRun.objects.create(status="failed", started_at=failed_at, finished_at=failed_at, error="HTTP 503")
    FetchRun.objects.create(status="failed", started_at=failed_at, finished_at=failed_at, error="HTTP 503")

    response = login(lead).get("/papers/fetch/")

    # Two failures in a row: two minutes after the second, 11:52 in Seoul.
    assert "The last daily run failed. The next one starts at 11:52." in response.text


def test_fetch_status_says_nothing_of_retries_after_a_success(login, lead):
    FetchRun.objects.create(status="failed", started_at=timezone.now() - timedelta(hours=2))
    FetchRun.objects.create(status="succeeded", finished_at=timezone.now())

    response = login(lead).get("/papers/fetch/")

    assert "The last daily run failed" not in response.text
