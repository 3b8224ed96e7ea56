"""What arrives on each channel, and the page where people manage their channels."""

# ruff: noqa: RUF001 - the expected texts are Unicode mathematics on purpose

import re
import threading

import pytest
from django.db import connection
from django.db.models.signals import pre_save
from django.test import Client
from django.utils import timezone

from lab_portal.models import Channel, Delivery, User
from lab_portal.notify import Item, Message, notify, notify_lab
from lab_portal.tests.stand_ins import TOKEN, telegram_error

pytestmark = pytest.mark.django_db

TITLE = "Fast <b>O(n)</b> sorting & 100% recall"


@pytest.fixture
def send_now(django_capture_on_commit_callbacks):
    """Notify as the portal does, and run what it enqueues after the commit, in-process."""

    def send(recipient, message: Message) -> list[Delivery]:
        with django_capture_on_commit_callbacks(execute=True):
            return notify(recipient, message)

    return send


def paper_item(**fields) -> Item:
    fields = {
        "title": TITLE,
        "authors": ["Jürgen Müller", "Łukasz Øster", "김민지"],
        "why": "Rule “sorting & <search>”: the title says sorting",
        "portal_url": "/papers/2606.00042",
        "external_url": "https://arxiv.org/abs/2606.00042",
        **fields,
    }
    return Item(**fields)


def match(key: str = "match:1:2606.00042v1", **fields) -> Message:
    return Message(subject=fields.pop("subject", "New paper for “sorting”"), dedupe_key=key, **fields)


def add_channel(owner, kind: str, target: str = "", **fields) -> Channel:
    key = "team" if owner.__class__.__name__ == "Team" else "person"
    return Channel.objects.create(kind=kind, target=target, **{key: owner}, **fields)


# What arrives ---------------------------------------------------------------------------------


def test_telegram_message_arrives_with_its_html_escaped(researcher, telegram, send_now, settings):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    [delivery] = send_now(researcher, match(items=[paper_item()]))

    [arrival] = telegram.arrivals
    assert arrival.path == f"/bot{TOKEN}/sendMessage"
    assert (arrival.body["chat_id"], arrival.body["parse_mode"]) == ("4242", "HTML")
    assert arrival.body["link_preview_options"] == {"is_disabled": True}
    assert "Fast &lt;b&gt;O(n)&lt;/b&gt; sorting &amp; 100% recall" in arrival.body["text"]
    assert arrival.text.splitlines() == [
        "New paper for “sorting”",
        "",
        TITLE,
        "Jürgen Müller, Łukasz Øster, 김민지",
        "Rule “sorting & <search>”: the title says sorting",
        "Portal · arXiv",
    ]
    assert f'<a href="{settings.SITE_URL}/papers/2606.00042">' in arrival.body["text"]
    assert '<a href="https://arxiv.org/abs/2606.00042">arXiv</a>' in arrival.body["text"]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.response) == ("sent", 1, "Telegram message 1")
    assert delivery.sent_at is not None


def test_telegram_message_keeps_whole_items_within_4096_characters(researcher, telegram, send_now):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    # Ampersands grow the HTML but not what Telegram counts; U+1D538 takes two UTF-16 units.
    items = [
        paper_item(title=f"Paper {n}: \U0001d538 & B " + "x" * 150, why="keyword & " * 20) for n in range(40)
    ]

    send_now(researcher, match(items=items, url="/papers/matches/"))

    [arrival] = telegram.sent()
    visible = arrival.text
    assert len(visible.encode("utf-16-le")) // 2 <= 4096
    shown = re.findall(r"^Paper (\d+): ", visible, flags=re.MULTILINE)
    assert shown == [str(n) for n in range(len(shown))] and 5 < len(shown) < 40
    assert visible.endswith(f"… and {40 - len(shown)} more")
    assert all(line.endswith("x" * 150) for line in visible.splitlines() if line.startswith("Paper "))
    assert arrival.body["text"].endswith(
        f'<a href="http://127.0.0.1:8000/papers/matches/">… and {40 - len(shown)} more</a>'
    )


