"""A pasted Slack webhook URL reaches Slack and nothing else.

Two real HTTPS servers on 127.0.0.1: Slack's stand-in at hooks.slack.com (the production default
of SLACK_WEBHOOK_HOSTS, resolved to it for the test process, with every port of that name kept
on this machine), and a service inside the lab that counts every connection made to it. Each
trick is tried through the doors a person has: the channel form, the edit form, and the test
button of a channel stored before the rule (or added in the admin site).
"""

import pytest
from django.apps import apps

from lab_portal import channels
from lab_portal.models import Channel
from lab_portal.notify import Message
from lab_portal.tests import migrating
from lab_portal.tests.stand_ins import InsideService, SlackServer

pytestmark = pytest.mark.django_db

SLACK_PATH = "/services/T0LAB/B0PORTAL/stand-in-secret"
REFUSED = "Paste the incoming webhook URL Slack gave you"
NOT_POSTED = (
    "This is not a Slack webhook URL the portal may post to: edit the channel with the URL Slack gave you."
)

# {port} is the inside service's. Each is read as hooks.slack.com by one parser and as another
# place by another, or names Slack's host on a port that is not Slack's.
TRICKS = [
    "https://127.0.0.1:{port}\\@hooks.slack.com/services/T0/B0/x",
    "https://127.0.0.1:{port}%5C@hooks.slack.com/services/T0/B0/x",
    "https://hooks.slack.com:{port}/services/T0/B0/x",
    "HTTPS://HOOKS.SLACK.COM:{port}/services/T0/B0/x",
    "https://hooks.slack.com:443@127.0.0.1:{port}/services/T0/B0/x",
    "https://hooks.slack.com@127.0.0.1:{port}/services/T0/B0/x",
    "https://hooks.slack.com\\@127.0.0.1:{port}/services/T0/B0/x",
    "https://127.0.0.1:{port}#@hooks.slack.com/services/T0/B0/x",
    "https://127.0.0.1:{port}?@hooks.slack.com/services/T0/B0/x",
    "https://127.0.0.1:{port}/services/T0/B0/x",
    "https://localhost:{port}/services/T0/B0/x",
    "https://[::ffff:127.0.0.1]:{port}/services/T0/B0/x",
    "https://hooks.slack.com.:{port}/services/T0/B0/x",
    "https://hooks.slack.com\t:{port}/services/T0/B0/x",
    "https://hooks.slack.com\uff0f@127.0.0.1:{port}/services/T0/B0/x",  # a full-width solidus
    "http://hooks.slack.com:{port}/services/T0/B0/x",
    "https://user:password@hooks.slack.com/services/T0/B0/x",
    "https://hooks.slack.com/services/../../admin",
    "https://hooks.slack.com/services/T0/B0/x?redirect=https://127.0.0.1:{port}/",
    "https://hooks.slack.com/admin",
]


@pytest.fixture
def inside():
    with InsideService() as service:
        yield service


@pytest.fixture
def real_slack(settings):
    """Slack's stand-in answering as hooks.slack.com, under the production host rule."""
    with SlackServer(host="hooks.slack.com") as server:
        settings.SLACK_WEBHOOK_HOSTS = ["hooks.slack.com"]
        settings.NOTIFY_HTTP_TIMEOUT = 1
        yield server


def trick_ids():
    return [trick.replace("{port}", "P") for trick in TRICKS]


@pytest.mark.parametrize("trick", TRICKS, ids=trick_ids())
def test_channel_form_refuses_a_url_aimed_elsewhere(login, researcher, inside, real_slack, trick):
    url = trick.format(port=inside.port)

    response = login(researcher).post("/me/channels/", {"kind": "slack", "target": url})

    assert response.status_code == 200
    assert REFUSED in response.text
    assert not Channel.objects.exists()
    assert inside.connections == 0 and real_slack.connections == 0


@pytest.mark.parametrize("trick", TRICKS, ids=trick_ids())
def test_edit_form_refuses_a_url_aimed_elsewhere(login, researcher, inside, real_slack, trick):
    good = f"https://hooks.slack.com{SLACK_PATH}"
    channel = Channel.objects.create(person=researcher, kind=Channel.Kind.SLACK, target=good)
    form = {f"c{channel.pk}-kind": "slack", f"c{channel.pk}-target": trick.format(port=inside.port)}

    response = login(researcher).post(f"/me/channels/{channel.pk}/", form)

    assert REFUSED in response.text
    channel.refresh_from_db()
    assert channel.target == good
    assert inside.connections == 0


@pytest.mark.parametrize("trick", TRICKS, ids=trick_ids())
def test_a_stored_url_aimed_elsewhere_is_never_posted_to(
    login, researcher, inside, real_slack, trick, django_capture_on_commit_callbacks
):
    # Stored before the rule was strict, or typed into the admin site: sending checks again.
    url = trick.format(port=inside.port)
    channel = Channel.objects.create(person=researcher, kind=Channel.Kind.SLACK, target=url)
    client = login(researcher)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/me/channels/{channel.pk}/test", headers={"HX-Request": "true"})
    row = client.get(f"/me/channels/{channel.pk}/status", headers={"HX-Request": "true"})

    channel.refresh_from_db()
    assert (channel.last_test.state, channel.last_test.response) == ("failed", NOT_POSTED)
    assert channel.last_error == NOT_POSTED
    assert NOT_POSTED in " ".join(row.text.split())
    assert InsideService.secret not in row.text
    assert inside.connections == 0 and real_slack.connections == 0


