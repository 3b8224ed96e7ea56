"""Reminders a day and an hour before a talk, and change notices, sent by the periodic task.

Time is frozen and moved with time-machine; the task runs as beat would run it. The concurrency
tests race two workers for the same rows: threads with their own database connections, and two
real Celery worker processes sending through a real SMTP server on 127.0.0.1.
"""

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from lab_portal.celery import app
from lab_portal.models import Delivery
from lab_portal.notify import dispatch_due
from seminars.models import Registration, Reminder, Talk
from seminars.registration import cancel as give_up_seat
from seminars.registration import sign_up
from seminars.reminders import plan_reminders, reschedule
from seminars.services import cancel_talk, update_talk
from seminars.tasks import send_reminders
from seminars.tests.factories import make_room, make_talk

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
# Thursday 12 March 2026, 16:00 in Seoul.
STARTS = datetime(2026, 3, 12, 16, 0, tzinfo=SEOUL)
DAY_BEFORE = STARTS - timedelta(days=1)
HOUR_BEFORE = STARTS - timedelta(hours=1)
DASH = "\u2013"  # between a start and an end time


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def talk(clock, lead, make_person) -> Talk:
    speaker = make_person("sora", display_name="Sora Han")
    return make_talk(
        title="Sparse attention at scale",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=1),
        timezone="Asia/Seoul",
        host=lead,
        speaker_user=speaker,
        speaker_name="",
        room=make_room(name="Seminar room 1", location="Building 2"),
    )


