"""Projects: started by anyone, edited by their people and the leads, and one page that tells a
line of work from its first seminar to its published paper, drafts shown only to their readers."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from lab_portal.models import Project
from papers.tests.factories import make_paper
from reviews import services
from reviews.models import Draft
from reviews.tests.factories import make_draft
from seminars.models import ActionItem, TalkRequest
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(researcher):
    project = Project.objects.create(title="Sparse attention", created_by=researcher)
    project.people.add(researcher)
    Project.objects.filter(pk=project.pk).update(created_at=datetime(2026, 3, 1, tzinfo=UTC))
    return project


def test_anyone_starts_a_project_and_is_in_it(login, other_researcher):
    response = login(other_researcher).post(
        reverse("new-project"), {"title": "Protein diffusion", "people": [other_researcher.pk]}
    )

    project = Project.objects.get(title="Protein diffusion")
    assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
    assert list(project.people.all()) == [other_researcher]
    assert project.created_by == other_researcher


def test_a_project_without_a_title_is_refused_and_nothing_is_stored(login, researcher):
    response = login(researcher).post(reverse("new-project"), {"title": "  "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Project.objects.exists()


def test_its_people_and_leads_edit_it_others_get_403(
    login, client, project, researcher, other_researcher, lead
):
    url = reverse("edit-project", args=[project.pk])
    data = {"title": "Sparse attention, renamed", "people": [researcher.pk]}

    stranger = login(other_researcher).post(url, data)
    member = login(researcher).post(url, data)
    as_lead = login(lead).get(url)
    missing = login(lead).get(reverse("edit-project", args=[999999]))
    client.logout()
    anonymous = client.get(url)

    assert stranger.status_code == 403
    assert member.status_code == 302
    assert as_lead.status_code == 200
    assert missing.status_code == 404
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert Project.objects.get().title == "Sparse attention, renamed"


def test_the_page_tells_the_story_in_time_order(login, project, researcher, lead):
    request = TalkRequest.objects.create(
        requester=researcher, title="First results", project=project, stage=Project.Stage.FIRST_RESULTS
    )
    TalkRequest.objects.filter(pk=request.pk).update(created_at=datetime(2026, 3, 10, tzinfo=UTC))
    first = make_talk(
        title="First results",
        project=project,
        stage="first_results",
        host=lead,
        speaker_user=researcher,
        speaker_name="",
        starts_at=datetime(2026, 4, 2, 7, tzinfo=UTC),
    )
    ActionItem.objects.create(
        talk=first, owner=researcher, text="Run the ablation", created_at=datetime(2026, 4, 2, 9, tzinfo=UTC)
    )
    draft = make_draft(researcher, title="Sparse attention at scale", project=project)
    Draft.objects.filter(pk=draft.pk).update(created_at=datetime(2026, 6, 1, tzinfo=UTC))
    draft.versions.update(uploaded_at=datetime(2026, 6, 1, 1, tzinfo=UTC))
    make_talk(
        title="Pre-submission",
        project=project,
        stage="pre_submission",
        draft=draft,
        starts_at=datetime(2026, 7, 1, 7, tzinfo=UTC),
    )
    services.set_status(draft, status=Draft.Status.ACCEPTED)
    paper = make_paper(title="Sparse attention at scale", published=datetime.now(UTC) + timedelta(minutes=1))
    Draft.objects.filter(pk=draft.pk).update(paper=paper)

    page = login(researcher).get(project.get_absolute_url()).content.decode()

    story = [
        "Project started",
        "Minji Kim asked for a seminar: “First results”",
        "Seminar: “First results” by Minji Kim",
        "Action item for Minji Kim: Run the ablation",
        "Draft: “Sparse attention at scale”",
        "Version 1 uploaded",
        "Seminar: “Pre-submission”",
        "Accepted at",
        "Published: Sparse attention at scale",
    ]
    positions = [page.index(line) for line in story]
    assert positions == sorted(positions)
    assert "Run the ablation" in page.split("The story so far")[0]  # open, so listed above the story


def test_drafts_appear_only_to_their_readers(login, project, researcher, other_researcher):
    make_draft(researcher, title="A secret draft", project=project)
    make_talk(title="A public seminar", project=project)

    author = login(researcher).get(project.get_absolute_url()).content.decode()
    stranger = login(other_researcher).get(project.get_absolute_url()).content.decode()

    assert "A secret draft" in author
    assert "A public seminar" in stranger
    assert "A secret draft" not in stranger


def test_unknown_project_is_404(login, researcher):
    assert login(researcher).get(reverse("project", args=[999999])).status_code == 404


def test_a_request_naming_a_draft_joins_the_drafts_project(login, project, researcher):
    draft = make_draft(researcher, title="Sparse attention at scale", project=project)
    data = {
        "kind": "own_work",
        "title": "Pre-submission",
        "notes": "",
        "stage": "pre_submission",
        "draft": draft.pk,
    }

    response = login(researcher).post(reverse("seminars:propose"), data)

    assert response.status_code == 302
    request = TalkRequest.objects.get()
    assert (request.project, request.draft, request.stage) == (project, draft, "pre_submission")


def test_a_request_naming_another_projects_draft_is_refused(login, project, researcher):
    other = Project.objects.create(title="Something else")
    draft = make_draft(researcher, project=project)
    data = {"kind": "own_work", "title": "Mixed up", "project": other.pk, "draft": draft.pk}

    response = login(researcher).post(reverse("seminars:propose"), data)

    assert response.status_code == 200
    assert "This draft belongs to the project “Sparse attention”." in response.content.decode()
    assert not TalkRequest.objects.exists()


def test_a_request_may_not_name_someone_elses_draft(login, researcher, other_researcher):
    draft = make_draft(researcher)
    data = {"kind": "own_work", "title": "Not mine", "draft": draft.pk}

    response = login(other_researcher).post(reverse("seminars:propose"), data)

    assert response.status_code == 200
    assert not TalkRequest.objects.exists()


def test_the_talk_page_shows_earlier_open_items_and_the_later_host_marks_them_addressed(
    login, project, researcher, lead, make_person
):
    host = make_person("hoon")
    first = make_talk(title="First results", project=project, starts_at=datetime(2026, 4, 2, 7, tzinfo=UTC))
    item = ActionItem.objects.create(talk=first, owner=researcher, text="Run the ablation")
    second = make_talk(title="Pre-submission", project=project, host=host)
    url = reverse("seminars:action-item-done", args=[item.pk])

    page = login(host).get(second.get_absolute_url()).content.decode()
    stranger = login(lead).post(url, {"done": "1"})  # a lead hosting no later talk of it
    ticked = login(host).post(url, {"done": "1"})

    assert "Open action items from earlier seminars" in page and "Run the ablation" in page
    assert stranger.status_code == 403
    assert ticked.status_code == 302
    item.refresh_from_db()
    assert item.done_at is not None