@pytest.mark.parametrize("trick", TRICKS[:6], ids=trick_ids()[:6])
def test_admin_site_refuses_a_lab_channel_aimed_elsewhere(login, portal_admin, inside, real_slack, trick):
    form = {"kind": "slack", "target": trick.format(port=inside.port), "enabled": "on"}

    response = login(portal_admin).post("/admin/lab_portal/channel/add/", form)

    assert response.status_code == 200
    assert "A Slack webhook URL is https://hooks.slack.com/services/" in response.text
    assert not Channel.objects.exists()


def test_admin_site_stores_a_lab_channel_as_checked(login, portal_admin, real_slack):
    form = {"kind": "slack", "target": f" https://HOOKS.slack.com{SLACK_PATH}", "enabled": "on"}

    response = login(portal_admin).post("/admin/lab_portal/channel/add/", form)

    assert response.status_code == 302
    assert Channel.objects.get().target == f"https://hooks.slack.com{SLACK_PATH}"


def test_a_good_webhook_url_is_stored_as_checked_and_delivers(
    login, researcher, inside, real_slack, django_capture_on_commit_callbacks
):
    client = login(researcher)

    client.post("/me/channels/", {"kind": "slack", "target": f"  https://Hooks.Slack.com{SLACK_PATH}  "})
    channel = Channel.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/me/channels/{channel.pk}/test")

    channel.refresh_from_db()
    assert channel.target == f"https://hooks.slack.com{SLACK_PATH}"
    [arrival] = real_slack.arrivals
    assert arrival.path == SLACK_PATH and arrival.headers["Host"] == "hooks.slack.com"
    assert arrival.body["text"].startswith("*Test message from the Lab Portal*")
    assert (channel.last_test.state, channel.last_test.response) == ("sent", "Slack accepted the message.")
    assert inside.connections == 0


@pytest.mark.parametrize(
    ("status", "body", "kind", "shown"),
    [
        (404, "no_service", channels.PermanentError, "Slack refused the message (HTTP 404: no_service)."),
        (400, InsideService.secret, channels.PermanentError, "Slack refused the message (HTTP 400)."),
        (
            503,
            "<html>upstream: 10.0.0.5:5432</html>",
            channels.TemporaryError,
            "Slack could not take the message (HTTP 503).",
        ),
    ],
)
def test_slack_errors_are_short_fixed_texts(real_slack, status, body, kind, shown):
    from lab_portal.tests.stand_ins import slack_error

    real_slack.script(slack_error(status, body))
    message = Message(subject="Hello", dedupe_key="k")

    with pytest.raises(kind) as error:
        channels.send_slack(f"https://hooks.slack.com{SLACK_PATH}", message)

    assert str(error.value) == shown


def test_a_url_refused_before_sending_and_an_unreachable_slack_read_alike_to_a_scanner(real_slack, inside):
    # Whatever listens (or not) behind a refused URL, the answer is the same and nothing connects.
    message = Message(subject="Hello", dedupe_key="k")
    answers = set()
    for port in (inside.port, 1, 5432, 6379):
        with pytest.raises(channels.PermanentError) as error:
            channels.send_slack(f"https://hooks.slack.com:{port}{SLACK_PATH}", message)
        answers.add(str(error.value))

    assert answers == {NOT_POSTED}
    assert inside.connections == 0


def test_migration_turns_off_stored_channels_the_rule_refuses(researcher, team, inside, settings, capsys):
    settings.SLACK_WEBHOOK_HOSTS = ["hooks.slack.com"]
    researcher.language = "ko"
    researcher.save()
    good = Channel.objects.create(
        person=researcher, kind=Channel.Kind.SLACK, target=f"https://hooks.slack.com{SLACK_PATH}"
    )
    mine = Channel.objects.create(
        person=researcher, kind=Channel.Kind.SLACK, target=f"https://hooks.slack.com:{inside.port}/services/y"
    )
    bad = Channel.objects.create(
        team=team,
        kind=Channel.Kind.SLACK,
        target=f"https://127.0.0.1:{inside.port}\\@hooks.slack.com/services/x",
    )
    lab = Channel.objects.create(
        kind=Channel.Kind.SLACK, target=f"https://hooks.slack.com:{inside.port}/services/x"
    )
    telegram = Channel.objects.create(person=researcher, kind=Channel.Kind.TELEGRAM, target="4242")
    migration = migrating.module("channel_last_test_and_checked_slack_urls")

    migration.turn_off_refused_slack_channels(apps, None)

    for channel in (good, mine, bad, lab, telegram):
        channel.refresh_from_db()
    assert (good.enabled, good.last_error, telegram.enabled) == (True, "", True)
    assert (mine.enabled, bad.enabled, lab.enabled) == (False, False, False)
    assert bad.last_error == lab.last_error == migration.REFUSED and bad.last_error_at is not None
    assert mine.last_error.startswith("포털이")  # in its owner's language
    assert bad.target.startswith("https://127.0.0.1")  # kept for its owner to see and correct
    assert f"Slack channel {bad.pk}: URL refused" in capsys.readouterr().out
    assert inside.connections == 0
