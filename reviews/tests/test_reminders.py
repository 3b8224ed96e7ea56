"""Reminders to reviewers before a review is due and while it is overdue, sent by the periodic task.

Time is frozen and moved with time-machine, and the task runs as beat runs it. What a reminder
says is read from the Delivery rows lab_portal.notify writes (and, where a test runs the commit's
callbacks, from the e-mail or chat message itself). The concurrency tests race two workers for
the same rows: threads with their own database connections, and a real Celery worker.
"""

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from lab_portal.celery import app
from lab_portal.models import Channel, Delivery
from reviews import reminders
from reviews.models import Review, ReviewAssignment, ReviewReminder, ReviewRound
from reviews.reminders import plan_reminders, send_review_reminders
from reviews.tasks import send_reminders
from reviews.tests.factories import make_draft

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
BERLIN = ZoneInfo("Europe/Berlin")
DUE = date(2026, 3, 20)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=SEOUL)


def at(day: date, hour: int = 9, minute: int = 0, zone: ZoneInfo = SEOUL) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


BEFORE = at(DUE - timedelta(days=2))  # 18 March, 09:00 in Seoul
OVERDUE = [at(DUE + timedelta(days=days)) for days in (1, 3, 5)]  # 21, 23 and 25 March


@pytest.fixture(autouse=True)
def reminder_settings(settings):
    settings.REVIEW_REMINDER_DAYS_BEFORE = 2
    settings.REVIEW_REMINDER_HOUR = 9
    settings.REVIEW_OVERDUE_EVERY_DAYS = 2
    settings.REVIEW_OVERDUE_REMINDERS = 3


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def assignment(clock, researcher, reviewer) -> ReviewAssignment:
    draft = make_draft(researcher, reviewers=[reviewer], title="Sparse attention at scale", review_by=DUE)
    return draft.assignments.get()


def run_at(clock, moment: datetime) -> int:
    clock.move_to(moment)
    return send_reminders.delay().get()


def reminders_sent() -> list[dict]:
    """What went out, oldest first: one Delivery per reminder (each reviewer has one channel)."""
    rows = Delivery.objects.filter(dedupe_key__startswith="review-reminder:").order_by("pk")
    return [row.payload for row in rows]


def subjects() -> list[str]:
    return [payload["subject"] for payload in reminders_sent()]


def submit(assignment: ReviewAssignment) -> Review:
    return Review.objects.create(
        assignment=assignment,
        version=assignment.draft.latest_version,
        status=Review.Status.SUBMITTED,
        submitted_at=timezone.now(),
    )


# Before the due date ----------------------------------------------------------------------------


def test_before_reminder_goes_once_at_nine_in_the_reviewers_zone(clock, assignment):
    assert run_at(clock, BEFORE - timedelta(minutes=1)) == 0
    assert run_at(clock, BEFORE) == 1
    assert run_at(clock, BEFORE + timedelta(minutes=5)) == 0
    assert run_at(clock, BEFORE + timedelta(hours=10)) == 0

    [payload] = reminders_sent()
    assert payload["subject"] == "Review due on 20 March 2026: Sparse attention at scale"
    assert payload["text"] == "Your review of “Sparse attention at scale” is due on 20 March 2026."
    assert payload["url"] == reverse("reviews:review", args=[assignment.draft_id])
    row = ReviewReminder.objects.get()
    assert (row.kind, row.due, row.number, row.due_at, row.sent_at) == ("before", DUE, 1, BEFORE, BEFORE)
    assert row.attempts == 1


def test_a_reviewer_abroad_is_reminded_at_nine_their_time(clock, assignment, reviewer):
    reviewer.timezone = "Europe/Berlin"
    reviewer.save()
    berlin_nine = at(DUE - timedelta(days=2), zone=BERLIN)

    assert run_at(clock, BEFORE) == 0  # nine in Seoul is one in the morning in Berlin
    assert run_at(clock, berlin_nine - timedelta(minutes=1)) == 0
    assert run_at(clock, berlin_nine) == 1

    assert ReviewReminder.objects.get().due_at == berlin_nine