def test_telegram_long_text_is_cut_at_a_word_and_never_inside_an_entity(researcher, telegram, send_now):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    text = "R&D <notes> " * 1000

    send_now(researcher, Message(subject="Seminar notes", dedupe_key="notes", text=text))

    [arrival] = telegram.sent()
    assert Delivery.objects.get().state == "sent"
    assert arrival.text.startswith("Seminar notes\nR&D <notes> R&D")
    assert re.search(r" (R&D|<notes>)…$", arrival.text)
    assert arrival.body["text"].endswith(("R&amp;D…", "&lt;notes&gt;…"))
    assert 1900 < len(arrival.text) < 2100


def test_a_long_author_list_ends_in_et_al(researcher, telegram, send_now):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    authors = [f"Author Number{n} & Co" for n in range(100)]

    send_now(researcher, match(items=[paper_item(authors=authors)]))

    [arrival] = telegram.sent()
    line = arrival.text.splitlines()[3]
    assert line.startswith("Author Number0 & Co, Author Number1 & Co") and line.endswith("& Co et al.")
    assert len(line) <= 300


def test_slack_message_arrives_with_mrkdwn_escaping(researcher, slack, send_now, settings):
    add_channel(researcher, Channel.Kind.SLACK, slack.url)

    [delivery] = send_now(researcher, match(items=[paper_item()]))

    [arrival] = slack.arrivals
    assert arrival.path == slack.path
    assert arrival.body["unfurl_links"] is False
    assert arrival.body["text"].splitlines() == [
        "*New paper for “sorting”*",
        "",
        f"*<{settings.SITE_URL}/papers/2606.00042|Fast &lt;b&gt;O(n)&lt;/b&gt; sorting &amp; 100% recall>*",
        "Jürgen Müller, Łukasz Øster, 김민지",
        "_Rule “sorting &amp; &lt;search&gt;”: the title says sorting_",
        f"<{settings.SITE_URL}/papers/2606.00042|Portal> · <https://arxiv.org/abs/2606.00042|arXiv>",
    ]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.response) == ("sent", "Slack accepted the message.")


def test_email_arrives_as_html_and_plain_text(researcher, smtp, send_now, settings):
    add_channel(researcher, Channel.Kind.EMAIL)

    send_now(researcher, match(text="One new paper matched <yours> & more.", items=[paper_item()]))

    [mail] = smtp.messages
    assert mail["To"] == "minji@lab.example.org"
    assert mail["Subject"] == "New paper for “sorting”"
    assert mail["Message-ID"].endswith("@127.0.0.1>")
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert plain.splitlines() == [
        "One new paper matched <yours> & more.",
        "",
        TITLE,
        "Jürgen Müller, Łukasz Øster, 김민지",
        "Rule “sorting & <search>”: the title says sorting",
        f"Portal: {settings.SITE_URL}/papers/2606.00042",
        "arXiv: https://arxiv.org/abs/2606.00042",
    ]
    assert "<p>One new paper matched &lt;yours&gt; &amp; more.</p>" in html
    escaped_title = "Fast &lt;b&gt;O(n)&lt;/b&gt; sorting &amp; 100% recall"
    assert f'<a href="{settings.SITE_URL}/papers/2606.00042">{escaped_title}</a>' in html
    assert "<em>Rule “sorting &amp; &lt;search&gt;”: the title says sorting</em>" in html
    assert "<b>O(n)</b>" not in html


def test_email_uses_the_html_its_caller_rendered(researcher, smtp, send_now):
    add_channel(researcher, Channel.Kind.EMAIL, "minji.kim@example.org")
    digest = Message(
        subject="Your papers for Friday",
        dedupe_key="digest:2026-11-27",
        text="Rule A\n- Paper 1",
        html="<h2>Rule A</h2>",
    )

    send_now(researcher, digest)

    [mail] = smtp.messages
    assert mail["To"] == "minji.kim@example.org"
    assert mail.get_body(("html",)).get_content().strip() == "<h2>Rule A</h2>"
    assert mail.get_body(("plain",)).get_content().splitlines() == ["Rule A", "- Paper 1"]


LATEX_TITLE = r"Regret $\mathcal{O}(\sqrt{T})$ for \emph{Schr\"odinger} bandits"
ABSTRACT = (
    r"We bound the regret by $\mathcal{O}(\sqrt{T})$. The bound is tight for $\alpha \leq 1$. "
    r"Experiments on 12 tasks confirm it, e.g. in Fig. 3."
)


