"""Outside speakers: the invitation link (hashed, expiring, revocable, one talk only), the
speaker's own page, the photo, the host's notice and the TBA flag."""

import hashlib
import re
import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import use_local_files
from lab_portal.models import Delivery
from lab_portal.notify import dispatch_due
from reviews.tests.factories import pdf_bytes
from seminars.forms import SpeakerForm
from seminars.invitations import LinkClosed, link_state, shareable_link, submit_speaker_details
from seminars.models import Feedback, Registration, SpeakerInvitation, Talk
from seminars.tasks import flag_tba_talks
from seminars.tests.factories import make_talk

# Committed for real, so the mail that services send on commit goes out as in production.
pytestmark = pytest.mark.django_db(transaction=True)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
LINK = re.compile(r"/seminars/talks/(\d+)/speaker/([A-Za-z0-9_-]+)/")


@pytest.fixture
def host(researcher):
    return researcher


@pytest.fixture
def techtalk(host) -> Talk:
    return make_talk(
        kind=Talk.Kind.TECHTALK,
        title="TBA",
        speaker_name="Grace Hopper",
        host=host,
        starts_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=60),
    )


def invite(client, talk: Talk, email: str = "grace@navy.example.org") -> str:
    """Send the link as `client` and return the path the speaker received."""
    sent = len(mail.outbox)
    response = client.post(f"/seminars/talks/{talk.pk}/invite-speaker/", {"email": email})
    assert response.status_code == 302
    assert len(mail.outbox) == sent + 1
    return LINK.search(mail.outbox[-1].body).group(0)


def invitations_link(talk: Talk) -> str:
    return shareable_link(link_state(SpeakerInvitation.objects.get(talk=talk)))


def details(**changes) -> dict:
    data = {
        "speaker_name": "Grace Hopper",
        "speaker_affiliation": "US Navy",
        "title": "Compilers for everyone, $O(n)$",
        "abstract": "We show that $e^{i\\pi} + 1 = 0$.",
        "speaker_bio": "Wrote the first compiler.",
        "speaker_homepage": "https://grace.example.org/",
        "speaker_timezone": "America/New_York",
        "recording_consent": "yes",
    }
    data.update(changes)
    return data


def test_invitation_mails_a_link_whose_token_is_stored_only_as_its_hash(login, host, techtalk):
    path = invite(login(host), techtalk)

    token = LINK.search(path).group(2)
    invitation = SpeakerInvitation.objects.get(talk=techtalk)
    message = mail.outbox[-1]
    assert message.to == ["grace@navy.example.org"]
    assert "Minji Kim has invited you" in message.body
    assert len(token) >= 43
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = SpeakerInvitation.objects.filter(pk=invitation.pk).values().get()
    assert not any(token in str(value) for value in stored.values())
    # The mail's own record keeps no live link either, once the mail is sent.
    delivery = Delivery.objects.get(dedupe_key__startswith="seminars:speaker-invitation:")
    assert (delivery.state, delivery.redacted) == (Delivery.State.SENT, True)
    assert not any(token in str(value) for value in Delivery.objects.values().get().values())
    assert f"/speaker/{Delivery.REDACTED}/" in delivery.payload["text"]
    techtalk.refresh_from_db()
    assert techtalk.speaker_email == "grace@navy.example.org"


def test_speaker_fills_in_the_talk_without_an_account_and_the_host_is_told(client, login, host, techtalk):
    path = invite(login(host), techtalk)
    client.logout()

    page = client.get(path)
    response = client.post(path, details(), follow=True)

    assert page.status_code == 200
    assert "Your talk at the lab" in page.text
    # Same-origin: the form posts with its Origin (CSRF), other sites get no referrer at all.
    assert page["Referrer-Policy"] == "same-origin"
    assert "your talk is confirmed" in response.text
    techtalk.refresh_from_db()
    assert techtalk.title == "Compilers for everyone, $O(n)$"
    assert techtalk.speaker_affiliation == "US Navy"
    assert techtalk.speaker_timezone == "America/New_York"
    assert techtalk.recording_consent is True
    assert techtalk.speaker_confirmed_at is not None
    invitation = SpeakerInvitation.objects.get(talk=techtalk)
    assert invitation.used_at is not None and invitation.last_used_at is not None
    notice = mail.outbox[-1]
    assert notice.to == [host.email]
    assert "Grace Hopper confirmed their talk" in notice.subject
    assert "agree to the talk being recorded" in notice.body