def test_submitted_review_gets_no_reminders(clock, assignment):
    clock.move_to(BEFORE - timedelta(days=1))
    submit(assignment)

    sent = [run_at(clock, moment) for moment in [BEFORE, *OVERDUE]]

    assert sent == [0, 0, 0, 0]
    assert not ReviewReminder.objects.exists()
    assert reminders_sent() == []


def test_review_submitted_after_the_row_was_written_is_not_reminded(clock, assignment):
    clock.move_to(BEFORE)
    plan_reminders()
    submit(assignment)

    assert send_reminders.delay().get() == 0

    row = ReviewReminder.objects.get()
    assert (row.sent_at, row.skipped_at, row.error) == (None, BEFORE, "The review is submitted.")
    assert reminders_sent() == []


def test_assignment_made_after_the_before_moment_gets_no_before_reminder(clock, researcher, reviewer):
    clock.move_to(BEFORE + timedelta(hours=3))
    make_draft(researcher, reviewers=[reviewer], title="Late assignment", review_by=DUE)

    assert run_at(clock, BEFORE + timedelta(hours=4)) == 0
    assert run_at(clock, at(DUE, 23, 59)) == 0
    assert run_at(clock, OVERDUE[0]) == 1

    assert subjects() == ["Review overdue: Late assignment"]
    assert not ReviewReminder.objects.filter(kind=ReviewReminder.Kind.BEFORE).exists()


def test_before_reminder_left_unsent_until_after_the_due_date_is_skipped(clock, assignment):
    clock.move_to(BEFORE)
    plan_reminders()  # written, and then the workers were down for days

    sent = run_at(clock, at(DUE + timedelta(days=1), 0, 30))

    assert sent == 0
    row = ReviewReminder.objects.get()
    assert row.skipped_at is not None
    assert row.error == "Too late: the moment for this message has passed."
    assert reminders_sent() == []


# Overdue ----------------------------------------------------------------------------------------