def test_telegram_shows_latex_as_unicode_and_the_papers_first_sentences(researcher, telegram, send_now):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    send_now(researcher, match(items=[paper_item(title=LATEX_TITLE, summary=ABSTRACT)]))

    [arrival] = telegram.sent()
    assert arrival.text.splitlines()[2:4] == [
        "Regret 𝒪(√(T)) for Schrödinger bandits",
        "We bound the regret by 𝒪(√(T)). The bound is tight for α ≤ 1.",
    ]
    assert "\\" not in arrival.text and "$" not in arrival.text


def test_telegram_summaries_give_way_when_the_papers_need_the_room(researcher, telegram, send_now):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    sentence = "This paper is about " + "many careful things " * 10 + "indeed."
    items = [paper_item(title=f"Paper {n}", summary=sentence) for n in range(20)]

    send_now(researcher, match(items=items))

    [arrival] = telegram.sent()
    assert len(arrival.text.encode("utf-16-le")) // 2 <= 4096
    assert re.findall(r"^Paper (\d+)$", arrival.text, flags=re.MULTILINE) == [str(n) for n in range(20)]
    with_summary = arrival.text.count(sentence)
    assert 0 < with_summary < 20
    # The first papers keep their summaries; the later ones give theirs up.
    blocks = arrival.text.split("\n\n")[1:]
    assert [sentence in block for block in blocks] == [True] * with_summary + [False] * (20 - with_summary)


def test_telegram_with_too_many_papers_shows_more_papers_not_summaries(researcher, telegram, send_now):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    items = [paper_item(title=f"Paper {n}: " + "x" * 150, summary=ABSTRACT) for n in range(40)]

    send_now(researcher, match(items=items))

    [arrival] = telegram.sent()
    assert "We bound the regret" not in arrival.text
    assert re.search(r"… and \d+ more$", arrival.text)


def test_slack_and_email_show_latex_as_unicode_with_the_first_sentences(
    researcher, slack, smtp, send_now, settings
):
    add_channel(researcher, Channel.Kind.SLACK, slack.url)
    add_channel(researcher, Channel.Kind.EMAIL)
    # E-mail always has the room: every paper keeps its summary however many there are.
    items = [paper_item(title=LATEX_TITLE, summary=ABSTRACT, portal_url=f"/papers/{n}") for n in range(60)]

    send_now(researcher, match(items=items))

    [arrival] = slack.arrivals
    assert arrival.body["text"].splitlines()[2:4] == [
        f"*<{settings.SITE_URL}/papers/0|Regret 𝒪(√(T)) for Schrödinger bandits>*",
        "We bound the regret by 𝒪(√(T)). The bound is tight for α ≤ 1.",
    ]
    [mail] = smtp.messages
    plain = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = mail.get_body(("html",)).get_content()
    assert plain.count("Regret 𝒪(√(T)) for Schrödinger bandits\nWe bound the regret by 𝒪(√(T)).") == 60
    assert html.count("<br>We bound the regret by 𝒪(√(T)). The bound is tight for α ≤ 1.") == 60
    assert "\\mathcal" not in plain + html


def test_a_link_that_is_not_http_is_left_out(researcher, telegram, send_now):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    send_now(researcher, match(items=[paper_item(portal_url="javascript:alert(1)", external_url="")]))

    [arrival] = telegram.sent()
    assert "javascript" not in arrival.body["text"]
    assert "<a " not in arrival.body["text"]


# Who receives ---------------------------------------------------------------------------------


def test_notify_sends_once_per_key_on_each_enabled_channel(researcher, telegram, slack, smtp, send_now):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    add_channel(researcher, Channel.Kind.SLACK, slack.url)
    add_channel(researcher, Channel.Kind.EMAIL)
    add_channel(researcher, Channel.Kind.TELEGRAM, "999", enabled=False)

    first = send_now(researcher, match(items=[paper_item()]))
    again = send_now(researcher, match(items=[paper_item()]))

    assert len(first) == 3 and again == []
    assert [a.body["chat_id"] for a in telegram.arrivals] == ["4242"]
    assert len(slack.arrivals) == 1 and len(smtp.messages) == 1