def test_host_is_told_again_when_the_speaker_changes_the_details(client, login, host, techtalk):
    path = invite(login(host), techtalk)
    client.logout()
    client.post(path, details())

    client.post(path, details(title="A better title", recording_consent="no"))

    techtalk.refresh_from_db()
    assert techtalk.title == "A better title"
    assert techtalk.recording_consent is False
    assert "Grace Hopper updated their talk “A better title”" in mail.outbox[-1].subject
    assert "do not want the talk recorded" in mail.outbox[-1].body


def test_speaker_must_give_a_real_title_and_a_consent_answer(client, login, host, techtalk):
    path = invite(login(host), techtalk)
    client.logout()

    response = client.post(path, details(title=" tba ", recording_consent=""))

    assert response.status_code == 200
    assert "Give your talk its title." in response.text
    assert "This field is required." in response.text
    techtalk.refresh_from_db()
    assert techtalk.title == "TBA"
    assert techtalk.speaker_confirmed_at is None


def test_speaker_homepage_must_be_a_web_address(client, login, host, techtalk):
    path = invite(login(host), techtalk)
    client.logout()

    response = client.post(path, details(speaker_homepage="javascript:alert(1)"))

    assert "Enter a valid URL." in response.text
    techtalk.refresh_from_db()
    assert techtalk.speaker_homepage == ""


PDF = pdf_bytes()  # a PDF a parser can read: the slides are checked like drafts


def past_talk(host) -> Talk:
    return make_talk(
        kind=Talk.Kind.TECHTALK,
        title="Compilers for everyone",
        speaker_name="Grace Hopper",
        host=host,
        starts_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=2),
    )


def test_link_works_for_the_configured_days_after_the_talk_then_closes(client, login, host, settings):
    settings.SEMINAR_SPEAKER_LINK_DAYS_AFTER = 14
    talk = past_talk(host)
    path = invite(login(host), talk)
    client.logout()

    with time_machine.travel(talk.ends_at + timedelta(days=13, hours=23), tick=False):
        after = client.get(path)
        edit = client.post(path, details(title="Changed after the talk"), follow=True)
    with time_machine.travel(talk.ends_at + timedelta(days=14, seconds=1), tick=False):
        gone = client.get(path)
        upload = client.post(path, {"upload_slides": "1", "slides": SimpleUploadedFile("s.pdf", PDF)})

    assert after.status_code == 200
    assert "Your talk is over" in after.text
    assert 'name="speaker_name"' not in after.text  # the details are closed after the talk
    assert 'name="upload_slides"' in after.text
    assert "its details can no longer be changed" in edit.text
    assert gone.status_code == 410
    assert "its link closed 14 days after it" in gone.text
    assert upload.status_code == 410
    talk.refresh_from_db()
    assert (talk.title, talk.slides.name) == ("Compilers for everyone", "")


def test_link_follows_the_talk_when_it_moves_later(client, login, host, settings):
    settings.SEMINAR_SPEAKER_LINK_DAYS_AFTER = 14
    talk = past_talk(host)
    path = invite(login(host), talk)
    client.logout()
    first_end = talk.ends_at
    Talk.objects.filter(pk=talk.pk).update(
        starts_at=talk.starts_at + timedelta(days=10), ends_at=talk.ends_at + timedelta(days=10)
    )

    with time_machine.travel(first_end + timedelta(days=15), tick=False):
        response = client.get(path)

    assert response.status_code == 200


