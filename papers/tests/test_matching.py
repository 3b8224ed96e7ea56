"""After a fetch commits, watch rules turn new papers into notifications and urgent pushes
(the morning chat post of a daily run is in test_chat_post.py)."""

import json
from datetime import UTC, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from celery.exceptions import Retry
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from lab_portal.models import Channel, Delivery
from lab_portal.tests.stand_ins import SmtpServer
from papers.models import FetchRun, Notification, Paper, WatchRule
from papers.tasks import fetch_new_papers, match_watch_rules, send_digests
from papers.tests.arxiv_server import (
    DATA,
    NS,
    OLD_STYLE_ID,
    TESTING_PAGES,
    ArxivServer,
    Reply,
    entries,
    revised,
)
from papers.tests.factories import make_paper
from papers.watch import _insert_matches, words

pytestmark = pytest.mark.django_db
# arXiv's recorded answer to ListRecords for 1-3 January 2015: two papers, one in cs.DM.
OAI_PAGE = json.loads(
    (
        DATA.parent / "oai" / "oai-pmh__oaipmh-listrecords---should-list-identifiers-from-arxiv.json"
    ).read_text()
)[1]

CHAT = "4242"
TEAM_CHAT = "-1009876"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def server(settings):
    with ArxivServer() as running:
        running.configure(settings)
        yield running


@pytest.fixture
def fetch(django_capture_on_commit_callbacks):
    """A daily run over every recorded cs.SE paper, through `papers.fetch_new_papers` as the watcher
    starts it, with everything queued on commit run in-process (matching, training, matching
    again, and the deliveries)."""

    def run() -> FetchRun:
        prepared = FetchRun.objects.create(
            kind=FetchRun.Kind.DAILY, categories=["cs.SE"], since=LONG_AGO, until=timezone.now()
        )
        with django_capture_on_commit_callbacks(execute=True):
            fetch_new_papers.delay(run_id=prepared.pk)
        return FetchRun.objects.get(pk=prepared.pk)

    return run


@pytest.fixture
def backfill(django_capture_on_commit_callbacks):
    """`manage.py fetch_arxiv` with a window, as a person runs it, with what it queues run too."""

    def run(*args: str) -> FetchRun:
        with django_capture_on_commit_callbacks(execute=True):
            call_command("fetch_arxiv", *args, stdout=StringIO())
        return FetchRun.objects.latest()

    return run


def expected(phrase: str) -> set[str]:
    """What a one-phrase rule should find among the stored first versions, read the simple way."""
    wanted = " ".join(words(phrase))
    return {
        paper.arxiv_id
        for paper in Paper.objects.filter(version=1)
        if f" {wanted} " in f" {' '.join(words(paper.title + ' ' + paper.abstract))} "
    }


def test_fetch_creates_one_notification_per_match_and_pushes_urgent_ones_to_telegram(
    fetch, server, telegram, researcher, settings
):
    server.serve_entries(entries(*TESTING_PAGES))
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT)
    rule = WatchRule.objects.create(
        person=researcher, name="Metamorphic", query='"metamorphic testing"', urgent=True
    )

    fetch()

    found = set(Notification.objects.filter(rule=rule).values_list("paper__arxiv_id", flat=True))
    assert found == expected("metamorphic testing")
    assert len(found) >= 3
    notification = Notification.objects.filter(rule=rule).select_related("paper").first()
    assert notification.person == researcher
    assert notification.reason == 'keywords: "metamorphic testing"'
    assert notification.pushed_at is not None
    sent = telegram.sent()
    assert len(sent) == len(found)
    assert {arrival.body["chat_id"] for arrival in sent} == {CHAT}
    message = next(a for a in sent if notification.paper.title[:40] in a.text)
    assert "Metamorphic" in message.text
    assert notification.paper.authors[0] in message.text
    assert 'keywords: "metamorphic testing"' in message.text
    assert f'href="{settings.SITE_URL}{notification.paper.get_absolute_url()}"' in message.body["text"]
    assert f'href="https://arxiv.org/abs/{notification.paper.arxiv_id}"' in message.body["text"]


def test_second_fetch_creates_and_sends_nothing_new(fetch, server, telegram, researcher):
    server.serve_entries(entries(*TESTING_PAGES))
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT)
    WatchRule.objects.create(person=researcher, name="Mutation", query="mutation", urgent=True)
    fetch()
    notifications, messages = Notification.objects.count(), len(telegram.sent())

    fetch()

    assert notifications > 0
    assert Notification.objects.count() == notifications
    assert len(telegram.sent()) == messages
    assert Delivery.objects.count() == messages


