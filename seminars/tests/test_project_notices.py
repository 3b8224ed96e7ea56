"""Everyone around a project's seminars is told, through lab_portal.notify, once: requesters of
the decision, the lab of a confirmed talk and of the week's talks, action-item owners when given
an item and the day before it is due, attendees when slides or a recording go up."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from lab_portal.models import Channel, Delivery, Project
from seminars import announcements, followup
from seminars.models import ActionItem, Registration, Talk, TalkRequest
from seminars.tests.factories import make_talk, talk_form

pytestmark = pytest.mark.django_db

PERSONAL_CHAT = 4242
LAB_CHAT = -100777


@pytest.fixture
def project(researcher):
    project = Project.objects.create(title="Sparse attention", created_by=researcher)
    project.people.add(researcher)
    return project


@pytest.fixture
def on_telegram(researcher):
    """Minji reads the portal on Telegram and by e-mail; the lab has its group."""
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=str(PERSONAL_CHAT))
    Channel.objects.create(person=researcher, kind=Channel.Kind.EMAIL, target="")


@pytest.fixture
def lab_group(settings, telegram):
    settings.TELEGRAM_LAB_CHAT_ID = str(LAB_CHAT)
    return telegram


def texts(telegram, chat_id: int) -> list[str]:
    return [message.text for message in telegram.bot_messages(chat_id)]


def test_accepted_request_tells_the_requester_once_with_the_talk(
    login, lead, researcher, project, on_telegram, telegram, smtp, django_capture_on_commit_callbacks
):
    talk_request = TalkRequest.objects.create(
        requester=researcher, title="First results", project=project, stage=Project.Stage.FIRST_RESULTS
    )
    url = reverse("seminars:accept-request", args=[talk_request.pk])
    attach = {"project": project.pk, "stage": "first_results"}

    with django_capture_on_commit_callbacks(execute=True):
        first = login(lead).post(url, talk_form(title="First results", speaker_user=researcher.pk, **attach))
        again = login(lead).post(url, talk_form(title="First results", speaker_user=researcher.pk, **attach))

    talk = Talk.objects.get(title="First results")
    assert first.status_code == 302 and again.status_code == 302
    assert (talk.project, talk.stage) == (project, Project.Stage.FIRST_RESULTS)
    [chat] = texts(telegram, PERSONAL_CHAT)
    assert "Accepted: First results" in chat
    assert "is accepted: the talk is on" in chat
    [mail] = smtp.messages
    assert mail["To"] == "minji@lab.example.org"
    assert mail["Subject"] == "Accepted: First results"
    assert Delivery.objects.filter(dedupe_key=f"talk-request:{talk_request.pk}:decided").count() == 2


def test_declined_request_carries_the_leads_note(
    login, lead, researcher, on_telegram, telegram, smtp, django_capture_on_commit_callbacks
):
    talk_request = TalkRequest.objects.create(requester=researcher, title="Too early")
    url = reverse("seminars:decline-request", args=[talk_request.pk])

    with django_capture_on_commit_callbacks(execute=True):
        login(lead).post(url, {"note": "Come back with the <b>ablation</b>."})
        login(lead).post(url, {"note": "A second click"})

    [chat] = texts(telegram, PERSONAL_CHAT)
    assert "Declined: Too early" in chat
    assert "The lead's note: Come back with the <b>ablation</b>." in chat
    [mail] = smtp.messages
    assert mail["Subject"] == "Declined: Too early"


def test_a_confirmed_talk_is_announced_to_the_lab_once(lead, lab_group, django_capture_on_commit_callbacks):
    from seminars.services import create_talk, update_talk

    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    tba = Talk(title="TBA", starts_at=starts, ends_at=starts + timedelta(hours=1), host=lead)

    with django_capture_on_commit_callbacks(execute=True):
        create_talk(tba)
    nothing_yet = texts(lab_group, LAB_CHAT)
    old = tba.schedule_snapshot()
    tba.title = "Diffusion for proteins"
    with django_capture_on_commit_callbacks(execute=True):
        update_talk(tba, old=old)
        update_talk(tba, old=tba.schedule_snapshot())

    assert nothing_yet == []
    [announcement] = texts(lab_group, LAB_CHAT)
    assert "New talk: Diffusion for proteins" in announcement


def test_the_monday_post_lists_the_weeks_talks_once_from_nine_in_the_labs_zone(
    lab_group, django_capture_on_commit_callbacks
):
    # Monday 7 December 2026 in Seoul.
    make_talk(title="Tuesday talk", starts_at=datetime(2026, 12, 8, 7, 0, tzinfo=UTC))
    make_talk(title="Next week's", starts_at=datetime(2026, 12, 15, 7, 0, tzinfo=UTC))
    make_talk(title="Cancelled one", starts_at=datetime(2026, 12, 9, 7, 0, tzinfo=UTC), status="cancelled")
    Delivery.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        early = announcements.post_week(now=datetime(2026, 12, 6, 23, 0, tzinfo=UTC))  # 08:00 Seoul
        posted = announcements.post_week(now=datetime(2026, 12, 7, 0, 30, tzinfo=UTC))  # 09:30 Seoul
        announcements.post_week(now=datetime(2026, 12, 7, 5, 0, tzinfo=UTC))

    assert (early, posted) == (False, True)
    [post] = texts(lab_group, LAB_CHAT)
    assert "Talks this week" in post
    assert "Tuesday talk" in post
    assert "Next week's" not in post and "Cancelled one" not in post


def test_an_action_item_owner_is_told_when_given_and_the_day_before_it_is_due(
    login, lead, researcher, make_person, on_telegram, telegram, django_capture_on_commit_callbacks
):
    speaker = make_person("sora")
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    talk = make_talk(title="First results", host=lead, speaker_user=speaker, starts_at=started)
    due = date(2026, 12, 10)
    url = reverse("seminars:add-action-item", args=[talk.pk])

    with django_capture_on_commit_callbacks(execute=True):
        login(lead).post(url, {"owner": researcher.pk, "text": "Run the ablation", "due_date": "2026-12-10"})
    item = ActionItem.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        before = announcements.remind_action_items(now=datetime(2026, 12, 8, 1, 0, tzinfo=UTC))
        reminded = announcements.remind_action_items(now=datetime(2026, 12, 9, 1, 0, tzinfo=UTC))
        announcements.remind_action_items(now=datetime(2026, 12, 9, 5, 0, tzinfo=UTC))
    followup.set_action_item_done(item, done=True)
    with django_capture_on_commit_callbacks(execute=True):
        after_done = announcements.remind_action_items(now=datetime(2026, 12, 9, 6, 0, tzinfo=UTC))

    assert item.due_date == due
    given, reminder = texts(telegram, PERSONAL_CHAT)
    assert "An action item for you: Run the ablation" in given
    assert "Due tomorrow: Run the ablation" in reminder
    assert (before, reminded, after_done) == (0, 1, 0)


def test_attendees_are_told_once_when_slides_and_a_recording_go_up(
    login,
    lead,
    researcher,
    other_researcher,
    on_telegram,
    telegram,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    talk = make_talk(title="First results", host=lead, starts_at=started)
    Registration.objects.create(talk=talk, user=researcher, status=Registration.Status.CONFIRMED)
    Registration.objects.create(talk=talk, user=other_researcher, status=Registration.Status.CANCELLED)
    url = reverse("seminars:edit-materials", args=[talk.pk])
    data = {"slides_url": "https://slides.example.org/1", "recording_url": "", "papers": ""}

    with django_capture_on_commit_callbacks(execute=True):
        login(lead).post(url, data)
        login(lead).post(url, {**data, "slides_url": "https://slides.example.org/2"})
        login(lead).post(url, {**data, "recording_url": "https://video.example.org/1"})

    slides, recording = texts(telegram, PERSONAL_CHAT)
    assert "Slides are up: First results" in slides
    assert "Recording is up: First results" in recording
    assert not Delivery.objects.filter(channel__person=other_researcher).exists()


def test_notices_are_written_in_the_readers_language(
    researcher, project, on_telegram, telegram, django_capture_on_commit_callbacks
):
    researcher.language = "ko"
    researcher.save()
    talk_request = TalkRequest.objects.create(
        requester=researcher, title="초기 결과", status=TalkRequest.Status.DECLINED
    )

    with django_capture_on_commit_callbacks(execute=True):
        announcements.request_decided(talk_request)

    [chat] = texts(telegram, PERSONAL_CHAT)
    assert "Declined" not in chat
    assert "초기 결과" in chat