def test_speaker_uploads_slides_after_the_talk_and_the_attendees_are_told(client, login, host, make_person):
    talk = past_talk(host)
    attendee = make_person("hana")
    Registration.objects.create(talk=talk, user=attendee, status=Registration.Status.CONFIRMED)
    path = invite(login(host), talk)
    client.logout()

    with time_machine.travel(talk.ends_at + timedelta(days=3), tick=False):
        wrong = client.post(path, {"upload_slides": "1", "slides": SimpleUploadedFile("s.pdf", b"GIF89a")})
        done = client.post(
            path, {"upload_slides": "1", "slides": SimpleUploadedFile("talk.pdf", PDF)}, follow=True
        )
        again = client.post(path, {"upload_slides": "1", "slides": SimpleUploadedFile("v2.pdf", PDF)})

    assert wrong.status_code == 400
    assert "The slides must be a PDF file." in wrong.text
    assert "Your slides are up" in done.text
    assert again.status_code == 302
    talk.refresh_from_db()
    assert talk.slides.name.endswith(".pdf")
    assert talk.slides.read().startswith(b"%PDF-")
    told = Delivery.objects.filter(channel__person=attendee, dedupe_key=f"talk:{talk.uid}:slides-posted")
    assert told.count() == 1  # the replacement tells nobody again
    assert [m.subject for m in mail.outbox if m.to == [attendee.email]] == [
        "Slides are up: Compilers for everyone"
    ]


def test_speaker_reads_the_feedback_without_names(client, login, host, make_person):
    talk = past_talk(host)
    for name, rating, comments in [("hana", 5, "<b>Clear</b> and fun"), ("yuna", 3, "")]:
        Feedback.objects.create(talk=talk, user=make_person(name, display_name=f"{name.title()} Secret"),
                                rating=rating, comments=comments)  # fmt: skip
    path = invite(login(host), talk)
    client.logout()

    with time_machine.travel(talk.starts_at - timedelta(hours=1), tick=False):
        before = client.get(path)
    with time_machine.travel(talk.ends_at + timedelta(days=1), tick=False):
        after = client.get(path)

    assert "What the audience said" not in before.text
    assert "What the audience said" in after.text
    assert "2 people gave feedback" in after.text
    assert "&lt;b&gt;Clear&lt;/b&gt; and fun" in after.text
    assert "5 of 5" in after.text and "3 of 5" in after.text
    assert "Secret" not in after.text and "hana" not in after.text


def test_revoked_link_after_the_talk_uploads_nothing(client, login, host):
    talk = past_talk(host)
    host_client = login(host)
    path = invite(host_client, talk)
    host_client.post(f"/seminars/talks/{talk.pk}/revoke-invitation/")
    client.logout()

    with time_machine.travel(talk.ends_at + timedelta(days=1), tick=False):
        page = client.get(path)
        upload = client.post(path, {"upload_slides": "1", "slides": SimpleUploadedFile("s.pdf", PDF)})

    assert (page.status_code, upload.status_code) == (410, 410)
    assert "This link was withdrawn" in upload.text
    talk.refresh_from_db()
    assert talk.slides.name == ""


def test_link_of_a_cancelled_talk_no_longer_opens(client, login, host, techtalk):
    path = invite(login(host), techtalk)
    Talk.objects.filter(pk=techtalk.pk).update(status=Talk.Status.CANCELLED)
    client.logout()

    response = client.get(path)

    assert response.status_code == 410
    assert "This talk has been cancelled." in response.text


def test_host_revokes_the_link(client, login, host, techtalk):
    host_client = login(host)
    path = invite(host_client, techtalk)

    revoked = host_client.post(f"/seminars/talks/{techtalk.pk}/revoke-invitation/", follow=True)
    client.logout()
    response = client.get(path)

    assert "no longer works" in revoked.text
    assert SpeakerInvitation.objects.get(talk=techtalk).revoked_at is not None
    assert response.status_code == 410
    assert "This link was withdrawn" in response.text
    assert client.post(path, details()).status_code == 410


def test_resending_revokes_the_previous_link(client, login, host, techtalk):
    host_client = login(host)
    first = invite(host_client, techtalk)
    second = invite(host_client, techtalk, email="grace.hopper@example.org")
    client.logout()

    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200
    assert mail.outbox[-1].to == ["grace.hopper@example.org"]
    live = [i for i in SpeakerInvitation.objects.filter(talk=techtalk) if i.revoked_at is None]
    assert len(live) == 1 and live[0].email == "grace.hopper@example.org"


def test_a_token_opens_its_own_talk_and_no_other(client, login, host, techtalk):
    other = make_talk(kind=Talk.Kind.TECHTALK, title="Someone else's talk", host=host)
    path = invite(login(host), techtalk)
    token = LINK.search(path).group(2)
    client.logout()

    wrong_talk = client.get(f"/seminars/talks/{other.pk}/speaker/{token}/")
    posted = client.post(f"/seminars/talks/{other.pk}/speaker/{token}/", details())
    unknown = client.get(f"/seminars/talks/{techtalk.pk}/speaker/{'x' * 43}/")

    assert wrong_talk.status_code == 404
    assert "This link does not open any talk" in wrong_talk.text
    assert posted.status_code == 404
    assert unknown.status_code == 404
    other.refresh_from_db()
    assert other.title == "Someone else's talk"


