"""After the talk: slides, recording and papers; feedback and who reads it; action items."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lab_portal.tests import pdf_samples
from papers.tests.factories import make_paper
from seminars.models import ActionItem, Feedback, Registration, Talk
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.django_db

PDF = pdf_samples.plain()


@pytest.fixture
def speaker(make_person):
    return make_person("sora", display_name="Sora Lee")


@pytest.fixture
def seminar(researcher, speaker) -> Talk:
    """An internal seminar that started an hour ago, hosted by Minji, given by Sora."""
    return make_talk(
        kind=Talk.Kind.SEMINAR,
        title="First results on sparse attention",
        host=researcher,
        speaker_user=speaker,
        speaker_name="",
        starts_at=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1),
    )


def materials_url(talk: Talk) -> str:
    return f"/seminars/talks/{talk.pk}/materials/"


def materials(**changes) -> dict:
    return {"slides_url": "", "recording_url": "", "papers": "", **changes}


# Materials


def test_host_uploads_pdf_slides_a_recording_and_papers(login, researcher, other_researcher, seminar):
    paper = make_paper(title="Sparse attention, revisited")
    data = materials(
        slides=SimpleUploadedFile("deck.key", PDF, "application/octet-stream"),
        recording_url="https://video.example.org/talk-1",
        papers=f"arXiv:{paper.arxiv_id}v2",
    )

    response = login(researcher).post(materials_url(seminar), data, follow=True)
    page = login(other_researcher).get(seminar.get_absolute_url())
    download = login(other_researcher).get(f"/seminars/talks/{seminar.pk}/slides/")

    assert "materials are saved" in response.text
    seminar.refresh_from_db()
    assert seminar.slides.name.endswith(".pdf")
    assert seminar.recording_url == "https://video.example.org/talk-1"
    assert list(seminar.related_papers.all()) == [paper]
    assert "Download the slides (PDF)" in page.text
    assert "https://video.example.org/talk-1" in page.text
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith(
        'attachment; filename="first-results-on-sparse-attention.pdf"'
    )
    assert b"".join(download.streaming_content) == PDF


def test_slides_must_be_a_pdf_by_content(login, researcher, seminar):
    disguised = SimpleUploadedFile("slides.pdf", b"<html><script>alert(1)</script>", "application/pdf")

    response = login(researcher).post(materials_url(seminar), materials(slides=disguised))

    assert response.status_code == 200
    assert "The slides must be a PDF file." in response.text
    seminar.refresh_from_db()
    assert not seminar.slides


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (pdf_samples.encrypted(), "The PDF is encrypted or password-protected"),
        (pdf_samples.open_action_javascript(), "The PDF contains JavaScript"),
        (pdf_samples.escaped_javascript(), "The PDF contains JavaScript"),
        (pdf_samples.launch(), "an action that opens a program"),
        (pdf_samples.attachment(), "The PDF carries embedded files"),
        (pdf_samples.html_polyglot(), "The slides must be a PDF file."),
    ],
    ids=["encrypted", "javascript", "escaped-javascript", "launch", "attachment", "html-polyglot"],
)
def test_slides_with_scripts_actions_attachments_or_encryption_are_refused(
    login, researcher, seminar, files_root, content, message
):
    upload = SimpleUploadedFile("s.pdf", content, "application/pdf")

    response = login(researcher).post(materials_url(seminar), materials(slides=upload))

    assert response.status_code == 200
    assert message in response.text
    seminar.refresh_from_db()
    assert not seminar.slides
    assert not any(path.is_file() for path in files_root.rglob("*"))


def test_slides_over_the_size_limit_are_refused(login, researcher, seminar, settings):
    settings.SEMINAR_SLIDES_MAX_BYTES = 20

    response = login(researcher).post(
        materials_url(seminar), materials(slides=SimpleUploadedFile("s.pdf", PDF, "application/pdf"))
    )

    assert "The slides are larger than" in response.text
    seminar.refresh_from_db()
    assert not seminar.slides


def test_unknown_papers_and_bad_links_are_refused(login, researcher, seminar):
    response = login(researcher).post(
        materials_url(seminar), materials(papers="2601.99999 not-an-id", recording_url="javascript:alert(1)")
    )

    assert "Not an arXiv identifier: not-an-id." in response.text
    assert "Enter a valid URL." in response.text
    seminar.refresh_from_db()
    assert seminar.recording_url == ""


def test_removing_the_slides_deletes_the_file(login, researcher, seminar, django_capture_on_commit_callbacks):
    client = login(researcher)
    client.post(materials_url(seminar), materials(slides=SimpleUploadedFile("s.pdf", PDF, "application/pdf")))
    seminar.refresh_from_db()
    stored, storage = seminar.slides.name, seminar.slides.storage

    with django_capture_on_commit_callbacks(execute=True):
        client.post(materials_url(seminar), materials(remove_slides="on"))

    seminar.refresh_from_db()
    assert not seminar.slides
    assert not storage.exists(stored)
    assert login(researcher).get(f"/seminars/talks/{seminar.pk}/slides/").status_code == 404


def test_materials_are_edited_by_host_speaker_and_leads_only(
    client, login, researcher, speaker, lead, other_researcher, seminar
):
    url = materials_url(seminar)

    anonymous = client.get(url)
    other_get = login(other_researcher).get(url)
    other_post = login(other_researcher).post(url, materials(recording_url="https://evil.example.org/"))
    by_host = login(researcher).get(url)
    by_speaker = login(speaker).post(url, materials(slides_url="https://slides.example.org/deck"))
    by_lead = login(lead).get(url)
    missing = login(lead).get("/seminars/talks/999999/materials/")

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert other_get.status_code == 403
    assert other_post.status_code == 403
    assert by_host.status_code == 200
    assert by_speaker.status_code == 302
    assert by_lead.status_code == 200
    assert missing.status_code == 404
    seminar.refresh_from_db()
    assert seminar.slides_url == "https://slides.example.org/deck"
    assert seminar.recording_url == ""


def test_slides_download_needs_a_login(client, login, researcher, seminar):
    login(researcher).post(
        materials_url(seminar), materials(slides=SimpleUploadedFile("s.pdf", PDF, "application/pdf"))
    )
    client.logout()

    response = client.get(f"/seminars/talks/{seminar.pk}/slides/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# Feedback


def feedback_url(talk: Talk) -> str:
    return f"/seminars/talks/{talk.pk}/feedback/give/"


def test_feedback_opens_when_the_talk_starts(login, researcher, other_researcher):
    upcoming = make_talk(host=researcher, starts_at=datetime.now(UTC) + timedelta(days=1))
    client = login(other_researcher)

    page = client.get(upcoming.get_absolute_url())
    response = client.post(feedback_url(upcoming), {"rating": 5})

    assert "Send feedback" not in page.text
    assert response.status_code == 403
    assert not Feedback.objects.exists()


def test_attendee_gives_feedback_once_and_can_change_it(login, other_researcher, seminar):
    client = login(other_researcher)

    first = client.post(feedback_url(seminar), {"rating": 3, "comments": "Hard to follow."}, follow=True)
    page = client.get(seminar.get_absolute_url())
    client.post(feedback_url(seminar), {"rating": 4, "comments": "Clearer on a second look."})

    assert "your feedback is saved" in first.text
    assert "Update my feedback" in page.text
    feedback = Feedback.objects.get()
    assert (feedback.user, feedback.rating, feedback.comments) == (
        other_researcher,
        4,
        "Clearer on a second look.",
    )


def test_anyone_in_the_lab_may_give_feedback_without_a_seat(login, other_researcher, lead, seminar):
    # Walk-ins and online listeners never signed up; a seat only marks the answer for the host.
    Registration.objects.create(talk=seminar, user=lead, status=Registration.Status.CONFIRMED)

    login(other_researcher).post(feedback_url(seminar), {"rating": 4})
    login(lead).post(feedback_url(seminar), {"rating": 5})

    assert Feedback.objects.count() == 2


def test_feedback_is_refused_to_the_speaker_and_for_cancelled_talks(
    login, speaker, other_researcher, seminar
):
    cancelled = make_talk(starts_at=datetime.now(UTC) - timedelta(hours=2), status=Talk.Status.CANCELLED)

    own = login(speaker).post(feedback_url(seminar), {"rating": 5})
    on_cancelled = login(other_researcher).post(feedback_url(cancelled), {"rating": 1})
    by_get = login(other_researcher).get(feedback_url(seminar))
    missing = login(other_researcher).post("/seminars/talks/999999/feedback/give/", {"rating": 1})

    assert own.status_code == 403
    assert on_cancelled.status_code == 403
    assert by_get.status_code == 405
    assert missing.status_code == 404
    assert not Feedback.objects.exists()


def test_feedback_with_a_rating_out_of_range_is_not_saved(login, other_researcher, seminar):
    response = login(other_researcher).post(
        feedback_url(seminar), {"rating": 6, "comments": "x"}, headers={"HX-Request": "true"}
    )

    assert "<html" not in response.text
    assert f'id="feedback-{seminar.pk}"' in response.text
    assert "Select a valid choice" in response.text
    assert not Feedback.objects.exists()


def test_feedback_with_htmx_answers_with_the_feedback_box_only(login, other_researcher, seminar):
    response = login(other_researcher).post(
        feedback_url(seminar), {"rating": 5, "comments": "Great"}, headers={"HX-Request": "true"}
    )

    assert "<html" not in response.text
    assert "Thank you: your feedback is saved." in response.text
    assert "Update my feedback" in response.text
    assert Feedback.objects.get().rating == 5


@pytest.fixture
def answered(seminar, other_researcher, make_person):
    Feedback.objects.create(talk=seminar, user=other_researcher, rating=2, comments="Slides too dense")
    Feedback.objects.create(talk=seminar, user=make_person("yuna", display_name="Yuna Choi"), rating=5)
    return seminar


@pytest.mark.parametrize(
    ("persona", "status", "names"),
    [
        ("other_researcher", 403, None),
        ("researcher", 200, True),  # the host
        ("lead", 200, True),
        ("speaker", 200, False),
    ],
)
def test_feedback_is_read_by_speaker_host_and_leads_only(request, login, answered, persona, status, names):
    person = request.getfixturevalue(persona)

    response = login(person).get(f"/seminars/talks/{answered.pk}/feedback/")

    assert response.status_code == status
    if status == 200:
        assert "Slides too dense" in response.text
        assert "2 answers, 3.5 out of 5 on average." in response.text
        assert ("Taeho Yoon" in response.text) is names
        assert ("Yuna Choi" in response.text) is names


def test_feedback_page_sends_anonymous_visitors_to_log_in(client, answered):
    response = client.get(f"/seminars/talks/{answered.pk}/feedback/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_talk_page_shows_the_feedback_summary_to_readers_only(login, researcher, make_person, answered):
    for_host = login(researcher).get(answered.get_absolute_url())
    for_other = login(make_person("hana")).get(answered.get_absolute_url())

    assert "2 answers, 3.5 out of 5 on average." in for_host.text
    assert "Read the feedback" in for_host.text
    assert "out of 5 on average" not in for_other.text
    assert "Read the feedback" not in for_other.text
    assert "Slides too dense" not in for_other.text


# Action items


def items_url(talk: Talk) -> str:
    return f"/seminars/talks/{talk.pk}/action-items/"


def test_host_notes_an_action_item_for_a_lab_member(login, researcher, speaker, seminar):
    response = login(researcher).post(
        items_url(seminar),
        {"owner": speaker.pk, "text": "Rerun the ablation on 8 GPUs", "due_date": "2030-01-15"},
    )

    assert response.status_code == 302
    item = ActionItem.objects.get()
    assert (item.owner, item.created_by, item.due_date) == (speaker, researcher, date(2030, 1, 15))
    assert item.done_at is None


def test_action_items_are_noted_by_host_speaker_and_leads_only(
    client, login, researcher, speaker, lead, other_researcher, seminar
):
    data = {"owner": other_researcher.pk, "text": "Share the code"}

    anonymous = client.post(items_url(seminar), data)
    other = login(other_researcher).post(items_url(seminar), data)
    by_speaker = login(speaker).post(items_url(seminar), data)
    by_lead = login(lead).post(items_url(seminar), data)
    by_host = login(researcher).post(items_url(seminar), data)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert other.status_code == 403
    assert (by_speaker.status_code, by_lead.status_code, by_host.status_code) == (302, 302, 302)
    assert ActionItem.objects.count() == 3


def test_action_items_belong_to_internal_seminars(login, researcher, other_researcher):
    techtalk = make_talk(kind=Talk.Kind.TECHTALK, host=researcher)

    response = login(researcher).post(items_url(techtalk), {"owner": other_researcher.pk, "text": "x"})

    assert response.status_code == 403
    assert not ActionItem.objects.exists()


def test_action_item_form_errors_come_back_in_the_partial(login, researcher, seminar):
    response = login(researcher).post(
        items_url(seminar), {"owner": "", "text": ""}, headers={"HX-Request": "true"}
    )

    assert "<html" not in response.text
    assert f'id="action-items-{seminar.pk}"' in response.text
    assert "This field is required." in response.text
    assert not ActionItem.objects.exists()


def test_owner_marks_an_item_done_and_open_again(login, researcher, other_researcher, lead, seminar):
    item = ActionItem.objects.create(talk=seminar, owner=other_researcher, text="Write the related work")
    url = f"/seminars/action-items/{item.pk}/done/"

    by_host = login(researcher).post(url, {"done": "1"})
    by_lead = login(lead).post(url, {"done": "1"})
    done = login(other_researcher).post(url, {"done": "1"}, headers={"HX-Request": "true"})
    item.refresh_from_db()
    done_at = item.done_at
    twice = login(other_researcher).post(url, {"done": "1"}, headers={"HX-Request": "true"})
    item.refresh_from_db()
    reopened = login(other_researcher).post(url, {"done": "0", "next": "/"})
    missing = login(other_researcher).post("/seminars/action-items/999999/done/", {"done": "1"})

    assert (by_host.status_code, by_lead.status_code) == (403, 403)
    assert "<html" not in done.text
    assert f'id="action-item-{item.pk}"' in done.text
    assert "<del>Write the related work</del>" in done.text
    assert "Open again" in done.text
    assert done_at is not None
    assert item.done_at == done_at  # a second click changes nothing
    assert twice.status_code == 200
    assert reopened.status_code == 302 and reopened["Location"] == "/"
    item.refresh_from_db()
    assert item.done_at is None
    assert missing.status_code == 404


def test_talk_page_lists_action_items_and_offers_the_form_to_managers(
    login, researcher, other_researcher, seminar
):
    ActionItem.objects.create(talk=seminar, owner=other_researcher, text="Compare with <b>RWKV</b>")

    for_host = login(researcher).get(seminar.get_absolute_url())
    for_other = login(other_researcher).get(seminar.get_absolute_url())

    assert "Compare with &lt;b&gt;RWKV&lt;/b&gt;" in for_other.text
    assert "Mark done" in for_other.text
    assert "Mark done" not in for_host.text
    assert "Note the action" in for_host.text
    assert "Note the action" not in for_other.text


@pytest.mark.parametrize(
    "path",
    [
        "talks/{talk}/feedback/give/",
        "talks/{talk}/action-items/",
        "action-items/{item}/done/",
        "talks/{talk}/materials/",
    ],
)
def test_anonymous_visitors_change_nothing(client, other_researcher, seminar, path):
    item = ActionItem.objects.create(talk=seminar, owner=other_researcher, text="Share the code")
    url = "/seminars/" + path.format(talk=seminar.pk, item=item.pk)

    response = client.post(url, {"rating": 5, "done": "1", "owner": other_researcher.pk, "text": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Feedback.objects.exists()
    assert ActionItem.objects.get().done_at is None


@pytest.mark.parametrize("path", ["talks/{talk}/action-items/", "action-items/{item}/done/"])
def test_changes_are_posts(login, other_researcher, seminar, path):
    item = ActionItem.objects.create(talk=seminar, owner=other_researcher, text="Share the code")

    response = login(other_researcher).get("/seminars/" + path.format(talk=seminar.pk, item=item.pk))

    assert response.status_code == 405