def test_overdue_reminders_repeat_and_stop_after_the_last(clock, assignment):
    run_at(clock, BEFORE)
    sent = [run_at(clock, at(DUE + timedelta(days=days))) for days in range(0, 12)]

    # Days 1, 3 and 5 after the due date; none on the due date itself, none after the third.
    assert sent == [0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    assert [payload["text"] for payload in reminders_sent()[1:]] == [
        "Your review of “Sparse attention at scale” was due on 20 March 2026: it is 1 day late.",
        "Your review of “Sparse attention at scale” was due on 20 March 2026: it is 3 days late.",
        "Your review of “Sparse attention at scale” was due on 20 March 2026: it is 5 days late.",
    ]
    assert subjects()[1:] == ["Review overdue: Sparse attention at scale"] * 3
    overdue = ReviewReminder.objects.filter(kind=ReviewReminder.Kind.OVERDUE).order_by("number")
    assert [(row.number, row.due_at) for row in overdue] == [
        (1, OVERDUE[0]),
        (2, OVERDUE[1]),
        (3, OVERDUE[2]),
    ]


def test_overdue_reminders_stop_once_the_review_is_submitted(clock, assignment):
    run_at(clock, OVERDUE[0])
    clock.move_to(OVERDUE[0] + timedelta(days=1))
    submit(assignment)

    assert run_at(clock, OVERDUE[1]) == 0
    assert run_at(clock, OVERDUE[2]) == 0

    assert subjects() == ["Review overdue: Sparse attention at scale"]


def test_after_a_long_outage_only_the_current_overdue_reminder_goes(clock, assignment):
    # Beat was down from before the due date until between the second and third reminders.
    sent = run_at(clock, OVERDUE[1] + timedelta(hours=30))

    assert sent == 1
    assert [(row.kind, row.number) for row in ReviewReminder.objects.all()] == [("overdue", 2)]
    assert reminders_sent()[0]["text"].endswith("it is 4 days late.")


def test_overdue_reminder_written_and_left_until_the_next_is_skipped(clock, assignment):
    clock.move_to(OVERDUE[0])
    plan_reminders()

    sent = run_at(clock, OVERDUE[1])

    assert sent == 1
    first, second = ReviewReminder.objects.order_by("number")
    assert first.error == "Too late: the moment for this message has passed."
    assert second.sent_at == OVERDUE[1]


# Moving the due date ----------------------------------------------------------------------------


def move_due(assignment: ReviewAssignment, new_due: date) -> None:
    ReviewAssignment.objects.filter(pk=assignment.pk).update(due=new_due)


def test_moved_due_date_skips_the_old_rows_and_reminds_on_the_new_date(clock, assignment):
    new_due = DUE + timedelta(days=7)
    clock.move_to(BEFORE)
    plan_reminders()  # the old date's reminder is written, not yet sent
    move_due(assignment, new_due)

    assert send_reminders.delay().get() == 0
    assert run_at(clock, OVERDUE[0]) == 0  # no longer overdue
    assert run_at(clock, at(new_due - timedelta(days=2))) == 1
    assert run_at(clock, at(new_due + timedelta(days=1))) == 1

    old = ReviewReminder.objects.get(due=DUE)
    assert old.error == "The due date moved; the new date has its own reminders."
    assert old.sent_at is None
    assert subjects() == [
        "Review due on 27 March 2026: Sparse attention at scale",
        "Review overdue: Sparse attention at scale",
    ]
    assert set(ReviewReminder.objects.filter(sent_at__isnull=False).values_list("due", flat=True)) == {
        new_due
    }


def test_due_date_moved_after_a_reminder_went_out_gets_the_new_dates_reminders(clock, assignment):
    run_at(clock, BEFORE)
    clock.move_to(BEFORE + timedelta(hours=1))
    move_due(assignment, DUE + timedelta(days=3))

    sent = [run_at(clock, moment) for moment in [BEFORE + timedelta(hours=2), at(DUE + timedelta(days=1))]]

    assert sent == [0, 1]
    assert subjects() == [
        "Review due on 20 March 2026: Sparse attention at scale",
        "Review due on 23 March 2026: Sparse attention at scale",
    ]


# Who is not reminded ----------------------------------------------------------------------------


def test_inactive_reviewer_is_not_reminded(clock, assignment, reviewer):
    reviewer.is_active = False
    reviewer.save()

    sent = [run_at(clock, moment) for moment in [BEFORE, *OVERDUE]]

    assert sent == [0, 0, 0, 0]
    assert not ReviewReminder.objects.exists()


def test_reviewer_deactivated_after_the_row_was_written_is_not_reminded(clock, assignment, reviewer):
    clock.move_to(BEFORE)
    plan_reminders()
    reviewer.is_active = False
    reviewer.save()

    assert send_reminders.delay().get() == 0

    assert ReviewReminder.objects.get().error == "The reviewer's account is inactive."
    assert reminders_sent() == []


def test_assignment_removed_before_sending_takes_its_reminder_with_it(clock, assignment):
    clock.move_to(BEFORE)
    plan_reminders()
    assignment.delete()

    assert send_reminders.delay().get() == 0

    assert not ReviewReminder.objects.exists()
    assert reminders_sent() == []


# Channels ---------------------------------------------------------------------------------------


def test_reminder_arrives_by_mail_and_on_the_reviewers_chat_once(
    clock, assignment, reviewer, telegram, django_capture_on_commit_callbacks
):
    Channel.objects.create(person=reviewer, kind=Channel.Kind.EMAIL, target="")
    Channel.objects.create(person=reviewer, kind=Channel.Kind.TELEGRAM, target="4242")

    with django_capture_on_commit_callbacks(execute=True):
        run_at(clock, BEFORE)
        run_at(clock, BEFORE + timedelta(minutes=5))

    [arrival] = telegram.sent()
    assert arrival.body["chat_id"] == "4242"
    assert "Review due on 20 March 2026: Sparse attention at scale" in arrival.text
    [message] = mail.outbox
    assert message.to == ["sora@lab.example.org"]
    assert message.subject == "Review due on 20 March 2026: Sparse attention at scale"
    assert f"/reviews/drafts/{assignment.draft_id}/review/" in message.body


def test_reminder_names_the_draft_even_when_its_authors_are_hidden(clock, researcher, reviewer):
    make_draft(researcher, reviewers=[reviewer], title="Hidden authors", review_by=DUE, anonymous=True)

    run_at(clock, BEFORE)

    [payload] = reminders_sent()
    assert "Hidden authors" in payload["subject"]
    assert "Minji" not in str(payload)


# Workers ----------------------------------------------------------------------------------------


def test_running_the_task_again_sends_nothing_twice(clock, assignment):
    run_at(clock, BEFORE)

    again = [send_reminders.delay().get() for _ in range(3)]

    assert again == [0, 0, 0]
    assert len(reminders_sent()) == 1


def test_reminder_claimed_by_a_worker_that_died_is_not_sent_again(clock, assignment, settings):
    clock.move_to(BEFORE)
    plan_reminders()
    ReviewReminder.objects.update(claimed_at=timezone.now(), attempts=1)

    sent = run_at(clock, BEFORE + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1))

    row = ReviewReminder.objects.get()
    assert sent == 0
    assert (row.sent_at, row.error) == (None, "Its worker stopped while sending; not retried.")
    assert reminders_sent() == []