def test_photo_is_checked_by_its_content_not_its_name(client, login, host, techtalk):
    path = invite(login(host), techtalk)
    client.logout()
    disguised = SimpleUploadedFile("me.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")

    response = client.post(path, {**details(), "photo": disguised})

    assert response.status_code == 200
    assert "The photo must be a JPEG or PNG image." in response.text
    techtalk.refresh_from_db()
    assert not techtalk.speaker_photo
    assert techtalk.title == "TBA"


def test_photo_over_the_size_limit_is_refused(client, login, host, techtalk, settings):
    settings.SEMINAR_PHOTO_MAX_BYTES = 100
    path = invite(login(host), techtalk)
    client.logout()

    response = client.post(path, {**details(), "photo": SimpleUploadedFile("me.png", PNG, "image/png")})

    assert "The photo is larger than" in response.text
    techtalk.refresh_from_db()
    assert not techtalk.speaker_photo


def test_photo_is_stored_under_its_real_type_and_shown_to_logged_in_people(
    client, login, host, techtalk, other_researcher
):
    path = invite(login(host), techtalk)
    client.logout()
    # A PNG named as a JPEG is stored and served as what it is.
    client.post(path, {**details(), "photo": SimpleUploadedFile("me.jpeg", PNG, "image/jpeg")})
    techtalk.refresh_from_db()

    anonymous = client.get(f"/seminars/talks/{techtalk.pk}/speaker-photo/")
    seen = login(other_researcher).get(f"/seminars/talks/{techtalk.pk}/speaker-photo/")
    page = client.get(techtalk.get_absolute_url())

    assert techtalk.speaker_photo.name.endswith(".png")
    assert anonymous.status_code == 302
    assert seen.status_code == 200
    assert seen["Content-Type"] == "image/png"
    assert b"".join(seen.streaming_content) == PNG
    assert f'src="/seminars/talks/{techtalk.pk}/speaker-photo/"' in page.text


def test_a_new_photo_replaces_and_deletes_the_old_one(client, login, host, techtalk):
    path = invite(login(host), techtalk)
    client.logout()
    client.post(path, {**details(), "photo": SimpleUploadedFile("a.jpg", JPEG, "image/jpeg")})
    techtalk.refresh_from_db()
    old = techtalk.speaker_photo.path

    client.post(path, {**details(), "photo": SimpleUploadedFile("b.png", PNG, "image/png")})

    techtalk.refresh_from_db()
    assert techtalk.speaker_photo.name.endswith(".png")
    assert techtalk.speaker_photo.storage.exists(techtalk.speaker_photo.name)
    assert not techtalk.speaker_photo.storage.exists(old)


@pytest.fixture(params=["local", "s3"])
def failing_storage(request, settings, tmp_path):
    """Make the file storage refuse writes: a file where the local directory should be, or a bucket
    that does not exist; calling the result makes it work again."""
    if request.param == "local":
        working = settings.STORAGES["default"]
        blocked = tmp_path / "not-a-directory"
        blocked.write_text("a file where the upload directory should be")
        use_local_files(settings, blocked)
    else:
        request.getfixturevalue("s3_files")
        working = settings.STORAGES["default"]
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {**working, "OPTIONS": {**working["OPTIONS"], "bucket_name": "no-such-bucket"}},
        }

    def repair() -> None:
        settings.STORAGES = {**settings.STORAGES, "default": working}

    return repair


