"""A project's path in a real browser, at desktop and phone width, in English and Korean: a
researcher starts a project and asks for a first-results seminar for it, the lead schedules it,
an attendee signs up, the host notes an action item, the researcher opens the draft to the lab,
a reviewer sees the item beside the draft and submits a review, the draft is accepted and its
arXiv paper linked, and the project's page tells it all in order."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from e2e.test_speakers import WIDTHS, log_in, words
from lab_portal.models import Project, User
from papers.tests.factories import make_paper
from reviews.models import Draft, Review, ReviewAssignment
from reviews.tests.factories import make_draft
from seminars.models import ActionItem, Registration, Talk, TalkRequest

pytestmark = pytest.mark.browser

# Screenshots for a person to look at, only when asked for: SHOTS_DIR=/tmp/shots-<name>.
SHOTS = os.environ.get("SHOTS_DIR", "")


def _set_status(page, base: str, draft, status: str) -> None:
    """The author changes the draft's status with the form on its page."""
    page.goto(f"{base}{draft.get_absolute_url()}")
    form = page.locator("main form[action$='/status/']")
    form.locator("select[name=status]").select_option(status)
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_be_visible()
    draft.refresh_from_db()
    assert draft.status == status


@pytest.mark.parametrize(("width", "language"), [("desktop", "en"), ("phone", "ko")])
def test_from_a_first_results_request_to_the_projects_story(
    live_server, open_page, make_person, width, language
):
    base = live_server.url
    researcher = make_person("minji", display_name="Minji Kim", language=language)
    make_person("jiwoo", display_name="Jiwoo Park", role=User.Role.LEAD, language=language)
    attendee = make_person("taeho", display_name="Taeho Yoon", language=language)
    reviewer_person = make_person("sora", display_name="Sora Han", language=language)

    # The researcher starts the project and requests a first-results slot from its page.
    page = open_page(WIDTHS[width], language)
    log_in(page, base, "minji")
    page.goto(f"{base}/projects/new/")
    page.locator("main form [name=title]").fill("Sparse attention")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sparse attention")
    project = Project.objects.get()
    page.locator(f"main a[href='/seminars/propose/?project={project.pk}']").click()
    form = page.locator("main form")
    expect(form.locator("select[name=project]")).to_have_value(str(project.pk))
    form.locator("[name=title]").fill("First results on sparse attention")
    form.locator("select[name=stage]").select_option(Project.Stage.FIRST_RESULTS)
    form.locator("button[type=submit]").click()
    request = TalkRequest.objects.get()
    assert (request.project, request.stage) == (project, Project.Stage.FIRST_RESULTS)

    # The lead schedules it from the request: project and stage come along.
    lead_page = open_page(WIDTHS[width], language)
    log_in(lead_page, base, "jiwoo")
    lead_page.goto(f"{base}/seminars/requests/{request.pk}/accept/")
    day = timezone.localdate() + timedelta(days=3)
    form = lead_page.locator("main form")
    form.locator("[name=date]").fill(day.isoformat())
    form.locator("[name=start_time]").fill("16:00")
    form.locator("[name=end_time]").fill("17:00")
    form.get_by_role("button", name=words(language, "Save"), exact=True).click()
    expect(lead_page.locator(".messages")).to_contain_text(
        words(language, "Accepted: the talk is on the schedule.")
    )
    talk = Talk.objects.get()
    assert (talk.project, talk.stage) == (project, Project.Stage.FIRST_RESULTS)

    # An attendee signs up; the host notes an action item for the researcher (told on notify).
    Registration.objects.create(talk=talk, user=attendee, status=Registration.Status.CONFIRMED)
    Talk.objects.filter(pk=talk.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )
    lead_page.goto(f"{base}{talk.get_absolute_url()}")
    items = lead_page.locator(f"#action-items-{talk.pk} form")
    items.locator("select[name=owner]").select_option(str(researcher.pk))
    items.locator("[name=text]").fill("Run the ablation")
    items.locator("button[type=submit]").click()
    expect(lead_page.locator(f"#action-items-{talk.pk}")).to_contain_text("Run the ablation")
    assert ActionItem.objects.get().owner == researcher

    # The researcher's draft joins the project; they open it to the lab from its page.
    draft = make_draft(researcher, title="Sparse attention at scale", project=project)
    page.goto(f"{base}{draft.get_absolute_url()}")
    page.locator("main form[action$='/open/'] input[name=open_to_lab]").check()
    page.locator("main form[action$='/open/'] button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(
        words(language, "Everyone in the lab may now read the current version.")
    )
    reader = open_page(WIDTHS[width], language)
    log_in(reader, base, "taeho")
    reader.goto(f"{base}{draft.get_absolute_url()}")
    expect(reader.get_by_role("heading", level=1)).to_have_text("Sparse attention at scale")

    # The draft goes to review: its page counts down to the deadline, and its reviewer sees the
    # seminar's open items beside it, then writes and submits the review.
    _set_status(page, base, draft, Draft.Status.IN_REVIEW)
    expect(page.locator("main .countdown")).to_be_visible()
    ReviewAssignment.objects.create(draft=draft, reviewer=reviewer_person, due=timezone.localdate())
    reviewer = open_page(WIDTHS[width], language)
    log_in(reviewer, base, "sora")
    reviewer.goto(f"{base}{draft.get_absolute_url()}")
    expect(reviewer.locator("main ul.action-items")).to_contain_text("Run the ablation")
    reviewer.goto(f"{base}/reviews/drafts/{draft.pk}/review/")
    review_form = reviewer.locator("main form").filter(has=reviewer.locator("[name=summary]"))
    review_form.locator("[name=summary]").fill("Sparse attention that scales; the ablation is missing.")
    review_form.locator("[name=strengths]").fill("- Clear analysis")
    review_form.locator("[name=weaknesses]").fill("- Run the ablation first")
    for name in ("soundness", "novelty", "clarity", "overall", "confidence"):
        review_form.locator(f"select[name={name}]").select_option("3")
    review_form.locator("button[formaction$='/review/submit/']").click()
    expect(reviewer.locator(".messages")).to_contain_text(
        words(language, "Your review is submitted. You can now read the other reviews.")
    )
    assert Review.objects.get().is_submitted

    # Accepted, and once the paper is on arXiv the author links it: the project's story closes.
    _set_status(page, base, draft, Draft.Status.ACCEPTED)
    paper = make_paper(title="Sparse attention at scale", authors=["Minji Kim"])
    page.goto(f"{base}/reviews/publications/")
    link = page.locator(f"main form[action$='/publications/{draft.pk}/link/']")
    link.locator("input[name=arxiv_id]").fill(paper.arxiv_id)
    link.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(paper.arxiv_id)
    draft.refresh_from_db()
    assert draft.paper == paper

    # The project's page tells the story.
    page.goto(f"{base}{project.get_absolute_url()}")
    story = page.locator("ol.timeline")
    expect(story).to_contain_text("First results on sparse attention")
    expect(story).to_contain_text("Run the ablation")
    expect(story).to_contain_text("Sparse attention at scale")
    expect(story).to_contain_text(words(language, "Accepted at %(venue)s") % {"venue": draft.deadline.venue})
    expect(story).to_contain_text(paper.arxiv_id)
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"project-{width}-{language}.png"), full_page=True)
        lead_page.goto(f"{base}{talk.get_absolute_url()}")
        lead_page.screenshot(path=str(Path(SHOTS) / f"talk-{width}-{language}.png"), full_page=True)
