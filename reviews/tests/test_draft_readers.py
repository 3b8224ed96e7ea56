"""Who may read a draft beyond its authors, reviewers and leads: the audience of a talk that
presents it (from a week before the talk to a week after), and the lab when the authors open
it. Such a reader gets the current version and nothing else; everyone else still gets 404."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from reviews import services
from reviews.models import Draft
from reviews.tests.factories import make_draft, pdf_bytes, pdf_upload
from reviews.uploads import check_pdf
from seminars.models import Registration
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(researcher):
    draft = make_draft(researcher, title="Sparse attention at scale")
    second = pdf_upload(pdf_bytes(b"%v2\n"))
    services.add_version(draft, upload=second, checked=check_pdf(second), note="Ablation", by=researcher)
    return draft


def presented(draft, *, in_days: float, **fields):
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=in_days)
    return make_talk(title="Pre-submission seminar", draft=draft, starts_at=starts, **fields)


def answers(client, draft) -> tuple[int, int, int]:
    page = client.get(reverse("reviews:draft", args=[draft.pk]))
    current = client.get(reverse("reviews:download", args=[draft.pk, 2]))
    earlier = client.get(reverse("reviews:download", args=[draft.pk, 1]))
    return page.status_code, current.status_code, earlier.status_code


@pytest.mark.parametrize(
    ("in_days", "status", "expected"),
    [
        (6, Registration.Status.CONFIRMED, (200, 200, 404)),
        (-6, Registration.Status.CONFIRMED, (200, 200, 404)),
        (2, Registration.Status.WAITLISTED, (200, 200, 404)),
        (9, Registration.Status.CONFIRMED, (404, 404, 404)),
        (-9, Registration.Status.CONFIRMED, (404, 404, 404)),
        (2, Registration.Status.CANCELLED, (404, 404, 404)),
    ],
)
def test_a_talks_audience_reads_the_current_version_in_the_window(
    login, draft, other_researcher, in_days, status, expected
):
    talk = presented(draft, in_days=in_days)
    Registration.objects.create(talk=talk, user=other_researcher, status=status)

    assert answers(login(other_researcher), draft) == expected


def test_a_reader_sees_neither_reviews_nor_discussion(login, draft, other_researcher):
    talk = presented(draft, in_days=1)
    Registration.objects.create(talk=talk, user=other_researcher, status=Registration.Status.CONFIRMED)

    page = login(other_researcher).get(reverse("reviews:draft", args=[draft.pk])).content.decode()
    review = login(other_researcher).get(reverse("reviews:review", args=[draft.pk]))

    assert "Current version" in page
    assert f"/reviews/drafts/{draft.pk}/versions/2.pdf" in page
    assert f"/reviews/drafts/{draft.pk}/versions/1.pdf" not in page
    assert "Pre-submission seminar" in page
    assert "Upload a new version" not in page and "Change status" not in page
    assert review.status_code == 404


def test_the_host_reads_the_draft_but_a_stranger_and_anonymous_do_not(
    client, login, draft, make_person, other_researcher
):
    host = make_person("hoon")
    presented(draft, in_days=3, host=host)

    assert answers(login(host), draft) == (200, 200, 404)
    assert answers(login(other_researcher), draft) == (404, 404, 404)
    client.logout()
    assert client.get(reverse("reviews:draft", args=[draft.pk])).status_code == 302


def test_a_cancelled_talk_opens_nothing(login, draft, other_researcher):
    talk = presented(draft, in_days=1, status="cancelled")
    Registration.objects.create(talk=talk, user=other_researcher, status=Registration.Status.CONFIRMED)

    assert answers(login(other_researcher), draft) == (404, 404, 404)


def test_authors_open_the_draft_to_the_lab_and_close_it_again(login, draft, researcher, other_researcher):
    url = reverse("reviews:open-to-lab", args=[draft.pk])

    by_stranger = login(other_researcher).post(url, {"open_to_lab": "on"})
    opened = login(researcher).post(url, {"open_to_lab": "on"})
    while_open = answers(login(other_researcher), draft)
    login(researcher).post(url, {})
    closed = answers(login(other_researcher), draft)

    assert by_stranger.status_code == 404
    assert opened.status_code == 302
    assert while_open == (200, 200, 404)
    assert closed == (404, 404, 404)
    assert Draft.objects.get(pk=draft.pk).open_to_lab is False


def test_a_reviewer_may_not_open_the_draft(login, researcher, make_person):
    reviewer = make_person("sora")
    draft = make_draft(researcher, reviewers=[reviewer])

    response = login(reviewer).post(reverse("reviews:open-to-lab", args=[draft.pk]), {"open_to_lab": "on"})

    assert response.status_code == 403
    assert Draft.objects.get(pk=draft.pk).open_to_lab is False


def test_open_action_items_of_the_project_sit_beside_the_draft_for_its_reviewers(
    login, researcher, make_person
):
    from lab_portal.models import Project
    from seminars.models import ActionItem

    reviewer = make_person("sora")
    project = Project.objects.create(title="Sparse attention")
    draft = make_draft(researcher, reviewers=[reviewer], project=project)
    talk = make_talk(title="First results", project=project, starts_at=datetime(2026, 9, 1, 7, tzinfo=UTC))
    ActionItem.objects.create(talk=talk, owner=researcher, text="Compare with <script>Longformer</script>")
    ActionItem.objects.create(talk=talk, owner=researcher, text="Already done", done_at=datetime.now(UTC))

    page = login(reviewer).get(reverse("reviews:draft", args=[draft.pk])).content.decode()

    assert "Compare with &lt;script&gt;Longformer&lt;/script&gt;" in page
    assert "Already done" not in page
