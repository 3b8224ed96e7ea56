"""A new PDF version tells the draft's reviewers, with its change note, once it is stored."""

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from conftest import use_local_files
from lab_portal.models import Channel, Delivery
from reviews import services
from reviews.models import DraftVersion, ReviewAssignment
from reviews.tests.factories import make_draft, pdf_bytes, pdf_upload
from reviews.uploads import check_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(researcher, reviewer, make_person):
    second = make_person("yuna", display_name="Yuna Choi")
    return make_draft(researcher, reviewers=[reviewer, second], title="Sparse attention at scale")


def upload(client, draft, *, note="Added the ablation in section 5.", content=None):
    return client.post(
        reverse("reviews:upload-version", args=[draft.pk]),
        {"pdf": pdf_upload(content or pdf_bytes(b"%v2\n")), "note": note},
    )


def test_new_version_notifies_each_reviewer_with_its_note(
    login, draft, researcher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(login(researcher), draft)

    version = DraftVersion.objects.get(draft=draft, number=2)
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["sora@lab.example.org", "yuna@lab.example.org"]
    message = mail.outbox[0]
    assert message.subject == "Version 2 of “Sparse attention at scale”"
    assert "What changed: Added the ablation in section 5." in message.body
    assert f"/reviews/drafts/{draft.pk}/" in message.body
    keys = set(Delivery.objects.values_list("dedupe_key", flat=True))
    assert keys == {f"draft-version:{version.pk}"}


def test_authors_are_not_notified_of_their_own_version(
    login, draft, researcher, make_person, django_capture_on_commit_callbacks
):
    coauthor = make_person("hana")
    draft.authors.create(person=coauthor, order=1)

    with django_capture_on_commit_callbacks(execute=True):
        upload(login(researcher), draft)

    recipients = {m.to[0] for m in mail.outbox}
    assert "minji@lab.example.org" not in recipients
    assert "hana@lab.example.org" not in recipients
    assert len(recipients) == 2


def test_anonymous_draft_version_notice_names_no_author(
    researcher, reviewer, django_capture_on_commit_callbacks
):
    hidden = make_draft(researcher, reviewers=[reviewer], anonymous=True, title="Hidden")
    pdf = pdf_upload(pdf_bytes(b"%v2\n"))

    # The form asks for a note; a version added without one (by a script, say) still says so.
    with django_capture_on_commit_callbacks(execute=True):
        services.add_version(hidden, upload=pdf, checked=check_pdf(pdf), note="", by=researcher)

    [message] = mail.outbox
    assert "Minji" not in message.body
    assert "Minji" not in message.subject
    assert "The authors left no note on what changed." in message.body


def test_first_version_notifies_nobody(researcher, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        draft = make_draft(researcher, title="Brand new")
        # Reviewers assigned straight away still hear nothing about the first version.
        ReviewAssignment.objects.create(draft=draft, reviewer=reviewer, due=draft.review_by)

    assert mail.outbox == []
    assert not Delivery.objects.exists()


def test_refused_upload_notifies_nobody(login, draft, researcher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(login(researcher), draft, content=b"not a pdf at all")

    assert response.status_code == 200
    assert draft.versions.count() == 1
    assert callbacks == []
    assert not Delivery.objects.exists()


def test_upload_that_fails_in_storage_notifies_nobody(
    login, draft, researcher, settings, tmp_path, django_capture_on_commit_callbacks
):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the draft directory should be")
    use_local_files(settings, blocked)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(login(researcher), draft)

    assert response.status_code == 503
    assert "could not be stored just now, so nothing was saved" in response.text
    assert draft.versions.count() == 1
    assert callbacks == []
    assert mail.outbox == []
    assert not Delivery.objects.exists()


def test_version_rolled_back_with_its_caller_notifies_nobody(
    draft, researcher, django_capture_on_commit_callbacks
):
    pdf = pdf_upload(pdf_bytes(b"%v2\n"))

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.add_version(draft, upload=pdf, checked=check_pdf(pdf), note="Never mind", by=researcher)
        raise RuntimeError("the caller failed after the upload")

    assert callbacks == []
    assert draft.versions.count() == 1
    assert not Delivery.objects.exists()


def test_version_notice_reaches_a_reviewers_chat_too(
    login, draft, researcher, reviewer, telegram, django_capture_on_commit_callbacks
):
    Channel.objects.create(person=reviewer, kind=Channel.Kind.TELEGRAM, target="4242")

    with django_capture_on_commit_callbacks(execute=True):
        upload(login(researcher), draft, note="Fixed Table 2.")

    [arrival] = telegram.sent()
    assert arrival.body["chat_id"] == "4242"
    assert "Version 2 of “Sparse attention at scale”" in arrival.text
    assert "Fixed Table 2." in arrival.text
    # The reviewer who has a chat gets it there, as they chose; the other reviewer by e-mail.
    assert [m.to[0] for m in mail.outbox] == ["yuna@lab.example.org"]


def test_a_notice_that_fails_never_costs_the_stored_pdf(
    transactional_db, client, researcher, reviewer, monkeypatch
):
    """On a real commit (no test transaction around it): the notice runs after the upload's
    transaction, so its failure is logged and the file and its row both stay."""
    draft = make_draft(researcher, reviewers=[reviewer])

    def broken(version):
        raise RuntimeError("the mail queue is down")

    monkeypatch.setattr(services, "notify_new_version", broken)
    client.force_login(researcher)

    response = upload(client, draft)

    assert response.status_code == 302
    version = DraftVersion.objects.get(draft=draft, number=2)
    assert version.file.storage.exists(version.file.name)