def test_notify_only_the_kinds_asked_for(
    researcher, telegram, smtp, send_now, django_capture_on_commit_callbacks
):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    add_channel(researcher, Channel.Kind.EMAIL)

    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = notify(researcher, match(), kinds=[Channel.Kind.EMAIL])

    assert delivery.channel.kind == "email"
    assert telegram.arrivals == [] and len(smtp.messages) == 1


def test_a_person_without_channels_gets_email_at_their_address(researcher, smtp, send_now):
    send_now(researcher, match(items=[paper_item()]))

    [mail] = smtp.messages
    assert mail["To"] == researcher.email
    assert list(researcher.channels.values_list("kind", "target", "enabled")) == [("email", "", True)]


def test_a_team_message_goes_to_the_team_channels_only(researcher, lead, team, telegram, send_now):
    add_channel(team, Channel.Kind.TELEGRAM, "-100123")
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    send_now(team, match(items=[paper_item()]))

    assert [a.body["chat_id"] for a in telegram.arrivals] == ["-100123"]


def test_notify_lab_sends_to_the_configured_group_channels(
    telegram, slack, settings, django_capture_on_commit_callbacks
):
    settings.TELEGRAM_LAB_CHAT_ID = "-100777"
    settings.SLACK_LAB_WEBHOOK_URL = slack.url
    Channel.objects.create(kind=Channel.Kind.TELEGRAM, target="-100888", enabled=False)
    share = Message(
        subject="Shared by Minji", dedupe_key="share:5", items=[paper_item(why="Must read: it beats us")]
    )

    with django_capture_on_commit_callbacks(execute=True):
        notify_lab(share)
        notify_lab(share)

    assert [a.body["chat_id"] for a in telegram.arrivals] == ["-100777"]
    assert "Must read: it beats us" in telegram.arrivals[0].text
    assert len(slack.arrivals) == 1
    assert Channel.objects.for_lab().count() == 3


def test_a_rolled_back_notification_sends_nothing(researcher, telegram, django_capture_on_commit_callbacks):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        from django.db import transaction

        with transaction.atomic():
            notify(researcher, match())
            raise RuntimeError("the fetch failed after matching")

    assert not Delivery.objects.exists()
    assert telegram.arrivals == []


def test_a_message_needs_a_key_and_a_subject(researcher):
    with pytest.raises(ValueError, match="dedupe_key"):
        notify(researcher, Message(subject="Hello", dedupe_key=""))
    with pytest.raises(ValueError, match="subject"):
        notify(researcher, Message(subject=" ", dedupe_key="k"))


# The channel settings page ----------------------------------------------------------------------


def test_channels_page_lists_own_channels_with_their_last_error(login, researcher, other_researcher):
    add_channel(
        researcher, Channel.Kind.TELEGRAM, "4242", last_error="Forbidden: bot was blocked by the user"
    )
    add_channel(other_researcher, Channel.Kind.TELEGRAM, "5555")

    response = login(researcher).get("/me/channels/")

    assert response.status_code == 200
    assert "4242" in response.text and "5555" not in response.text
    assert "Forbidden: bot was blocked by the user" in response.text


def test_channels_page_says_where_mail_goes_without_channels(login, researcher):
    response = login(researcher).get("/me/channels/")

    assert "messages reach you by e-mail at minji@lab.example.org" in response.text


def test_profile_links_to_the_channels_page(login, researcher):
    assert 'href="/me/channels/"' in login(researcher).get("/me/").text


def test_channels_page_needs_a_login(client, researcher):
    response = client.get("/me/channels/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_add_a_slack_channel(login, researcher, slack):
    response = login(researcher).post(
        "/me/channels/", {"kind": "slack", "target": f" {slack.url} "}, follow=True
    )

    channel = Channel.objects.get()
    assert (channel.person, channel.team, channel.target, channel.enabled) == (
        researcher,
        None,
        slack.url,
        True,
    )
    assert "Channel added: Slack." in response.text


def test_a_telegram_chat_id_can_no_longer_be_typed_in(login, researcher, lead, telegram):
    # Typing an id let anyone point their channel at any chat the bot is in.
    for person, owner in ((researcher, "person"), (lead, "team")):
        page = login(person).get("/me/channels/")
        response = login(person).post(
            "/me/channels/", {"kind": "telegram", "target": "-1001234567890", "owner": owner}
        )

        assert 'value="telegram"' not in page.text.split('id="id_kind"')[1].split("</select>")[0]
        assert "Telegram is connected with “Connect Telegram” on your profile" in response.text
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    ("kind", "target", "error"),
    [
        ("slack", "https://evil.example.org/hook", "Paste the incoming webhook URL"),
        ("slack", "http://hooks.slack.com/services/x", "Paste the incoming webhook URL"),
        ("email", "not an address", "goes to your profile"),
    ],
)
def test_add_a_channel_with_a_bad_target_shows_why(login, researcher, telegram, kind, target, error):
    response = login(researcher).post("/me/channels/", {"kind": kind, "target": target})

    assert response.status_code == 200
    assert error in response.text
    assert not Channel.objects.exists()