def test_reminder_claimed_a_moment_ago_is_left_to_its_worker(clock, assignment):
    clock.move_to(BEFORE)
    plan_reminders()
    ReviewReminder.objects.update(claimed_at=timezone.now(), attempts=1)

    sent = run_at(clock, BEFORE + timedelta(seconds=30))

    row = ReviewReminder.objects.get()
    assert sent == 0
    assert (row.sent_at, row.skipped_at, row.attempts) == (None, None, 1)


def test_a_failed_send_is_given_back_and_retried_later(clock, assignment, monkeypatch, settings):
    # notify() only writes rows in our own database; a failure there is the database going away.
    def database_gone(person, message):
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(reminders, "notify", database_gone)
    assert run_at(clock, BEFORE) == 0
    row = ReviewReminder.objects.get()
    retry_at = BEFORE + timedelta(seconds=settings.NOTIFY_RETRY_BACKOFF)
    assert (row.claimed_at, row.sent_at, row.due_at, row.attempts) == (None, None, retry_at, 1)
    assert "server closed the connection" in row.error

    monkeypatch.undo()
    assert run_at(clock, BEFORE + timedelta(seconds=1)) == 0  # not yet: it waits its turn
    assert run_at(clock, retry_at) == 1

    row.refresh_from_db()
    assert (row.sent_at, row.attempts, row.error) == (retry_at, 2, "")
    assert len(reminders_sent()) == 1


def test_beat_runs_the_review_reminders_every_five_minutes():
    entry = app.conf.beat_schedule["review-reminders"]

    assert entry["task"] == "reviews.send_reminders"
    assert entry["task"] in app.tasks
    assert entry["schedule"] == 5 * 60


def test_two_workers_at_once_send_each_reminder_exactly_once(
    transactional_db, clock, researcher, make_person
):
    reviewers = [make_person(f"reviewer{number}") for number in range(30)]
    for reviewer in reviewers:
        make_draft(researcher, reviewers=[reviewer], review_by=DUE)
    clock.move_to(BEFORE)
    start = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            start.wait(timeout=10)
            results.append(send_review_reminders())
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
    assert sum(results) == 30
    assert ReviewReminder.objects.filter(sent_at__isnull=False).count() == 30
    assert set(ReviewReminder.objects.values_list("attempts", flat=True)) == {1}  # each claimed once
    assert Delivery.objects.filter(dedupe_key__startswith="review-reminder:").count() == 30
    # The transactions committed, so the mail went out: once to each reviewer.
    addresses = [m.to[0] for m in mail.outbox]
    assert sorted(addresses) == sorted(r.email for r in reviewers)