def send_now() -> int:
    """The task as beat runs it, its transaction committed: the deliveries it queued go out."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return send_reminders.delay().get()


def run_at(clock, moment: datetime) -> int:
    clock.move_to(moment)
    return send_now()


def sent_to(subject_start: str = "") -> list[str]:
    return sorted(m.to[0] for m in mail.outbox if m.subject.startswith(subject_start))


def test_reminders_go_a_day_and_an_hour_before_to_host_speaker_and_confirmed_seats(
    clock, talk, researcher, other_researcher, make_person
):
    sign_up(talk, researcher)
    waiting_talk_seat = make_person("hana")
    talk.capacity = 1
    talk.save()
    sign_up(talk, waiting_talk_seat)  # wait-listed: no reminder
    day_crowd = ["jiwoo@lab.example.org", "minji@lab.example.org", "sora@lab.example.org"]

    assert run_at(clock, DAY_BEFORE - timedelta(minutes=1)) == 0
    assert run_at(clock, DAY_BEFORE) == 3
    assert run_at(clock, DAY_BEFORE + timedelta(minutes=1)) == 0
    assert run_at(clock, HOUR_BEFORE) == 3

    assert sent_to("In 24 hours: Sparse attention at scale") == day_crowd
    assert sent_to("In one hour: Sparse attention at scale") == day_crowd
    assert len(mail.outbox) == 6
    assert Reminder.objects.filter(sent_at__isnull=False).count() == 6
    assert set(Reminder.objects.values_list("sequence", flat=True)) == {0}


def test_running_the_task_again_sends_nothing_twice(clock, talk, researcher):
    sign_up(talk, researcher)
    run_at(clock, DAY_BEFORE)

    again = [send_now() for _ in range(3)]

    assert again == [0, 0, 0]
    assert len(mail.outbox) == 3


def test_outside_speaker_is_reminded_at_their_address(clock, lead):
    make_talk(
        kind=Talk.Kind.TECHTALK,
        starts_at=STARTS,
        timezone="Asia/Seoul",
        host=lead,
        speaker_name="Grace Hopper",
        speaker_email="Grace@Navy.example.org",
        speaker_timezone="America/New_York",
    )

    run_at(clock, DAY_BEFORE)

    assert sent_to() == ["grace@navy.example.org", "jiwoo@lab.example.org"]
    [to_speaker] = [m for m in mail.outbox if m.to == ["grace@navy.example.org"]]
    assert "You are receiving this as the speaker." in to_speaker.body
    # The speaker's own clock next to the talk's: 16:00 Seoul is 03:00 in New York (EDT since 8 March).
    assert f"Talk time: Thursday 12 March 2026, 16:00{DASH}17:00 (Asia/Seoul)" in to_speaker.body
    assert f"Speaker's time: Thursday 12 March 2026, 03:00{DASH}04:00 (America/New_York)" in to_speaker.body
    assert Reminder.objects.get(email="grace@navy.example.org").recipient is None


def test_reminder_shows_the_time_in_the_recipients_zone_and_the_talks(clock, talk, make_person):
    berlin = make_person("lena", timezone="Europe/Berlin", display_name="Lena Vogel")
    sign_up(talk, berlin)

    run_at(clock, DAY_BEFORE)

    [message] = [m for m in mail.outbox if m.to == ["lena@lab.example.org"]]
    html = message.alternatives[0].content
    assert message.body.startswith("Hello Lena Vogel,")
    assert "A reminder: “Sparse attention at scale” is in 24 hours." in message.body
    assert f"Talk time: Thursday 12 March 2026, 16:00{DASH}17:00 (Asia/Seoul)" in message.body
    assert f"Your time: Thursday 12 March 2026, 08:00{DASH}09:00 (Europe/Berlin)" in message.body
    assert "Where: Seminar room 1, Building 2" in message.body
    assert f"/seminars/talks/{talk.pk}/" in message.body
    assert "you have a seat" in message.body
    assert "Asia/Seoul" in html
    assert "Europe/Berlin" in html
    assert "Sparse attention at scale" in html


def test_reminder_in_the_talks_own_zone_shows_one_time(clock, talk):
    run_at(clock, DAY_BEFORE)

    [to_host] = [m for m in mail.outbox if m.to == ["jiwoo@lab.example.org"]]
    assert f"Talk time: Thursday 12 March 2026, 16:00{DASH}17:00 (Asia/Seoul)" in to_host.body
    assert "Your time" not in to_host.body
    assert "You are receiving this as the talk's host." in to_host.body


def test_html_reminder_escapes_the_title(clock, lead):
    make_talk(title="<script>x</script> & more", starts_at=STARTS, host=lead)

    run_at(clock, DAY_BEFORE)

    html = mail.outbox[0].alternatives[0].content
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt; &amp; more" in html


def test_people_who_sign_up_later_get_the_reminders_still_ahead_of_them(
    clock, talk, researcher, other_researcher, make_person
):
    late = make_person("late")
    last_minute = make_person("lastminute")
    sign_up(talk, researcher)

    run_at(clock, DAY_BEFORE)
    clock.move_to(STARTS - timedelta(hours=20))
    sign_up(talk, late)
    run_at(clock, STARTS - timedelta(hours=19))
    run_at(clock, HOUR_BEFORE)
    clock.move_to(STARTS - timedelta(minutes=30))
    sign_up(talk, last_minute)
    run_at(clock, STARTS - timedelta(minutes=29))

    assert "late@lab.example.org" not in sent_to("In 24 hours")
    assert "late@lab.example.org" in sent_to("In one hour")
    assert "lastminute@lab.example.org" not in sent_to()
    assert "minji@lab.example.org" in sent_to("In 24 hours")


def test_promoted_from_the_waiting_list_is_reminded_and_who_gave_up_is_not(
    clock, talk, researcher, make_person
):
    talk.capacity = 1
    talk.save()
    waiting = make_person("hana")
    sign_up(talk, researcher)
    sign_up(talk, waiting)
    clock.move_to(STARTS - timedelta(days=2))
    give_up_seat(talk, researcher)

    run_at(clock, DAY_BEFORE)

    assert Registration.objects.get(talk=talk, user=waiting).status == Registration.Status.CONFIRMED
    assert "hana@lab.example.org" in sent_to("In 24 hours")
    assert "minji@lab.example.org" not in sent_to()


def test_seat_given_up_between_planning_and_sending_is_not_reminded(clock, talk, researcher):
    sign_up(talk, researcher)
    clock.move_to(DAY_BEFORE)
    plan_reminders()
    give_up_seat(talk, researcher)

    send_now()

    assert "minji@lab.example.org" not in sent_to()
    assert Reminder.objects.get(recipient=researcher).error == "No longer has a seat."


def test_talk_added_less_than_a_day_ahead_gets_only_the_hour_before(clock, lead):
    clock.move_to(STARTS - timedelta(hours=5))
    make_talk(starts_at=STARTS, host=lead)

    run_at(clock, STARTS - timedelta(hours=4))
    run_at(clock, HOUR_BEFORE)

    assert [m.subject.split(":")[0] for m in mail.outbox] == ["In one hour"]


def test_cancelled_talk_gets_no_reminders(clock, talk, researcher):
    sign_up(talk, researcher)
    cancel_talk(talk)

    run_at(clock, DAY_BEFORE)
    run_at(clock, HOUR_BEFORE)

    assert sent_to("In") == []
    assert not Reminder.objects.exclude(kind=Reminder.Kind.CHANGE).exists()


def test_past_talk_gets_nothing_even_with_rows_left_unsent(clock, talk, researcher):
    sign_up(talk, researcher)
    clock.move_to(DAY_BEFORE)
    plan_reminders()  # written, but the workers were down until after the talk

    sent = run_at(clock, STARTS + timedelta(minutes=5))

    assert sent == 0
    assert mail.outbox == []
    assert Reminder.objects.filter(skipped_at__isnull=False).count() == 3
    assert Reminder.objects.filter(kind=Reminder.Kind.HOUR_BEFORE).count() == 0


def test_late_day_before_is_dropped_for_the_hour_before(clock, talk):
    clock.move_to(DAY_BEFORE)
    plan_reminders()  # the workers then stop until half an hour before the talk

    run_at(clock, STARTS - timedelta(minutes=30))

    assert [m.subject.split(":")[0] for m in mail.outbox] == ["In one hour"] * 2
    assert set(Reminder.objects.filter(kind=Reminder.Kind.DAY_BEFORE).values_list("error", flat=True)) == {
        "Too late: the moment for this message has passed."
    }


def move(talk: Talk, **changes) -> set[str]:
    old = talk.schedule_snapshot()
    for name, value in changes.items():
        setattr(talk, name, value)
    return update_talk(talk, old=old)


def test_moved_talk_gets_one_change_notice_and_reminders_for_its_new_time(
    clock, talk, researcher, django_capture_on_commit_callbacks
):
    sign_up(talk, researcher)
    run_at(clock, DAY_BEFORE)
    clock.move_to(STARTS - timedelta(hours=20))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        move(talk, starts_at=STARTS + timedelta(days=7), ends_at=STARTS + timedelta(days=7, hours=1))

    talk.refresh_from_db()
    assert talk.sequence == 1
    assert sent_to("Changed: Sparse attention at scale") == [
        "jiwoo@lab.example.org",
        "minji@lab.example.org",
        "sora@lab.example.org",
    ]
    [notice] = [m for m in mail.outbox if m.to == ["minji@lab.example.org"]]
    assert "The time or place of “Sparse attention at scale” has changed." in notice.body
    assert f"Talk time: Thursday 19 March 2026, 16:00{DASH}17:00 (Asia/Seoul)" in notice.body

    mail.outbox.clear()
    assert run_at(clock, HOUR_BEFORE) == 0  # the old time's hour-before is gone
    assert run_at(clock, DAY_BEFORE + timedelta(days=7)) == 3
    assert run_at(clock, HOUR_BEFORE + timedelta(days=7)) == 3
    assert len(sent_to("In 24 hours")) == 3
    assert set(Reminder.objects.filter(kind=Reminder.Kind.CHANGE).values_list("sequence", flat=True)) == {1}
    assert Reminder.objects.filter(kind=Reminder.Kind.CHANGE).count() == 3


def test_the_same_change_is_announced_once(clock, talk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        move(talk, starts_at=STARTS + timedelta(hours=2), ends_at=STARTS + timedelta(hours=3))
    talk.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        reschedule(talk)  # the same sequence rescheduled a second time
    send_now()

    assert len(sent_to("Changed")) == 2
    assert Reminder.objects.filter(kind=Reminder.Kind.CHANGE).count() == 2


def test_two_changes_before_sending_announce_only_the_latest(clock, talk):
    # Without on-commit callbacks nothing is sent until the task runs.
    move(talk, starts_at=STARTS + timedelta(hours=2), ends_at=STARTS + timedelta(hours=3))
    talk.refresh_from_db()
    move(talk, starts_at=STARTS + timedelta(hours=4), ends_at=STARTS + timedelta(hours=5))

    send_now()

    assert len(sent_to("Changed")) == 2
    assert all(f"20:00{DASH}21:00" in m.body for m in mail.outbox)
    assert set(Reminder.objects.filter(sent_at__isnull=False).values_list("sequence", flat=True)) == {2}


def test_room_change_is_announced_with_the_new_room(clock, talk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        move(talk, room=make_room(name="Auditorium", location="Main building"))

    [notice, *_] = mail.outbox
    assert notice.subject == "Changed: Sparse attention at scale"
    assert "Where: Auditorium, Main building" in notice.body


def test_title_or_zone_edits_send_no_notice(clock, talk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        changed = move(talk, title="A better title", timezone="Asia/Tokyo")

    assert changed == {"title", "timezone"}
    assert mail.outbox == []
    assert not Reminder.objects.exists()


def test_moving_into_the_last_day_sends_the_notice_instead_of_the_day_before(
    clock, talk, researcher, django_capture_on_commit_callbacks
):
    sign_up(talk, researcher)
    clock.move_to(STARTS - timedelta(days=3))
    new_start = STARTS - timedelta(days=3) + timedelta(hours=20)

    with django_capture_on_commit_callbacks(execute=True):
        move(talk, starts_at=new_start, ends_at=new_start + timedelta(hours=1))
    run_at(clock, STARTS - timedelta(days=3) + timedelta(minutes=5))
    run_at(clock, new_start - timedelta(hours=1))

    assert len(sent_to("Changed")) == 3
    assert sent_to("In 24 hours") == []
    assert len(sent_to("In one hour")) == 3


def test_cancelling_sends_one_cancellation_notice_and_stops_the_reminders(
    clock, talk, researcher, django_capture_on_commit_callbacks
):
    sign_up(talk, researcher)
    run_at(clock, DAY_BEFORE)
    clock.move_to(HOUR_BEFORE - timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        cancel_talk(talk)
    run_at(clock, HOUR_BEFORE)

    assert len(sent_to("Cancelled: Sparse attention at scale")) == 3
    assert sent_to("In one hour") == []
    [notice] = [
        m for m in mail.outbox if m.subject.startswith("Cancelled") and m.to == ["minji@lab.example.org"]
    ]
    assert "“Sparse attention at scale” is cancelled." in notice.body
    assert "You are receiving this because you had a seat." in notice.body


def test_change_to_a_past_talk_announces_nothing(clock, talk, django_capture_on_commit_callbacks):
    clock.move_to(STARTS + timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        cancel_talk(talk)

    assert mail.outbox == []


# Failures and workers


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_at(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


def dispatch_at(clock, moment: datetime) -> dict:
    """The beat's safety net for deliveries (lab_portal.notify), at `moment`."""
    clock.move_to(moment)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return dispatch_due()