def test_add_the_same_channel_twice_is_refused(login, researcher, slack):
    client = login(researcher)
    client.post("/me/channels/", {"kind": "slack", "target": slack.url})

    response = client.post("/me/channels/", {"kind": "slack", "target": slack.url})

    assert "This channel is already there." in response.text
    assert Channel.objects.count() == 1


def test_a_lead_adds_a_channel_for_their_team(login, lead, team, slack):
    client = login(lead)

    page = client.get("/me/channels/")
    client.post("/me/channels/", {"kind": "slack", "target": slack.url, "owner": team.pk})

    assert "Channels of Vision" in page.text
    channel = Channel.objects.get()
    assert (channel.team, channel.person) == (team, None)


def test_a_team_email_channel_needs_an_address(login, lead, team, telegram):
    response = login(lead).post("/me/channels/", {"kind": "email", "target": "", "owner": team.pk})

    assert "Enter an e-mail address." in response.text
    assert not Channel.objects.exists()


def test_a_researcher_cannot_add_a_team_channel(login, researcher, team, slack):
    login(researcher).post("/me/channels/", {"kind": "slack", "target": slack.url, "owner": team.pk})

    channel = Channel.objects.get()
    assert (channel.person, channel.team) == (researcher, None)


def test_a_lead_sees_and_manages_the_team_channels(login, lead, team):
    channel = add_channel(team, Channel.Kind.TELEGRAM, "-100123")
    client = login(lead)

    page = client.get("/me/channels/")
    client.post(f"/me/channels/{channel.pk}/toggle")

    assert "-100123" in page.text
    channel.refresh_from_db()
    assert channel.enabled is False


@pytest.mark.parametrize("action", ["", "toggle", "delete", "test"])
def test_nobody_touches_another_person_channel(login, researcher, other_researcher, lead, action, telegram):
    channel = add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    for intruder in (other_researcher, lead):
        client = login(intruder)
        if action:
            assert client.post(f"/me/channels/{channel.pk}/{action}").status_code == 404
        else:
            assert client.get(f"/me/channels/{channel.pk}/").status_code == 404
            assert (
                client.get(f"/me/channels/{channel.pk}/status", headers={"HX-Request": "true"}).status_code
                == 404
            )
            assert (
                client.post(f"/me/channels/{channel.pk}/", {"kind": "telegram", "target": "1"}).status_code
                == 404
            )

    channel.refresh_from_db()
    assert (channel.target, channel.enabled) == ("4242", True)
    assert telegram.arrivals == []


@pytest.mark.parametrize("action", ["toggle", "delete", "test"])
def test_team_channels_are_for_the_team_lead_only(login, researcher, make_person, team, action, telegram):
    channel = add_channel(team, Channel.Kind.TELEGRAM, "-100123")
    other_team = team.__class__.objects.create(name="Speech", slug="speech")
    other_lead = make_person("hyun", role=User.Role.LEAD, team=other_team)
    other_team.leads.add(other_lead)

    for intruder in (researcher, other_lead):
        assert login(intruder).post(f"/me/channels/{channel.pk}/{action}").status_code == 404

    assert Channel.objects.filter(pk=channel.pk, enabled=True).exists()
    assert telegram.arrivals == []


def test_channel_changes_need_a_post_with_csrf(researcher):
    channel = add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)

    for action in ("toggle", "delete", "test"):
        assert client.get(f"/me/channels/{channel.pk}/{action}").status_code == 405
        assert client.post(f"/me/channels/{channel.pk}/{action}").status_code == 403
    assert client.post("/me/channels/", {"kind": "email", "target": "x@example.org"}).status_code == 403

    assert Channel.objects.filter(pk=channel.pk, enabled=True).count() == 1