def test_a_photo_the_storage_refuses_saves_nothing_and_says_so(
    client, login, host, techtalk, failing_storage
):
    path = invite(login(host), techtalk)
    client.logout()
    mailed = len(mail.outbox)

    refused = client.post(path, {**details(), "photo": SimpleUploadedFile("me.png", PNG, "image/png")})

    techtalk.refresh_from_db()
    assert refused.status_code == 503
    assert "could not be stored just now, so nothing was saved" in refused.text
    assert "Compilers for everyone" in refused.text  # what they typed is still in the form
    assert techtalk.title == "TBA" and techtalk.speaker_confirmed_at is None
    assert not techtalk.speaker_photo
    assert SpeakerInvitation.objects.get().used_at is None
    assert len(mail.outbox) == mailed  # the host is not told of a confirmation that did not happen

    failing_storage()
    again = client.post(path, {**details(), "photo": SimpleUploadedFile("me.png", PNG, "image/png")})

    techtalk.refresh_from_db()
    assert again.status_code == 302
    assert techtalk.speaker_photo.name.endswith(".png")
    assert techtalk.speaker_photo.storage.exists(techtalk.speaker_photo.name)
    assert len(mail.outbox) == mailed + 1


def test_a_refused_new_photo_keeps_the_old_one(client, login, host, techtalk, files_root, settings, tmp_path):
    path = invite(login(host), techtalk)
    client.logout()
    client.post(path, {**details(), "photo": SimpleUploadedFile("a.jpg", JPEG, "image/jpeg")})
    techtalk.refresh_from_db()
    old = techtalk.speaker_photo.name
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the upload directory should be")
    use_local_files(settings, blocked)

    refused = client.post(
        path, {**details(title="A new title"), "photo": SimpleUploadedFile("b.png", PNG, "image/png")}
    )

    use_local_files(settings, files_root)
    techtalk.refresh_from_db()
    assert refused.status_code == 503
    assert techtalk.speaker_photo.name == old
    assert techtalk.title == "Compilers for everyone, $O(n)$"
    assert techtalk.speaker_photo.storage.exists(old)


def test_photo_view_is_404_without_a_photo(login, researcher, techtalk):
    response = login(researcher).get(f"/seminars/talks/{techtalk.pk}/speaker-photo/")

    assert response.status_code == 404


def test_abstract_preview_renders_markdown_with_math_and_saves_nothing(client, login, host, techtalk):
    path = invite(login(host), techtalk)
    client.logout()
    typed = {**details(), "abstract": "**Bold** and $x^2$ <script>alert(1)</script>", "preview": "1"}

    partial = client.post(path, typed, headers={"HX-Request": "true"})
    page = client.post(path, typed)

    assert "<html" not in partial.text
    assert '<div id="abstract-preview"' in partial.text
    assert "<strong>Bold</strong>" in partial.text
    assert 'class="math inline"' in partial.text
    assert "<script>alert(1)" not in partial.text
    assert "<html" in page.text and "<strong>Bold</strong>" in page.text
    techtalk.refresh_from_db()
    assert techtalk.title == "TBA"
    assert techtalk.speaker_confirmed_at is None
    assert len(mail.outbox) == 1  # the invitation only; the host heard nothing


def test_only_the_host_and_leads_invite_and_revoke(client, login, host, lead, other_researcher, techtalk):
    url = f"/seminars/talks/{techtalk.pk}/invite-speaker/"
    revoke = f"/seminars/talks/{techtalk.pk}/revoke-invitation/"

    anonymous = client.post(url, {"email": "a@example.org"})
    other = login(other_researcher).post(url, {"email": "a@example.org"})
    other_revoke = login(other_researcher).post(revoke)
    by_lead = login(lead).post(url, {"email": "b@example.org"})
    by_host = login(host).post(url, {"email": "c@example.org"})
    missing = login(host).post("/seminars/talks/999999/invite-speaker/", {"email": "c@example.org"})
    by_get = login(host).get(url)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert other.status_code == 403
    assert other_revoke.status_code == 403
    assert by_lead.status_code == 302
    assert by_host.status_code == 302
    assert missing.status_code == 404
    assert by_get.status_code == 405
    assert [m.to for m in mail.outbox] == [["b@example.org"], ["c@example.org"]]


def test_only_a_techtalk_speaker_is_invited_by_link(login, host):
    seminar = make_talk(kind=Talk.Kind.SEMINAR, host=host)

    response = login(host).post(
        f"/seminars/talks/{seminar.pk}/invite-speaker/", {"email": "a@example.org"}, follow=True
    )

    assert "Only a Techtalk" in response.text
    assert not SpeakerInvitation.objects.exists()
    assert mail.outbox == []