@pytest.mark.redis
def test_the_task_on_a_real_worker_sends_once(transactional_db, real_worker, researcher, reviewer):
    queue, _log = real_worker
    now = timezone.now()
    # Due today in the reviewer's zone, assigned long ago: the "before" reminder is due now,
    # whatever the hour this test runs at.
    due = now.astimezone(ZoneInfo(reviewer.timezone)).date()
    draft = make_draft(researcher, title="Worked on a worker", review_by=due)
    ReviewAssignment.objects.create(
        draft=draft, reviewer=reviewer, due=due, created_at=now - timedelta(days=10)
    )

    first = send_reminders.apply_async(queue=queue).get(timeout=60)
    second = send_reminders.apply_async(queue=queue).get(timeout=60)

    assert (first, second) == (1, 0)
    row = ReviewReminder.objects.get()
    assert (row.kind, row.due) == (ReviewReminder.Kind.BEFORE, due)
    assert row.sent_at is not None
    [delivery] = Delivery.objects.filter(dedupe_key=f"review-reminder:{row.pk}")
    assert delivery.channel.person == reviewer
    assert "Worked on a worker" in delivery.payload["subject"]


def test_send_review_reminders_takes_the_time_it_is_given(assignment):
    assert send_review_reminders(now=BEFORE - timedelta(seconds=1)) == 0
    assert send_review_reminders(now=BEFORE.astimezone(UTC)) == 1

    assert ReviewReminder.objects.get().sent_at == BEFORE


# Leads told of an overdue review ------------------------------------------------------------------


def test_lead_hears_once_when_a_review_becomes_overdue_by_chat_and_mail(
    clock, assignment, lead, reviewer, telegram, smtp, django_capture_on_commit_callbacks
):
    Channel.objects.create(person=lead, kind=Channel.Kind.EMAIL, target="")
    Channel.objects.create(person=lead, kind=Channel.Kind.TELEGRAM, target="5151")

    with django_capture_on_commit_callbacks(execute=True):
        run_at(clock, BEFORE)  # due soon: nothing for the lead yet
        told_before = Delivery.objects.filter(channel__person=lead).count()
        for moment in OVERDUE:  # three overdue reminders to the reviewer
            run_at(clock, moment)

    assert told_before == 0
    assert len(subjects()) == 4
    [chat] = [m.text for m in telegram.bot_messages(5151)]
    assert "Overdue review: Sora Han on “Sparse attention at scale”" in chat
    [mailed] = [m for m in smtp.messages if m["To"] == lead.email]
    assert mailed["Subject"] == "Overdue review: Sora Han on “Sparse attention at scale”"
    assert "was due on 20 March 2026 and is not in yet" in mailed.get_body(("plain",)).get_content()
    assert Delivery.objects.filter(dedupe_key=f"review-overdue:{assignment.pk}").count() == 2


def test_the_lead_who_opened_the_round_is_the_one_told(clock, researcher, reviewer, lead, make_person):
    opener = make_person("boram", role="lead", display_name="Boram Lee")
    draft = make_draft(researcher, title="In a round", review_by=DUE)
    review_round = ReviewRound.objects.create(name="March", due=DUE, opened_by=opener)
    review_round.drafts.add(draft)
    assignment = ReviewAssignment.objects.create(draft=draft, reviewer=reviewer, due=DUE, round=review_round)

    run_at(clock, OVERDUE[0])

    told = Delivery.objects.filter(dedupe_key=f"review-overdue:{assignment.pk}")
    assert [row.channel.person for row in told] == [opener]
    assert told.get().payload["url"] == review_round.get_absolute_url()


def test_no_lead_is_told_of_a_review_submitted_in_time_or_of_their_own(clock, researcher, lead, reviewer):
    own = make_draft(researcher, reviewers=[lead], title="The lead reviews", review_by=DUE)
    submitted = make_draft(researcher, reviewers=[reviewer], title="Done in time", review_by=DUE)
    submit(submitted.assignments.get())

    run_at(clock, OVERDUE[0])

    assert Delivery.objects.filter(dedupe_key__startswith="review-overdue:").count() == 0
    assert ReviewReminder.objects.filter(assignment__draft=own, sent_at__isnull=False).count() == 1
