"""Invitations and seat confirmations carry the talk's .ics: the same calendar the talk's .ics
link serves, attached to the e-mail through lab_portal.notify, once; chats get the message
without it."""

import email
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from icalendar import Calendar

from lab_portal.models import Channel, Delivery
from seminars.models import Talk
from seminars.registration import sign_up
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.django_db

PERSONAL_CHAT = 5151


def calendar_parts(mail: email.message.EmailMessage) -> list[Calendar]:
    """Each text/calendar part of a received mail, parsed."""
    return [
        Calendar.from_ical(part.get_payload(decode=True))
        for part in mail.walk()
        if part.get_content_type() == "text/calendar"
    ]


def the_event(mail) -> "Calendar":
    [cal] = calendar_parts(mail)
    [event] = cal.walk("VEVENT")
    return event


def plain_text(mail) -> str:
    [part] = [part for part in mail.walk() if part.get_content_type() == "text/plain"]
    return part.get_payload(decode=True).decode()


@pytest.fixture
def talk() -> Talk:
    starts = datetime(2027, 3, 4, 7, 0, tzinfo=UTC)  # 16:00 in Seoul
    return make_talk(title="Sparse attention & friends", starts_at=starts, capacity=1)


def test_a_seat_taken_is_confirmed_by_mail_with_the_talks_ics_once(
    login, researcher, talk, smtp, django_capture_on_commit_callbacks
):
    url = reverse("seminars:sign-up", args=[talk.pk])
    with django_capture_on_commit_callbacks(execute=True):
        login(researcher).post(url)
        login(researcher).post(url)  # "already signed up": nothing more is sent

    [mail] = smtp.messages
    assert mail["To"] == "minji@lab.example.org"
    assert mail["Subject"] == "Your seat at “Sparse attention & friends”"
    assert "You have a seat at “Sparse attention & friends”." in plain_text(mail)
    assert "waiting list" not in plain_text(mail)
    event = the_event(mail)
    assert str(event["UID"]) == str(talk.uid)
    assert str(event["SUMMARY"]) == "Sparse attention & friends"
    assert event.decoded("DTSTART") == talk.starts_at
    [part] = [part for part in mail.walk() if part.get_content_type() == "text/calendar"]
    assert part.get_filename() == "sparse-attention-friends-20270304.ics"
    # The attachment is the calendar the talk's .ics link serves, not a second rendering of it.
    served = login(researcher).get(reverse("seminars:talk-ics", args=[talk.pk]))
    assert part.get_payload(decode=True).replace(b"\r\n", b"\n") == served.content.replace(b"\r\n", b"\n")
    assert Delivery.objects.filter(dedupe_key__startswith="seminars:signed-up:").count() == 1


def test_a_place_on_the_waiting_list_is_not_confirmed_as_a_seat(
    login, researcher, make_person, talk, smtp, django_capture_on_commit_callbacks
):
    sign_up(talk, make_person("ana"))  # the one seat
    with django_capture_on_commit_callbacks(execute=True):
        login(researcher).post(reverse("seminars:sign-up", args=[talk.pk]))

    assert smtp.messages == []
    assert not Delivery.objects.filter(dedupe_key__startswith="seminars:signed-up:").exists()


def test_promotion_from_the_waiting_list_carries_the_ics_by_mail_and_not_in_the_chat(
    login, researcher, make_person, talk, smtp, telegram, django_capture_on_commit_callbacks
):
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=str(PERSONAL_CHAT))
    Channel.objects.create(person=researcher, kind=Channel.Kind.EMAIL, target="")
    ana = make_person("ana")
    sign_up(talk, ana)
    sign_up(talk, researcher)  # waiting

    with django_capture_on_commit_callbacks(execute=True):
        login(ana).post(reverse("seminars:cancel-sign-up", args=[talk.pk]))

    [mail] = smtp.messages
    assert mail["Subject"] == "You have a seat at “Sparse attention & friends”"
    assert str(the_event(mail)["UID"]) == str(talk.uid)
    assert "A seat freed up at “Sparse attention & friends” and it is yours now" in plain_text(mail)
    [chat] = telegram.bot_messages(PERSONAL_CHAT)
    assert "Sparse attention &amp; friends" in chat.text or "Sparse attention & friends" in chat.text
    promoted = Delivery.objects.filter(dedupe_key__startswith="seminars:promoted:")
    by_kind = {delivery.channel.kind: delivery for delivery in promoted.select_related("channel")}
    assert set(by_kind) == {Channel.Kind.EMAIL, Channel.Kind.TELEGRAM}
    assert by_kind[Channel.Kind.TELEGRAM].payload["attachments"] == []
    assert all(delivery.state == Delivery.State.SENT for delivery in promoted)


def test_a_cancelled_talk_confirms_no_seat(researcher, talk, smtp):
    from seminars.registration import tell_signed_up

    registration = sign_up(talk, researcher)
    Talk.objects.filter(pk=talk.pk).update(status=Talk.Status.CANCELLED)

    assert tell_signed_up(registration.pk) is False
    assert not Delivery.objects.filter(dedupe_key__startswith="seminars:signed-up:").exists()


@pytest.mark.django_db(transaction=True)
def test_the_speaker_invitation_carries_the_ics_and_is_sent_once(login, researcher, smtp):
    from seminars.invitations import send_invitation

    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    techtalk = make_talk(
        kind=Talk.Kind.TECHTALK,
        title="Compilers",
        speaker_name="Grace Hopper",
        host=researcher,
        starts_at=starts,
    )
    response = login(researcher).post(
        reverse("seminars:invite-speaker", args=[techtalk.pk]), {"email": "grace@navy.example.org"}
    )
    assert response.status_code == 302
    send_invitation(techtalk.invitations.get().pk)  # a retried task mails nothing new

    [mail] = smtp.messages
    assert mail["To"] == "grace@navy.example.org"
    event = the_event(mail)
    assert str(event["UID"]) == str(techtalk.uid)
    assert str(event["SUMMARY"]) == "Compilers"
    assert event.decoded("DTSTART") == starts
    text = next(part for part in mail.walk() if part.get_content_type() == "text/plain")
    assert "The attached .ics file adds the talk to your calendar." in text.get_content()
