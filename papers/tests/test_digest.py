"""The morning e-mail: one per person and day in their own zone, grouped by rule, sent once."""

# ruff: noqa: RUF001 - the expected texts are Unicode mathematics on purpose

from datetime import UTC, date, datetime, timedelta

import pytest

from lab_portal.models import Channel, Delivery
from papers.models import Notification, Paper, Recommendation, WatchRule
from papers.tasks import send_digests
from papers.tests.factories import make_paper
from papers.watch import notify_matches

pytestmark = pytest.mark.django_db

ARRIVED = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # Seoul 27th 03:00, New York 26th 13:00
SEOUL_MORNING = datetime(2026, 11, 26, 23, 15, tzinfo=UTC)  # Seoul 27th 08:15
NEW_YORK_MORNING = datetime(2026, 11, 27, 13, 15, tzinfo=UTC)  # New York 27th 08:15


@pytest.fixture
def run_digests(django_capture_on_commit_callbacks, time_machine):
    def run(at: datetime) -> dict:
        time_machine.move_to(at, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            return send_digests.delay().get()

    return run


@pytest.fixture
def seoul(researcher):
    researcher.timezone = "Asia/Seoul"
    researcher.save()
    return researcher


@pytest.fixture
def new_york(other_researcher):
    other_researcher.timezone = "America/New_York"
    other_researcher.save()
    return other_researcher


def notify(person, rule, title, *, at=ARRIVED, time_machine, reason="keywords: diffusion"):
    time_machine.move_to(at, tick=False)
    paper = make_paper(title=title, authors=["Jung-Woo Ha", "Ada <Lovelace>"])
    return Notification.objects.create(person=person, paper=paper, rule=rule, reason=reason)


def test_digest_goes_once_each_morning_in_each_persons_zone(smtp, run_digests, seoul, new_york, time_machine):
    diffusion = WatchRule.objects.create(person=seoul, name="Diffusion", query="diffusion")
    authors = WatchRule.objects.create(person=seoul, name="Ha's papers", authors=["J.-W. Ha"])
    theirs = WatchRule.objects.create(person=new_york, name="Robots", query="robot")
    notify(seoul, diffusion, "Video diffusion at scale", time_machine=time_machine)
    notify(
        seoul,
        authors,
        "Hyper-networks for <everything>",
        time_machine=time_machine,
        reason="author: Jung-Woo Ha",
    )
    notify(
        seoul, diffusion, "Diffusion for robots", at=ARRIVED + timedelta(hours=1), time_machine=time_machine
    )
    notify(new_york, theirs, "Robots that read", time_machine=time_machine)

    before = run_digests(datetime(2026, 11, 26, 22, 45, tzinfo=UTC))  # Seoul 07:45
    seoul_morning = run_digests(SEOUL_MORNING)
    again = run_digests(datetime(2026, 11, 27, 0, 30, tzinfo=UTC))
    new_york_morning = run_digests(NEW_YORK_MORNING)

    assert [before, seoul_morning, again, new_york_morning] == [
        {"sent": 0},
        {"sent": 1},
        {"sent": 0},
        {"sent": 1},
    ]
    assert [message["To"] for message in smtp.messages] == [seoul.email, new_york.email]
    mail = smtp.messages[0]
    assert mail["Subject"] == "Your papers for 27 November 2026: 3 matches"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    # Grouped by rule, rules in name order, the newest paper first within a rule.
    assert text.index("== Watch rule “Diffusion” ==") < text.index("Diffusion for robots")
    assert text.index("Diffusion for robots") < text.index("Video diffusion at scale")
    assert text.index("Video diffusion at scale") < text.index("== Watch rule “Ha's papers” ==")
    assert text.index("== Watch rule “Ha's papers” ==") < text.index("Hyper-networks for <everything>")
    assert "Why: author: Jung-Woo Ha" in text
    assert "Robots that read" not in text
    assert "Hyper-networks for &lt;everything&gt;" in html
    assert "<everything>" not in html
    assert "Ada &lt;Lovelace&gt;" in html
    assert "http://testserver" not in text
    assert "https://arxiv.org/abs/" in html
    assert not Notification.objects.filter(digest_sent_at__isnull=True).exists()


def test_digest_nothing_when_nothing_matched(smtp, run_digests, seoul, new_york, time_machine):
    quiet = WatchRule.objects.create(person=seoul, name="Chat only", query="diffusion", in_digest=False)
    notify(seoul, quiet, "Video diffusion at scale", time_machine=time_machine)

    result = run_digests(SEOUL_MORNING)

    assert result == {"sent": 0}
    assert smtp.messages == []
    assert Delivery.objects.count() == 0


def test_digest_what_arrives_after_the_morning_waits_for_the_next(smtp, run_digests, seoul, time_machine):
    rule = WatchRule.objects.create(person=seoul, name="Diffusion", query="diffusion")
    notify(seoul, rule, "First paper", time_machine=time_machine)
    run_digests(SEOUL_MORNING)
    notify(
        seoul, rule, "Second paper", at=datetime(2026, 11, 27, 1, 30, tzinfo=UTC), time_machine=time_machine
    )

    later_that_day = run_digests(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
    next_morning = run_digests(datetime(2026, 11, 27, 23, 15, tzinfo=UTC))

    assert (later_that_day, next_morning) == ({"sent": 0}, {"sent": 1})
    assert [m["Subject"] for m in smtp.messages] == [
        "Your papers for 27 November 2026: 1 match",
        "Your papers for 28 November 2026: 1 match",
    ]
    assert "Second paper" in smtp.messages[1].get_body(("plain",)).get_content()
    assert "First paper" not in smtp.messages[1].get_body(("plain",)).get_content()


def test_digest_runs_twice_at_once_send_one_mail(smtp, run_digests, seoul, time_machine):
    rule = WatchRule.objects.create(person=seoul, name="Diffusion", query="diffusion")
    notify(seoul, rule, "A paper", time_machine=time_machine)

    first, second = run_digests(SEOUL_MORNING), run_digests(SEOUL_MORNING)

    assert (first, second) == ({"sent": 1}, {"sent": 0})
    assert len(smtp.messages) == 1
    assert Delivery.objects.get().dedupe_key == f"digest:{seoul.pk}:2026-11-27"


def test_digest_has_a_for_you_section_from_the_days_recommendations(smtp, run_digests, seoul, time_machine):
    rule = WatchRule.objects.create(person=seoul, name="Diffusion", query="diffusion")
    notify(seoul, rule, "A paper", time_machine=time_machine)
    liked = make_paper(title="A paper like your library")
    Recommendation.objects.create(
        person=seoul,
        paper=liked,
        score=0.91,
        reason="like “Score matching” in your library",
        day=date(2026, 11, 26),
    )

    run_digests(SEOUL_MORNING)

    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert text.index("== For you ==") < text.index("A paper like your library")
    assert "Why: like “Score matching” in your library" in text


def test_digest_with_email_switched_off_sends_nothing_and_does_not_pile_up(
    smtp, run_digests, seoul, time_machine
):
    Channel.objects.create(person=seoul, kind=Channel.Kind.EMAIL, target="", enabled=False)
    rule = WatchRule.objects.create(person=seoul, name="Diffusion", query="diffusion")
    notify(seoul, rule, "A paper", time_machine=time_machine)

    result = run_digests(SEOUL_MORNING)

    assert result == {"sent": 0}
    assert smtp.messages == []
    assert not Notification.objects.filter(digest_sent_at__isnull=True).exists()


def test_digest_shows_latex_as_unicode_and_each_papers_first_sentences(
    smtp, run_digests, seoul, time_machine
):
    rule = WatchRule.objects.create(person=seoul, name="Bandits", query="regret")
    time_machine.move_to(ARRIVED, tick=False)
    paper = make_paper(
        title=r"Regret $\mathcal{O}(\sqrt{T})$ for \emph{Schr\"odinger} bandits",
        abstract=r"We bound the regret by $\mathcal{O}(\sqrt{T})$. It is tight. More follows here.",
    )
    Notification.objects.create(person=seoul, paper=paper, rule=rule, reason="keywords: regret")

    run_digests(SEOUL_MORNING)

    [mail] = smtp.messages
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = mail.get_body(("html",)).get_content()
    title, summary = "Regret 𝒪(√(T)) for Schrödinger bandits", "We bound the regret by 𝒪(√(T)). It is tight."
    assert f"* {title}\n  {summary}\n" in text
    assert "Regret 𝒪(√(T)) for Schrödinger bandits</a></strong><br>" in html
    assert "We bound the regret by 𝒪(√(T)). It is tight.<br>" in html
    assert "More follows here" not in text + html
    assert "\\mathcal" not in text + html


def test_digest_keeps_coming_to_a_person_who_added_telegram(
    smtp, telegram, run_digests, seoul, time_machine, django_capture_on_commit_callbacks
):
    # Telegram added before the portal ever mailed them: no e-mail channel of their own yet.
    Channel.objects.create(person=seoul, kind=Channel.Kind.TELEGRAM, target="4242")
    WatchRule.objects.create(person=seoul, name="Diffusion", query="diffusion", urgent=True)
    time_machine.move_to(ARRIVED, tick=False)
    paper = make_paper(title="Video diffusion at scale")
    with django_capture_on_commit_callbacks(execute=True):
        notify_matches(Paper.objects.filter(pk=paper.pk))

    result = run_digests(SEOUL_MORNING)

    [pushed] = telegram.sent()
    assert "Video diffusion at scale" in pushed.text
    assert result == {"sent": 1}
    [mail] = smtp.messages
    assert mail["To"] == seoul.email
    assert "Video diffusion at scale" in mail.get_body(("plain",)).get_content()
    # Chat having shown the match did not take it out of the morning e-mail.
    [row] = Notification.objects.all()
    assert row.pushed_at is not None and row.digest_sent_at is not None
    assert Channel.objects.filter(person=seoul, kind=Channel.Kind.EMAIL, target="", enabled=True).exists()


def test_digest_turned_off_sends_nothing_and_does_not_pile_up(smtp, run_digests, seoul, time_machine):
    seoul.morning_digest = False
    seoul.save()
    rule = WatchRule.objects.create(person=seoul, name="Diffusion", query="diffusion")
    notify(seoul, rule, "A paper", time_machine=time_machine)

    result = run_digests(SEOUL_MORNING)
    seoul.morning_digest = True
    seoul.save()
    next_morning = run_digests(SEOUL_MORNING + timedelta(days=1))

    assert (result, next_morning) == ({"sent": 0}, {"sent": 0})
    assert smtp.messages == []
    assert not Notification.objects.filter(digest_sent_at__isnull=True).exists()
    assert not Channel.objects.filter(person=seoul).exists()