def test_running_the_match_task_again_creates_nothing(fetch, server, researcher):
    server.serve_entries(entries(*TESTING_PAGES))
    WatchRule.objects.create(person=researcher, name="Mutation", query="mutation OR fuzzing", in_chat=False)
    run = fetch()
    before = Notification.objects.count()

    result = match_watch_rules.delay(run_id=run.pk).get()

    assert before > 0
    assert result == {"run_id": run.pk, "notifications": 0, "chat_posts": 0}
    assert Notification.objects.count() == before


def test_matches_another_worker_stored_meanwhile_are_kept_once(researcher):
    paper = make_paper(title="Mutation testing at scale")
    rule = WatchRule.objects.create(person=researcher, name="Mutation", query="mutation")
    Notification.objects.create(person=researcher, paper=paper, rule=rule, version=1, reason="first")

    _insert_matches(
        [(researcher.pk, paper.pk, rule.pk, 1, "again"), (researcher.pk, paper.pk, rule.pk, 2, "new")]
    )

    stored = Notification.objects.filter(person=researcher, paper=paper, rule=rule)
    assert sorted(stored.values_list("version", "reason", "kind")) == [
        (1, "first", "match"),
        (2, "new", "match"),
    ]


def test_new_version_is_pushed_only_to_rules_that_ask_for_updates(fetch, server, telegram, researcher):
    [original] = [
        e for e in entries(*TESTING_PAGES) if e.findtext("atom:id", namespaces=NS).endswith("2301.13615v1")
    ]
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT)
    updates = WatchRule.objects.create(
        person=researcher,
        name="Mutation, all versions",
        query='"mutation testing"',
        include_updates=True,
        urgent=True,
    )
    first_only = WatchRule.objects.create(
        person=researcher, name="Mutation, new only", query='"mutation testing"', urgent=True
    )
    server.serve_entries([original])
    fetch()
    server.serve_entries([revised(original, version=2, updated="2026-11-20T10:00:00Z")])

    run = fetch()

    assert run.updated_count == 1
    assert sorted(Notification.objects.filter(rule=updates).values_list("version", flat=True)) == [1, 2]
    assert list(Notification.objects.filter(rule=first_only).values_list("version", flat=True)) == [1]
    # Both rules matched the first version: one push names both, the paper arrives once.
    first, second = telegram.sent()
    assert first.text.splitlines()[0] == "New paper for 2 of your watch rules"
    assert "Mutation, all versions: " in first.text and "Mutation, new only: " in first.text
    assert second.text.splitlines()[0] == "New version for your watch rule “Mutation, all versions”"


def test_team_rule_notifies_every_member_and_pushes_once_to_the_team_chat(
    fetch, server, telegram, researcher, lead, other_researcher, team
):
    server.serve_entries(entries(*TESTING_PAGES))
    Channel.objects.create(team=team, kind=Channel.Kind.TELEGRAM, target=TEAM_CHAT)
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT)
    rule = WatchRule.objects.create(
        team=team, name="Flaky tests", query="flaky", created_by=lead, urgent=True
    )

    fetch()

    papers = set(Notification.objects.filter(rule=rule).values_list("paper_id", flat=True))
    people = set(Notification.objects.filter(rule=rule).values_list("person__username", flat=True))
    assert papers
    assert people == {researcher.username, lead.username}
    assert Notification.objects.filter(rule=rule).count() == 2 * len(papers)
    assert [arrival.body["chat_id"] for arrival in telegram.sent()] == [TEAM_CHAT] * len(papers)


def test_team_rule_alerts_follow_the_membership_admins_set(
    fetch, server, login, researcher, other_researcher, team, make_person
):
    from lab_portal.models import Team

    server.serve_entries(entries(*TESTING_PAGES))
    speech = Team.objects.create(name="Speech", slug="speech")
    member = make_person("dami", team=speech)
    rule = WatchRule.objects.create(team=speech, name="Speech flaky", query="flaky")
    # Two people try to join Speech from their profile; neither is let in.
    for person in (researcher, other_researcher):
        profile = {"display_name": person.name, "email": person.email, "timezone": "Asia/Seoul"}
        login(person).post("/me/", {**profile, "language": "en", "team": speech.pk})

    fetch()

    people = set(Notification.objects.filter(rule=rule).values_list("person__username", flat=True))
    assert people == {member.username}


def test_rule_that_is_not_urgent_is_not_pushed_at_once(fetch, server, telegram, researcher):
    server.serve_entries(entries(*TESTING_PAGES))
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT)
    WatchRule.objects.create(person=researcher, name="Quiet", query="mutation")
    WatchRule.objects.create(person=researcher, name="Paused", query="testing", active=False)

    fetch()

    assert set(Notification.objects.values_list("rule__name", flat=True)) == {"Quiet"}
    assert Notification.objects.filter(pushed_at__isnull=False).count() == 0
    # Its matches come in the one morning post of the run, not as a message of their own.
    [post] = telegram.sent()
    assert post.text.startswith("Your papers for ")
    assert not Delivery.objects.filter(dedupe_key__startswith="urgent:").exists()