def test_toggle_with_htmx_returns_only_the_row(login, researcher):
    channel = add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    response = login(researcher).post(f"/me/channels/{channel.pk}/toggle", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert f'id="channel-{channel.pk}"' in response.text and "<html" not in response.text
    assert "Turn on" in response.text
    channel.refresh_from_db()
    assert channel.enabled is False


def test_toggle_without_htmx_redirects_with_a_message(login, researcher):
    channel = add_channel(researcher, Channel.Kind.TELEGRAM, "4242", enabled=False)

    response = login(researcher).post(f"/me/channels/{channel.pk}/toggle", follow=True)

    assert response.redirect_chain == [("/me/channels/", 302)]
    assert "Channel turned on." in response.text


def test_delete_with_htmx_removes_the_row(login, researcher):
    channel = add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    response = login(researcher).post(f"/me/channels/{channel.pk}/delete", headers={"HX-Request": "true"})

    assert (response.status_code, response.text) == (200, "")
    assert not Channel.objects.exists()


def test_delete_without_htmx_redirects_with_a_message(login, researcher):
    channel = add_channel(researcher, Channel.Kind.EMAIL)

    response = login(researcher).post(f"/me/channels/{channel.pk}/delete", follow=True)

    assert "Channel deleted." in response.text
    assert not Channel.objects.exists()


def test_edit_with_htmx_swaps_the_row_for_its_form_and_back(login, researcher, slack):
    channel = add_channel(researcher, Channel.Kind.SLACK, slack.url)
    client = login(researcher)
    new_url = slack.base + "/services/T0LAB/B0NEW/other-secret"

    form = client.get(f"/me/channels/{channel.pk}/", headers={"HX-Request": "true"})
    saved = client.post(
        f"/me/channels/{channel.pk}/",
        {f"c{channel.pk}-kind": "slack", f"c{channel.pk}-target": new_url},
        headers={"HX-Request": "true"},
    )

    assert f'name="c{channel.pk}-target"' in form.text and "<html" not in form.text
    assert "HX-Request" in form["Vary"]
    assert new_url in saved.text and '<form method="post" action="/me/channels/' in saved.text
    channel.refresh_from_db()
    assert channel.target == new_url


def test_a_telegram_channel_is_not_edited_by_hand(login, researcher, telegram):
    channel = add_channel(researcher, Channel.Kind.TELEGRAM, "4242", linked_at=timezone.now(), title="@minji")
    client = login(researcher)

    page = client.get("/me/channels/")
    response = client.post(
        f"/me/channels/{channel.pk}/", {f"c{channel.pk}-kind": "telegram", f"c{channel.pk}-target": "-100999"}
    )

    row = page.text.split(f'id="channel-{channel.pk}"')[1].split("</article>")[0]
    assert "@minji" in row and f'href="/me/channels/{channel.pk}/"' not in row
    assert "Telegram is connected with “Connect Telegram”" in response.text
    channel.refresh_from_db()
    assert channel.target == "4242"


def test_a_chat_id_typed_before_linking_keeps_working_and_says_how_to_link(login, researcher, telegram):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    page = login(researcher).get("/me/channels/")
    [delivery] = notify(researcher, match(items=[paper_item()]))

    assert "Use “Connect Telegram” on your profile" in page.text
    assert delivery.channel.target == "4242"


def test_edit_without_htmx_shows_the_page_with_the_form(login, researcher):
    channel = add_channel(researcher, Channel.Kind.EMAIL, "old@example.org")
    client = login(researcher)

    page = client.get(f"/me/channels/{channel.pk}/")
    response = client.post(
        f"/me/channels/{channel.pk}/",
        {f"c{channel.pk}-kind": "email", f"c{channel.pk}-target": "minji@lab.example.org"},
        follow=True,
    )

    assert "<html" in page.text and 'value="old@example.org"' in page.text
    assert "Channel saved." in response.text
    channel.refresh_from_db()
    assert channel.target == "minji@lab.example.org"


def test_a_personal_email_channel_cannot_point_at_someone_elses_address(login, researcher):
    response = login(researcher).post("/me/channels/", {"kind": "email", "target": "stranger@example.com"})

    assert "goes to your profile" in response.text
    assert not Channel.objects.exists()


def test_test_message_button_queues_and_answers_before_anything_is_sent(
    login, researcher, slack, django_capture_on_commit_callbacks
):
    channel = add_channel(researcher, Channel.Kind.SLACK, slack.url)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = login(researcher).post(f"/me/channels/{channel.pk}/test", headers={"HX-Request": "true"})

    # The request only queued the message (on commit): nothing reached Slack while it ran.
    assert slack.connections == 0 and len(queued) == 1
    channel.refresh_from_db()
    assert (channel.last_test.state, channel.last_test.attempts) == ("pending", 0)
    assert "Test message queued" in response.text and "<html" not in response.text
    # The row asks for itself again until the message has gone, and also works as a plain link.
    assert f'hx-get="/me/channels/{channel.pk}/status"' in response.text
    assert f'href="/me/channels/#channel-{channel.pk}"' in response.text


def test_test_message_state_follows_the_worker(login, researcher, slack, django_capture_on_commit_callbacks):
    channel = add_channel(researcher, Channel.Kind.SLACK, slack.url)
    client = login(researcher)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(f"/me/channels/{channel.pk}/test", headers={"HX-Request": "true"})

    queued[0]()  # the worker takes the task
    row = client.get(f"/me/channels/{channel.pk}/status", headers={"HX-Request": "true"})
    page = client.get(f"/me/channels/{channel.pk}/status")

    [arrival] = slack.arrivals
    assert arrival.body["text"].startswith("*Test message from the Lab Portal*\nThis channel works")
    assert "Test message sent: Slack accepted the message." in " ".join(row.text.split())
    assert "hx-get" not in row.text.split("Test message sent")[1].split("</p>")[0]  # done: no more asking
    assert "HX-Request" in row["Vary"]
    assert (page.status_code, page["Location"]) == (302, f"/me/channels/#channel-{channel.pk}")


def test_test_message_button_sends_and_shows_the_answer(
    login, researcher, telegram, django_capture_on_commit_callbacks
):
    channel = add_channel(researcher, Channel.Kind.TELEGRAM, "4242")

    client = login(researcher)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/me/channels/{channel.pk}/test", headers={"HX-Request": "true"})
    response = client.get(f"/me/channels/{channel.pk}/status", headers={"HX-Request": "true"})

    [arrival] = telegram.sent()
    assert arrival.text.startswith("Test message from the Lab Portal\nThis channel works")
    assert "Test message sent:" in response.text and "Telegram message 1" in response.text
    assert "<html" not in response.text
    channel.refresh_from_db()
    assert channel.last_sent_at is not None


def test_test_message_clicked_twice_is_sent_once(
    login, researcher, telegram, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to("2026-11-27 09:00:01Z", tick=False)
    channel = add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    client = login(researcher)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/me/channels/{channel.pk}/test", headers={"HX-Request": "true"})
    time_machine.shift(3)
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(f"/me/channels/{channel.pk}/test", headers={"HX-Request": "true"})

    assert len(telegram.sent()) == 1
    assert "Test message sent:" in second.text


def test_test_message_failure_is_shown_and_kept_on_the_channel(
    login, researcher, telegram, django_capture_on_commit_callbacks
):
    channel = add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    telegram.script(telegram_error(400, "Bad Request: chat not found"))
    client = login(researcher)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/me/channels/{channel.pk}/test")
    page = client.get(response["Location"])

    assert response["Location"] == f"/me/channels/#channel-{channel.pk}"
    assert "Test message queued" in page.text
    assert "The test message failed: Bad Request: chat not found" in " ".join(page.text.split())
    assert "Last error" in page.text and "Bad Request: chat not found" in page.text


def test_test_message_on_an_email_channel_arrives(
    login, researcher, smtp, django_capture_on_commit_callbacks
):
    channel = add_channel(researcher, Channel.Kind.EMAIL)

    client = login(researcher)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/me/channels/{channel.pk}/test")
    page = client.get("/me/channels/")

    assert "Test message sent: Accepted by the mail server" in " ".join(page.text.split())
    [mail] = smtp.messages
    assert mail["To"] == researcher.email
    assert "http://127.0.0.1:8000/me/channels/" in mail.get_body(("plain",)).get_content()


def test_channels_page_query_count_does_not_grow_with_channels(
    login, lead, team, django_assert_max_num_queries, django_assert_num_queries
):
    client = login(lead)
    add_channel(lead, Channel.Kind.EMAIL)
    client.get("/me/channels/")  # the session and the person are loaded once per request anyway
    with django_assert_max_num_queries(20) as one:
        client.get("/me/channels/")
    for n in range(15):
        add_channel(lead, Channel.Kind.TELEGRAM, str(n))
        add_channel(team, Channel.Kind.TELEGRAM, str(-n - 1))

    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get("/me/channels/")

    assert response.text.count('class="card channel"') == 31


# The morning digest setting ---------------------------------------------------------------------


def test_digest_setting_is_on_by_default_and_turns_off_and_on(login, researcher):
    client = login(researcher)

    page = client.get("/me/channels/").text
    off = client.post("/me/channels/digest", {"morning_digest": "off"}, follow=True)
    again = client.post("/me/channels/digest", {"morning_digest": "off"}, follow=True)
    researcher.refresh_from_db()
    was_off = researcher.morning_digest
    client.post("/me/channels/digest", {"morning_digest": "on"})

    assert "Every morning after 8:00 your time" in page and "Turn the digest off" in page
    assert "The morning e-mail digest is off." in off.text and "Turn the digest on" in off.text
    assert again.status_code == 200 and was_off is False  # said outright: a second click changes nothing
    researcher.refresh_from_db()
    assert researcher.morning_digest is True


def test_digest_setting_with_htmx_returns_only_its_section(login, researcher):
    response = login(researcher).post(
        "/me/channels/digest", {"morning_digest": "off"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith('<section class="card digest-setting" id="digest-setting"')
    assert "Off: what your watch rules find reaches you only in chat and on the portal." in response.text


def test_digest_setting_warns_when_no_email_channel_is_on(login, researcher):
    add_channel(researcher, Channel.Kind.TELEGRAM, "4242")
    add_channel(researcher, Channel.Kind.EMAIL, enabled=False)

    page = login(researcher).get("/me/channels/").text

    assert "Your e-mail channels are off, so the digest does not go out" in page


def test_digest_setting_needs_a_login_a_post_with_csrf_and_on_or_off(client, login, researcher):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(researcher)

    anonymous = client.post("/me/channels/digest", {"morning_digest": "off"})
    get = strict.get("/me/channels/digest")
    no_csrf = strict.post("/me/channels/digest", {"morning_digest": "off"})
    nonsense = login(researcher).post("/me/channels/digest", {"morning_digest": "maybe"})

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert (get.status_code, no_csrf.status_code, nonsense.status_code) == (405, 403, 400)
    researcher.refresh_from_db()
    assert researcher.morning_digest is True


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the race holds a row lock from a second connection, which SQLite's one writer cannot",
)
@pytest.mark.parametrize("htmx", [False, True])
def test_an_edit_racing_a_delete_saves_nothing_and_says_so(transactional_db, login, researcher, htmx):
    channel = add_channel(researcher, Channel.Kind.EMAIL, "old@example.org")
    client = login(researcher)
    headers = {"HX-Request": "true"} if htmx else {}

    def delete_in_another_tab() -> None:
        try:
            Channel.objects.filter(pk=channel.pk).delete()
        finally:
            connection.close()

    def deleted_meanwhile(sender, instance, **kwargs):
        # Another request deletes the channel, and commits, after this one read it and before
        # it writes.
        other = threading.Thread(target=delete_in_another_tab)
        other.start()
        other.join()

    pre_save.connect(deleted_meanwhile, sender=Channel, dispatch_uid="deleted-meanwhile")
    try:
        response = client.post(
            f"/me/channels/{channel.pk}/",
            {f"c{channel.pk}-kind": "email", f"c{channel.pk}-target": "minji@lab.example.org"},
            headers=headers,
        )
    finally:
        pre_save.disconnect(sender=Channel, dispatch_uid="deleted-meanwhile")

    assert not Channel.objects.exists()
    if htmx:
        assert (response.status_code, response["HX-Redirect"]) == (200, "/me/channels/")
    else:
        assert (response.status_code, response["Location"]) == (302, "/me/channels/")
    page = client.get("/me/channels/")
    assert "This channel was deleted meanwhile: nothing was saved." in page.text