def test_invitation_with_htmx_answers_with_the_panel_only(login, host, techtalk):
    client = login(host)

    response = client.post(
        f"/seminars/talks/{techtalk.pk}/invite-speaker/",
        {"email": "grace@example.org"},
        headers={"HX-Request": "true"},
    )
    bad = client.post(
        f"/seminars/talks/{techtalk.pk}/invite-speaker/",
        {"email": "not an address"},
        headers={"HX-Request": "true"},
    )

    assert "<html" not in response.text
    assert f'id="speaker-invitation-{techtalk.pk}"' in response.text
    assert "A link is on its way to grace@example.org." in response.text
    assert "Sent to grace@example.org" in response.text
    assert "Enter a valid email address." in bad.text
    assert SpeakerInvitation.objects.count() == 1


def test_talk_page_shows_the_link_state_to_the_host_only(login, host, other_researcher, techtalk):
    invite(login(host), techtalk)

    for_host = login(host).get(techtalk.get_absolute_url())
    for_other = login(other_researcher).get(techtalk.get_absolute_url())

    assert "Sent to grace@navy.example.org" in for_host.text
    assert "Revoke the link" in for_host.text
    assert "grace@navy.example.org" not in for_other.text
    assert "Revoke the link" not in for_other.text


def test_live_link_is_shown_to_copy_to_the_host_and_leads_and_to_nobody_else(
    client, login, host, lead, other_researcher, techtalk
):
    path = invite(login(host), techtalk)
    mailed = mail.outbox[-1].body
    url = techtalk.get_absolute_url()

    for_host = login(host).get(url)
    for_lead = login(lead).get(url)
    for_other = login(other_researcher).get(url)
    client.logout()
    anonymous = client.get(url)

    link = f"http://127.0.0.1:8000{path}"
    assert link in mailed
    assert f'value="{link}"' in for_host.text
    assert f'value="{link}"' in for_lead.text
    token = LINK.search(path).group(2)
    assert token not in for_other.text
    assert "The link, to pass on to the speaker" not in for_other.text
    assert anonymous.status_code == 302 and token not in anonymous.text


def test_link_shown_to_the_host_follows_resending_and_revoking(login, host, techtalk):
    host_client = login(host)
    first = invite(host_client, techtalk)
    second = invite(host_client, techtalk, email="grace.hopper@example.org")

    after_resend = host_client.get(techtalk.get_absolute_url())
    host_client.post(f"/seminars/talks/{techtalk.pk}/revoke-invitation/")
    after_revoke = host_client.get(techtalk.get_absolute_url())

    assert second in after_resend.text
    assert first not in after_resend.text
    assert second not in after_revoke.text
    assert "The link, to pass on to the speaker" not in after_revoke.text


def test_expired_link_is_no_longer_shown_to_the_host(login, host, techtalk, settings):
    settings.SEMINAR_SPEAKER_LINK_DAYS_AFTER = 3
    path = invite(login(host), techtalk)

    with time_machine.travel(techtalk.ends_at + timedelta(days=3, seconds=1), tick=False):
        page = login(host).get(techtalk.get_absolute_url())

    assert path not in page.text
    assert "no longer works" in page.text


def test_link_is_not_shown_after_the_secret_key_changed_but_the_mailed_one_still_opens(
    client, login, host, techtalk, settings
):
    path = invite(login(host), techtalk)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = []

    page = login(host).get(techtalk.get_absolute_url())
    client.logout()
    speaker = client.get(path)

    token = LINK.search(path).group(2)
    assert token not in page.text
    assert "The link shows here once its e-mail has gone out" in page.text
    assert speaker.status_code == 200


def test_speaker_details_are_shown_escaped_on_the_talk_page(client, login, host, techtalk, other_researcher):
    path = invite(login(host), techtalk)
    client.logout()
    client.post(path, details(speaker_bio="<img src=x onerror=alert(1)> *kind*"))

    page = login(other_researcher).get(techtalk.get_absolute_url())

    assert "<img src=x" not in page.text
    assert "<em>kind</em>" in page.text
    assert 'href="https://grace.example.org/"' in page.text