def test_mail_server_down_keeps_the_reminder_and_its_delivery_retries_later(clock, talk, settings):
    locmem = settings.MAILERS
    settings.MAILERS = smtp_at(closed_port())

    assert run_at(clock, DAY_BEFORE) == 2  # the host and the speaker

    reminder = Reminder.objects.get(recipient=talk.host)
    delivery = Delivery.objects.get(dedupe_key=f"seminars:reminder:{reminder.pk}")
    assert reminder.sent_at == DAY_BEFORE  # handed to notify, once
    assert (delivery.state, delivery.attempts) == (Delivery.State.PENDING, 1)
    assert "refused" in delivery.response.lower()
    assert sent_to() == []

    settings.MAILERS = locmem
    assert run_at(clock, DAY_BEFORE + timedelta(minutes=5)) == 0  # the reminder is not queued twice
    dispatch_at(clock, DAY_BEFORE + timedelta(minutes=10))

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (Delivery.State.SENT, 2)
    assert sent_to("In 24 hours") == ["jiwoo@lab.example.org", "sora@lab.example.org"]


def test_mail_delivery_gives_up_after_the_last_attempt(clock, talk, settings):
    settings.MAILERS = smtp_at(closed_port())
    settings.NOTIFY_MAX_ATTEMPTS = 2

    run_at(clock, DAY_BEFORE)
    dispatch_at(clock, DAY_BEFORE + timedelta(hours=1))
    dispatch_at(clock, DAY_BEFORE + timedelta(hours=2))

    reminder = Reminder.objects.get(recipient=talk.host)
    delivery = Delivery.objects.get(dedupe_key=f"seminars:reminder:{reminder.pk}")
    assert delivery.attempts == 2
    assert delivery.state == Delivery.State.FAILED
    assert delivery.response.startswith("Gave up after 2 attempts")
    assert Delivery.objects.filter(channel__person=talk.host).count() == 1


