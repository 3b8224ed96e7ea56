"""A new e-mail address is used only once its owner opens the link sent to it, and no address is
ever two accounts': typing someone else's address changes nothing for anyone."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from lab_portal.models import Channel, Delivery, User
from lab_portal.notify import Message, notify
from papers.models import Notification, WatchRule
from papers.tasks import send_digests
from papers.tests.factories import make_paper

pytestmark = pytest.mark.django_db

NEW = "minji.kim@new.example.org"


def profile(person: User, **fields) -> dict:
    return {
        "display_name": person.display_name,
        "email": person.email,
        "timezone": person.timezone,
        "language": person.language,
        **fields,
    }


@pytest.fixture
def ask(login, researcher, smtp, django_capture_on_commit_callbacks):
    """Save the profile with a new address, as the person does, and return the link mailed."""

    def ask_for(address: str = NEW, person: User = researcher) -> str:
        client = login(person)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/me/", profile(person, email=address), follow=True)
        assert "open the link we sent there" in response.text
        body = smtp.messages[-1].get_body(("plain",)).get_content()
        return re.search(r"http://127\.0\.0\.1:8000(/me/email/confirm/[^/\s]+/)", body).group(1)

    return ask_for


def test_a_new_address_waits_and_mail_keeps_going_to_the_old_one(
    ask, login, researcher, smtp, django_capture_on_commit_callbacks
):
    link = ask()

    researcher.refresh_from_db()
    [confirmation] = smtp.messages
    assert (researcher.email, researcher.pending_email) == ("minji@lab.example.org", NEW)
    assert confirmation["To"] == NEW
    assert confirmation["Subject"] == "Confirm your new e-mail address for the Lab Portal"
    assert "account minji" in confirmation.get_body(("plain",)).get_content()
    assert link.startswith("/me/email/confirm/")
    with django_capture_on_commit_callbacks(execute=True):
        notify(researcher, Message(subject="Digest", dedupe_key="digest:1"))
    assert smtp.messages[-1]["To"] == "minji@lab.example.org"
    page = login(researcher).get("/me/")
    assert f"Waiting for you to confirm {NEW}" in page.text
    assert 'value="minji@lab.example.org"' in page.text


def test_the_link_shows_a_button_and_only_the_post_confirms(ask, login, researcher, smtp):
    link = ask()
    client = login(researcher)

    shown = client.get(link)
    researcher.refresh_from_db()
    assert researcher.email == "minji@lab.example.org"  # a mail scanner following links changes nothing
    confirmed = client.post(link, follow=True)

    researcher.refresh_from_db()
    assert shown.status_code == 200 and f"Use {NEW} as the e-mail address of minji?" in shown.text
    assert f"{NEW} is now your e-mail address." in confirmed.text
    assert (researcher.email, researcher.pending_email) == (NEW, "")


def test_mail_goes_to_the_new_address_once_confirmed(
    ask, login, researcher, smtp, django_capture_on_commit_callbacks
):
    link = ask()
    login(researcher).post(link)

    with django_capture_on_commit_callbacks(execute=True):
        notify(researcher, Message(subject="Digest", dedupe_key="digest:2"))

    assert smtp.messages[-1]["To"] == NEW


def test_the_confirmation_rides_on_the_persons_own_email_channel_when_they_chose_others(
    ask, researcher, telegram
):
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target="4242")

    ask()

    email = Channel.objects.get(person=researcher, kind=Channel.Kind.EMAIL)
    delivery = Delivery.objects.get(channel=email)
    # The one e-mail channel that follows the profile address, on as the digest needs it.
    assert (email.target, email.enabled) == ("", True)
    assert email.last_sent_at is None  # the profile address itself got no mail
    assert (delivery.state, delivery.payload["to"]) == ("sent", NEW)
    assert telegram.arrivals == []


def test_the_digest_reaches_a_telegram_only_person_at_the_address_they_changed_to(
    ask, login, researcher, smtp, telegram, time_machine, django_capture_on_commit_callbacks
):
    researcher.timezone = "Asia/Seoul"
    researcher.save()
    Channel.objects.create(
        person=researcher, kind=Channel.Kind.TELEGRAM, target="4242", linked_at=timezone.now()
    )
    rule = WatchRule.objects.create(person=researcher, name="Diffusion", query="diffusion", in_chat=False)
    link = ask()
    login(researcher).post(link)
    time_machine.move_to(datetime(2026, 11, 26, 18, 0, tzinfo=UTC), tick=False)  # Seoul, 03:00
    paper = make_paper(title="Video diffusion at scale")
    Notification.objects.create(person=researcher, paper=paper, rule=rule, reason="keywords: diffusion")

    time_machine.move_to(datetime(2026, 11, 26, 23, 15, tzinfo=UTC), tick=False)  # Seoul, 08:15
    with django_capture_on_commit_callbacks(execute=True):
        result = send_digests.delay().get()

    assert result == {"sent": 1}
    confirmation, digest = smtp.messages
    assert (confirmation["To"], digest["To"]) == (NEW, NEW)
    assert "Video diffusion at scale" in digest.get_body(("plain",)).get_content()


def test_an_email_channel_typed_with_the_old_address_follows_the_new_one(ask, login, researcher):
    typed = Channel.objects.create(person=researcher, kind=Channel.Kind.EMAIL, target=researcher.email)
    link = ask()

    login(researcher).post(link)

    typed.refresh_from_db()
    assert typed.target == NEW
    assert not Channel.objects.filter(target="minji@lab.example.org").exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_link_opened_by_another_account_does_nothing(ask, login, researcher, other_researcher, method):
    link = ask()

    response = getattr(login(other_researcher), method)(link)

    assert response.status_code == 400
    assert "This link does not work" in response.text
    researcher.refresh_from_db()
    other_researcher.refresh_from_db()
    assert (researcher.email, researcher.pending_email) == ("minji@lab.example.org", NEW)
    assert other_researcher.email == "taeho@lab.example.org"


def test_a_link_opened_without_logging_in_asks_for_a_login(ask, researcher):
    link = ask()

    response = Client().get(link)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_expired_link_does_nothing(ask, login, researcher, time_machine):
    time_machine.move_to("2026-11-27 09:00:00Z", tick=False)
    link = ask()
    time_machine.shift(timedelta(days=2, seconds=1))

    response = login(researcher).post(link)

    assert response.status_code == 400
    researcher.refresh_from_db()
    assert researcher.email == "minji@lab.example.org"


def test_asking_for_another_address_retires_the_first_link(ask, login, researcher):
    first = ask()
    second = ask("minji@third.example.org")
    client = login(researcher)

    refused = client.post(first)
    accepted = client.post(second)

    researcher.refresh_from_db()
    assert (refused.status_code, accepted.status_code) == (400, 302)
    assert researcher.email == "minji@third.example.org"


def test_a_link_works_once(ask, login, researcher):
    link = ask()
    client = login(researcher)
    client.post(link)

    again = client.post(link)

    assert again.status_code == 400


def test_cancelling_retires_the_link(ask, login, researcher):
    link = ask()
    client = login(researcher)

    assert client.get("/me/email/cancel").status_code == 405
    cancelled = client.post("/me/email/cancel", follow=True)
    response = client.post(link)

    researcher.refresh_from_db()
    assert "The change of address is cancelled." in cancelled.text
    assert response.status_code == 400
    assert (researcher.email, researcher.pending_email) == ("minji@lab.example.org", "")


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("x", 400),
        ("a" * 3000, 400),
        ("eyJwIjoxfQ:1vQ:forged", 400),
        ("%00", 400),
        ("한글:토큰", 400),
        ("..%2F..%2Fadmin", 404),  # a "/" inside is another URL, which does not exist
    ],
)
def test_a_malformed_link_answers_4xx(login, researcher, token, status):
    client = login(researcher)

    assert client.get(f"/me/email/confirm/{token}/").status_code == status
    assert client.post(f"/me/email/confirm/{token}/").status_code == status
    researcher.refresh_from_db()
    assert researcher.email == "minji@lab.example.org"


def test_an_address_taken_meanwhile_is_not_given(ask, login, researcher, make_person):
    link = ask()
    make_person("newcomer", email=NEW.upper())

    response = login(researcher).post(link)

    researcher.refresh_from_db()
    assert response.status_code == 409 and "belongs to another account now" in response.text
    assert (researcher.email, researcher.pending_email) == ("minji@lab.example.org", "")


@pytest.mark.parametrize("address", ["taeho@lab.example.org", "Taeho@LAB.example.org"])
def test_profile_refuses_another_account_address(login, researcher, other_researcher, smtp, address):
    response = login(researcher).post("/me/", profile(researcher, email=address))

    researcher.refresh_from_db()
    assert "This address belongs to another account." in response.text
    assert (researcher.email, researcher.pending_email) == ("minji@lab.example.org", "")
    assert smtp.messages == []


def test_a_person_left_without_an_address_is_asked_for_one_of_their_own(
    login, make_person, other_researcher, smtp, django_capture_on_commit_callbacks
):
    # What the migration leaves on an account that shared its address with an older one.
    person = make_person("hana", email="", pending_email=other_researcher.email)
    client = login(person)

    page = client.get("/me/")
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post("/me/", profile(person, display_name="Hana"), follow=True)
    mailed_on_save = len(smtp.messages)
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post("/me/", profile(person, email="hana@lab.example.org"), follow=True)

    assert f"{other_researcher.email} belongs to another account" in page.text
    assert "Your profile is saved." in saved.text and mailed_on_save == 0
    assert "To use hana@lab.example.org, open the link we sent there." in asked.text
    assert "Until then mail goes to" not in asked.text
    [mail] = smtp.messages
    assert mail["To"] == "hana@lab.example.org"


def test_saving_the_profile_unchanged_sends_nothing(
    login, researcher, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        login(researcher).post("/me/", profile(researcher, display_name="Minji K."))

    researcher.refresh_from_db()
    assert (researcher.display_name, researcher.pending_email) == ("Minji K.", "")
    assert smtp.messages == []


def test_an_email_channel_cannot_point_at_the_unconfirmed_address(ask, login, researcher):
    ask()

    response = login(researcher).post("/me/channels/", {"kind": "email", "target": NEW})

    assert "goes to your profile" in response.text
    assert not Channel.objects.filter(target=NEW).exists()


def test_two_accounts_never_share_an_address(make_person):
    make_person("hana", email="hana@lab.example.org")

    with pytest.raises(IntegrityError), transaction.atomic():
        make_person("hana2", email="HANA@lab.example.org")
    make_person("nobody1", email="")
    make_person("nobody2", email="")  # blank is no address: any number of people may have none

    assert User.objects.filter(email="").count() == 2


def test_migration_keeps_a_shared_address_on_the_longest_standing_active_account(transactional_db, capsys):
    from datetime import UTC, datetime

    from lab_portal.tests import migrating

    try:
        old = migrating.migrate("team_leads_set_by_admins").get_model("lab_portal", "User")

        def person(username, email, joined, active=True):
            return old.objects.create(
                username=username,
                email=email,
                date_joined=datetime(2025, 1, joined, tzinfo=UTC),
                is_active=active,
            ).pk

        gone = person("gone", "hana@lab.example.org", 1, active=False)
        first = person("hana", "Hana@Lab.example.org", 2)
        second = person("hana2", "hana@lab.example.org", 3)
        alone = person("minji", "minji@lab.example.org", 4)
        migrating.migrate_to_latest()
    finally:
        migrating.migrate_to_latest()

    rows = (
        dict(User.objects.values_list("pk", "email")),
        dict(User.objects.values_list("pk", "pending_email")),
    )
    assert rows[0] == {gone: "", first: "Hana@Lab.example.org", second: "", alone: "minji@lab.example.org"}
    assert rows[1] == {gone: "hana@lab.example.org", first: "", second: "hana@lab.example.org", alone: ""}
    output = capsys.readouterr().out
    assert "gone: hana@lab.example.org is also hana's" in output and "hana2:" in output


def test_migration_turns_on_an_email_channel_made_off_only_for_a_confirmation(transactional_db):
    from lab_portal.tests import migrating

    try:
        old = migrating.migrate("chat_two_way")
        person, channel, delivery = (
            old.get_model("lab_portal", name) for name in ("User", "Channel", "Delivery")
        )

        def off_email(username: str, *payloads: dict) -> int:
            owner = person.objects.create(username=username, email=f"{username}@lab.example.org")
            row = channel.objects.create(person=owner, kind="email", target="", enabled=False)
            for n, payload in enumerate(payloads):
                delivery.objects.create(channel=row, dedupe_key=f"k{n}", payload=payload)
            return row.pk

        for_confirmation = off_email("hana", {"subject": "Confirm", "to": "hana@new.example.org"})
        turned_off_by_owner = off_email(
            "minji", {"subject": "Digest"}, {"subject": "Confirm", "to": "minji@new.example.org"}
        )
        never_used = off_email("taeho")
        migrating.migrate_to_latest()
    finally:
        migrating.migrate_to_latest()

    enabled = dict(Channel.objects.values_list("pk", "enabled"))
    assert enabled == {for_confirmation: True, turned_off_by_owner: False, never_used: False}