def test_tba_talks_a_week_ahead_are_flagged_to_their_host_once(host, make_person):
    now = datetime.now(UTC)
    tba = make_talk(title="TBA", host=host, starts_at=now + timedelta(days=5))
    make_talk(title="A real title", host=host, starts_at=now + timedelta(days=5))
    make_talk(title="TBA", host=host, starts_at=now + timedelta(days=10))
    make_talk(title="TBA", host=host, starts_at=now + timedelta(days=3), status=Talk.Status.CANCELLED)
    make_talk(title="TBA", starts_at=now + timedelta(days=4))  # nobody to tell

    first = flag_tba_talks.delay().get()
    second = flag_tba_talks.delay().get()

    assert (first, second) == (1, 0)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [host.email]
    assert "still titled TBA" in mail.outbox[0].subject
    tba.refresh_from_db()
    assert tba.tba_flagged_at is not None


def test_tba_notice_waits_out_a_mail_server_that_is_down_and_goes_once(
    host, settings, django_capture_on_commit_callbacks
):
    talk = make_talk(title="TBA", host=host, starts_at=datetime.now(UTC) + timedelta(days=5))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    working = settings.MAILERS
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port, "timeout": 2},
        }
    }

    with django_capture_on_commit_callbacks(execute=True):
        flagged = flag_tba_talks.delay().get()
        again = flag_tba_talks.delay().get()
    delivery = Delivery.objects.get(dedupe_key=f"seminars:talk-tba:{talk.pk}")
    waiting = (delivery.state, "refused" in delivery.response.lower())
    settings.MAILERS = working
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=datetime.now(UTC) - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due()

    assert (flagged, again) == (1, 0)
    assert waiting == (Delivery.State.PENDING, True)
    assert [m.to for m in mail.outbox] == [[host.email]]
    assert "still titled TBA" in mail.outbox[0].subject


def test_revoking_is_for_the_host_and_leads(client, login, host, lead, techtalk):
    invite(login(host), techtalk)
    url = f"/seminars/talks/{techtalk.pk}/revoke-invitation/"
    client.logout()

    anonymous = client.post(url)
    by_get = login(lead).get(url)
    live_before = SpeakerInvitation.objects.get().revoked_at is None
    by_lead = login(lead).post(url, headers={"HX-Request": "true"})

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert by_get.status_code == 405
    assert live_before
    assert "<html" not in by_lead.text
    assert "The speaker&#x27;s link no longer works." in by_lead.text
    assert "was revoked on" in by_lead.text
    assert SpeakerInvitation.objects.get().revoked_at is not None


def test_a_link_revoked_while_the_speaker_types_saves_nothing(client, login, host, techtalk):
    path = invite(login(host), techtalk)
    client.logout()
    invitation = SpeakerInvitation.objects.get()
    form = SpeakerForm(details(), instance=Talk.objects.get(pk=techtalk.pk))
    assert form.is_valid()
    login(host).post(f"/seminars/talks/{techtalk.pk}/revoke-invitation/")

    with pytest.raises(LinkClosed):
        submit_speaker_details(invitation, details=form.details())

    techtalk.refresh_from_db()
    assert techtalk.title == "TBA" and techtalk.speaker_confirmed_at is None
    assert SpeakerInvitation.objects.get().used_at is None
    assert client.get(path).status_code == 410


def test_an_invitation_mail_given_up_keeps_no_link_and_is_not_sent_again_by_hand(
    client, login, host, techtalk, portal_admin, settings
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port, "timeout": 2},
        }
    }
    settings.NOTIFY_MAX_ATTEMPTS = 1
    login(host).post(f"/seminars/talks/{techtalk.pk}/invite-speaker/", {"email": "grace@navy.example.org"})
    delivery = Delivery.objects.get(dedupe_key__startswith="seminars:speaker-invitation:")
    link = invitations_link(techtalk)

    response = login(portal_admin).post(
        "/admin/lab_portal/delivery/",
        {"action": "send_again", "_selected_action": [delivery.pk]},
        follow=True,
    )

    delivery.refresh_from_db()
    assert (delivery.state, delivery.redacted) == (Delivery.State.FAILED, True)
    assert link.rsplit("/", 2)[-2] not in str(Delivery.objects.values().get())
    assert "0 deliveries queued again." in response.text
    assert "1 delivery carried a one-time link" in response.text
    # The link itself still opens the page: the host copies it from the talk page, or sends anew.
    client.logout()
    assert client.get(link.removeprefix(settings.SITE_URL)).status_code == 200