def test_reminder_claimed_by_a_worker_that_died_is_not_sent_again(clock, talk, settings):
    clock.move_to(DAY_BEFORE)
    plan_reminders()
    lost = Reminder.objects.get(recipient=talk.host)
    Reminder.objects.filter(pk=lost.pk).update(claimed_at=timezone.now(), attempts=1)

    run_at(clock, DAY_BEFORE + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1))

    lost.refresh_from_db()
    assert "jiwoo@lab.example.org" not in sent_to()
    assert lost.sent_at is None
    assert lost.error == "Its worker stopped while sending; not retried."
    assert len(mail.outbox) == 1  # the speaker's


def test_beat_runs_the_reminders_every_minute():
    entry = app.conf.beat_schedule["seminar-reminders"]

    assert entry["task"] == "seminars.send_reminders"
    assert entry["task"] in app.tasks
    assert entry["schedule"] == 60


def crowd(talk: Talk, make_person, size: int) -> None:
    for number in range(size):
        Registration.objects.create(
            talk=talk,
            user=make_person(f"person{number}"),
            status=Registration.Status.CONFIRMED,
            created_at=talk.created_at,
        )


def test_two_workers_at_once_send_each_reminder_exactly_once(transactional_db, clock, talk, make_person):
    crowd(talk, make_person, 40)
    clock.move_to(DAY_BEFORE)
    start = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            start.wait(timeout=10)
            results.append(send_reminders())
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    addresses = [m.to[0] for m in mail.outbox]
    assert len(addresses) == 42
    assert len(set(addresses)) == 42
    assert sum(results) == 42
    assert Reminder.objects.filter(sent_at__isnull=False).count() == 42