def test_author_rule_matches_names_written_another_way(fetch, server, researcher):
    server.serve_entries(entries(*TESTING_PAGES))
    rule = WatchRule.objects.create(
        person=researcher, name="Fraser", authors=["Fraser, G."], categories=["cs.SE"], in_chat=False
    )

    fetch()

    found = {
        n.paper.arxiv_id: n.reason for n in Notification.objects.filter(rule=rule).select_related("paper")
    }
    assert set(found) == {"2101.09077", "2202.06271", "2501.07954"}
    assert all("author: Gordon Fraser" in reason for reason in found.values())


def test_match_task_for_a_missing_run_does_nothing(db):
    assert match_watch_rules.delay(run_id=999).get() is None


@pytest.mark.parametrize(
    "args",
    [
        ["--category", "cs.SE", "--since", "2000-01-01"],
        ["--category", "cs.SE", "--since", "2025-01-01", "--until", "2026-06-30"],
    ],
    ids=["since", "window"],
)
def test_backfill_pushes_and_records_nothing(backfill, server, telegram, researcher, args):
    server.serve_entries(entries(*TESTING_PAGES))
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT)
    rule = WatchRule.objects.create(person=researcher, name="Testing", query="testing")

    run = backfill(*args)

    assert (run.kind, run.status) == (FetchRun.Kind.BACKFILL, FetchRun.Status.SUCCEEDED)
    assert run.new_count > 0
    assert match_watch_rules.delay(run_id=run.pk).get() is None
    assert not Notification.objects.filter(rule=rule).exists()
    assert telegram.arrivals == []


def test_oai_harvest_pushes_and_records_nothing(backfill, server, telegram, researcher):
    server.fail(0, Reply(OAI_PAGE["response"].encode()))
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT)
    WatchRule.objects.create(person=researcher, name="Discrete", categories=["cs.DM"])

    run = backfill("--oai", "--from", "2015-01-01", "--until", "2015-01-03", "--category", "cs.DM")

    assert (run.kind, run.new_count) == (FetchRun.Kind.OAI, 1)
    assert not Notification.objects.exists()
    assert telegram.arrivals == []


def test_paper_added_by_id_pushes_and_records_nothing(server, telegram, login, researcher):
    server.serve_pages(OLD_STYLE_ID)
    Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT)
    WatchRule.objects.create(person=researcher, name="Astro", categories=["astro-ph"])

    response = login(researcher).post("/papers/add/", {"reference": "astro-ph/0601001"})

    assert response.status_code == 302
    run = FetchRun.objects.get()
    assert (run.kind, run.status, run.new_count) == (FetchRun.Kind.ADDED, FetchRun.Status.SUCCEEDED, 1)
    assert not Notification.objects.exists()
    assert telegram.arrivals == []


def test_new_user_rule_reaches_telegram_at_once_and_the_mail_next_morning(
    fetch, server, telegram, researcher, settings, time_machine, django_capture_on_commit_callbacks
):
    with SmtpServer() as smtp:
        smtp.configure(settings)
        server.serve_entries(entries(*TESTING_PAGES))
        Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT)
        Channel.objects.create(person=researcher, kind=Channel.Kind.EMAIL, target="")
        WatchRule.objects.create(person=researcher, name="Flaky", query="flaky", urgent=True)

        fetch()
        local = timezone.now().astimezone(ZoneInfo(researcher.timezone))
        time_machine.move_to(datetime.combine(local.date() + timedelta(days=1), time(9), tzinfo=local.tzinfo))
        with django_capture_on_commit_callbacks(execute=True):
            send_digests.delay()
        fetch()
        with django_capture_on_commit_callbacks(execute=True):
            send_digests.delay()

    [paper] = Paper.objects.filter(notifications__isnull=False).distinct()
    [pushed] = telegram.sent()
    assert paper.title in pushed.text
    [mail] = smtp.messages
    assert mail["To"] == researcher.email
    assert paper.title in mail.get_body(("plain",)).get_content()


def test_match_task_waits_while_another_matches_the_same_run(fetch, server, researcher):
    server.serve_entries(entries(*TESTING_PAGES))
    WatchRule.objects.create(person=researcher, name="Mutation", query="mutation", in_chat=False)
    run = fetch()
    Notification.objects.all().delete()
    cache.add(f"papers:matching-run:{run.pk}", "the matching after training", timeout=60)

    with pytest.raises(Retry):
        match_watch_rules.apply(kwargs={"run_id": run.pk})

    assert not Notification.objects.exists()
    cache.delete(f"papers:matching-run:{run.pk}")
    assert match_watch_rules.apply(kwargs={"run_id": run.pk}).get()["notifications"] > 0