class SmtpRecorder:
    """A real SMTP server on 127.0.0.1 that keeps each message's recipients."""

    def __init__(self):
        self.recipients: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=closed_port())
    controller.start()
    yield controller.port, recorder
    controller.stop()


@pytest.mark.redis
def test_two_real_celery_workers_send_each_reminder_exactly_once(
    transactional_db, start_celery_worker, smtp_server, lead, make_person
):
    port, recorder = smtp_server
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{port}"}
    # Each worker's deliveries go back to its own queue (lab_portal/tests/celery_tasks.py).
    queues = [start_celery_worker(env=env, include=["lab_portal.tests.celery_tasks"])[0] for _ in range(2)]
    now = timezone.now()
    talk = make_talk(starts_at=now + timedelta(minutes=30), host=lead, created_at=now - timedelta(days=2))
    crowd(talk, make_person, 40)
    app.conf.task_always_eager = False

    results = [send_reminders.apply_async(queue=queue) for _ in range(3) for queue in queues]
    sent = [result.get(timeout=120) for result in results]

    deadline = time.monotonic() + 10
    while len(recorder.recipients) < 41 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sum(sent) == 41
    assert len(recorder.recipients) == 41
    assert len(set(recorder.recipients)) == 41
    assert Reminder.objects.filter(kind=Reminder.Kind.HOUR_BEFORE, sent_at__isnull=False).count() == 41


def test_reminder_also_reaches_the_persons_chat_once(
    clock, talk, researcher, settings, django_capture_on_commit_callbacks
):
    from lab_portal.models import Channel
    from lab_portal.tests.stand_ins import TelegramServer

    # Minji chose Telegram only: the reminder goes there, and not by e-mail.
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target="4242")
    sign_up(talk, researcher)
    with TelegramServer() as telegram:
        telegram.configure(settings)
        with django_capture_on_commit_callbacks(execute=True):  # chat goes out after the commit
            run_at(clock, DAY_BEFORE)
            run_at(clock, DAY_BEFORE + timedelta(minutes=1))

    [arrival] = telegram.sent()
    assert arrival.body["chat_id"] == "4242"
    assert "Sparse attention at scale" in arrival.text
    assert "minji@lab.example.org" not in sent_to("In 24 hours")
    assert sent_to("In 24 hours") == ["jiwoo@lab.example.org", "sora@lab.example.org"]
