"""Chat posts: one post per channel, split between items where Telegram needs, top N with "and N
more", buttons under each item, what each channel already carries left out, and replies and
edits that follow a thing into the chats that have its message."""

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from lab_portal import channels
from lab_portal.models import Channel, ChatItem, Delivery
from lab_portal.notify import Item, Message, deliver, edit_in_chats, notify, post_to_chats, reply_in_chats
from lab_portal.tests.stand_ins import telegram_error

pytestmark = pytest.mark.django_db

CHAT = "4242"
GROUP = "-1001234567890"


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Call a notify function as the portal does and send what it queued, in-process."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


@pytest.fixture
def clock(time_machine):
    time_machine.move_to("2026-11-27 09:00:00Z", tick=False)
    return time_machine


@pytest.fixture
def chat(researcher) -> Channel:
    return Channel.objects.create(
        person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT, linked_at=timezone.now()
    )


@pytest.fixture
def group(team) -> Channel:
    return Channel.objects.create(
        team=team, kind=Channel.Kind.TELEGRAM, target=GROUP, linked_at=timezone.now()
    )


def item(n: int, *, long: bool = False) -> Item:
    ref = f"paper:2607.{n:05d}"
    return Item(
        title=(f"Paper {n}: " + "a very long title about scaling laws " * (8 if long else 0)).strip(),
        authors=["Minji Kim", "Jiwoo Park"],
        why=("Rule “Scaling”: keywords: scaling " * (12 if long else 1)).strip(),
        portal_url=f"/papers/2607.{n:05d}",
        external_url=f"https://arxiv.org/abs/2607.{n:05d}",
        ref=ref,
        buttons=[
            ["Save", f"save:{ref}", ""],
            ["Discuss", f"discuss:{ref}", f"https://portal.example.org/p/{n}"],
        ],
    )


def morning(*items: Item, key: str = "morning:2026-11-27:1") -> Message:
    return Message(
        subject="Your papers for 2026-11-27",
        dedupe_key=key,
        items=list(items),
        url="/papers/watch/?day=2026-11-27",
    )


def since() -> datetime:
    return timezone.now() - timedelta(hours=1)


def test_a_long_post_is_split_between_papers_each_part_within_telegram_limit(
    researcher, chat, telegram, run_on_commit
):
    papers = [item(n, long=True) for n in range(1, 11)]

    deliveries = run_on_commit(post_to_chats, researcher, morning(*papers), limit=10, since=since())

    sent = telegram.sent()
    assert len(sent) == len(deliveries) >= 2
    assert all(len(arrival.text.encode("utf-16-le")) // 2 <= 4096 for arrival in sent)
    last = len(sent)
    assert [a.text.splitlines()[0] for a in sent] == [
        f"Your papers for 2026-11-27 ({n}/{last})" for n in range(1, last + 1)
    ]
    # Every paper once, numbered through the parts, its buttons numbered alike.
    titles = [
        line for a in sent for line in a.text.splitlines() if line.split(". ", 1)[-1].startswith("Paper ")
    ]
    assert [title.split(". ", 1)[0] for title in titles] == [str(n) for n in range(1, 11)]
    labels = [b["text"] for a in sent for row in a.body["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [f"{label} {n}" for n in range(1, 11) for label in ("Save", "Discuss")]
    assert "more" not in sent[-1].text
    assert {d.dedupe_key for d in deliveries} == {f"morning:2026-11-27:1#{n}" for n in range(1, last + 1)}


def test_the_top_n_are_posted_and_the_rest_counted_with_a_link_to_the_portal(
    researcher, chat, telegram, run_on_commit, settings
):
    run_on_commit(
        post_to_chats, researcher, morning(*[item(n) for n in range(1, 16)]), limit=10, since=since()
    )

    [post] = telegram.sent()
    assert "10. Paper 10" in post.text and "Paper 11" not in post.text
    assert post.text.rstrip().endswith("… and 5 more")
    assert f'<a href="{settings.SITE_URL}/papers/watch/?day=2026-11-27">… and 5 more</a>' in post.body["text"]


def test_a_post_goes_once_however_often_it_is_queued(researcher, chat, telegram, run_on_commit):
    run_on_commit(post_to_chats, researcher, morning(item(1), item(2)), limit=10, since=since())

    again = run_on_commit(
        post_to_chats, researcher, morning(item(1), item(2), item(3)), limit=10, since=since()
    )

    assert again == []
    assert len(telegram.sent()) == 1


def test_a_paper_pushed_to_one_channel_is_left_out_there_only(
    researcher, chat, slack, telegram, run_on_commit
):
    Channel.objects.create(person=researcher, kind=Channel.Kind.SLACK, target=slack.url)
    urgent = Message(
        subject="New paper for your watch rule “Authors”", dedupe_key="urgent:2607.00001v1", items=[item(1)]
    )
    run_on_commit(notify, researcher, urgent, kinds=[Channel.Kind.TELEGRAM])

    run_on_commit(post_to_chats, researcher, morning(item(1), item(2)), limit=10, since=since())

    pushed, post = telegram.sent()
    assert "Paper 1" in pushed.text
    assert "Paper 1" not in post.text and "Paper 2" in post.text
    # Slack never had paper 1: a match counts as sent only on the channel that sent it.
    [slack_post] = slack.arrivals
    assert "Paper 1" in slack_post.body["text"] and "Paper 2" in slack_post.body["text"]
    assert "reply_markup" not in slack_post.body and "Save" not in slack_post.body["text"]


def test_a_push_that_failed_does_not_count_as_carried(researcher, chat, telegram, run_on_commit):
    telegram.script(telegram_error(403, "Forbidden: bot was blocked by the user"))
    urgent = Message(subject="New paper", dedupe_key="urgent:2607.00001v1", items=[item(1)])
    [failed] = run_on_commit(notify, researcher, urgent)
    telegram.reset()

    run_on_commit(post_to_chats, researcher, morning(item(1), item(2)), limit=10, since=since())

    failed.refresh_from_db()
    assert failed.state == Delivery.State.FAILED
    [post] = telegram.sent()
    assert "Paper 1" in post.text and "Paper 2" in post.text


def test_each_item_message_is_recorded_with_telegram_message_id(researcher, chat, telegram, run_on_commit):
    run_on_commit(post_to_chats, researcher, morning(item(1), item(2)), limit=10, since=since())
    run_on_commit(notify, researcher, Message(subject="Shared", dedupe_key="share:1", items=[item(3)]))

    post, share = telegram.bot_messages(int(CHAT))
    rows = {row.ref: row for row in ChatItem.objects.all()}
    assert {ref: (r.chat_id, r.message_id, r.sole) for ref, r in rows.items()} == {
        "paper:2607.00001": (CHAT, post.message_id, False),
        "paper:2607.00002": (CHAT, post.message_id, False),
        "paper:2607.00003": (CHAT, share.message_id, True),
    }


def test_buttons_act_in_groups_and_link_in_private_chats_when_the_link_is_https(settings):
    settings.SITE_URL = "https://portal.example.org"
    shown = [
        Item(
            title="T",
            ref="paper:1",
            buttons=[["Save", "save:paper:1", ""], ["Discuss", "discuss:paper:1", "/papers/1#thread"]],
        )
    ]

    private = channels.telegram_keyboard(shown, group=False)
    group = channels.telegram_keyboard(shown, group=True)
    settings.SITE_URL = "http://127.0.0.1:8000"  # Telegram refuses such a button: the callback instead
    local = channels.telegram_keyboard(shown, group=False)

    assert private == [
        [
            {"text": "Save", "callback_data": "save:paper:1"},
            {"text": "Discuss", "url": "https://portal.example.org/papers/1#thread"},
        ]
    ]
    assert (
        group
        == local
        == [
            [
                {"text": "Save", "callback_data": "save:paper:1"},
                {"text": "Discuss", "callback_data": "discuss:paper:1"},
            ]
        ]
    )


def test_a_button_whose_data_would_pass_telegram_limit_is_left_out():
    ref = "paper:" + "x" * 60
    shown = [Item(title="T", ref=ref, buttons=[["Save", f"save:{ref}", ""]])]

    assert channels.telegram_keyboard(shown, group=True) == []


# Replies and edits that follow a thing ----------------------------------------------------------


def comment_message(text: str = "Worth reading for the ablations.") -> Message:
    return Message(
        subject="Minji Kim on “Paper 1”",
        dedupe_key="comment:7",
        text=text,
        url="/papers/2607.00001#comment-7",
        ref="comment:7",
    )


def test_a_reply_goes_under_the_things_own_message_in_each_linked_group(
    researcher, team, chat, group, telegram, run_on_commit
):
    lab = Channel.objects.create(kind=Channel.Kind.TELEGRAM, target="-100777", linked_at=timezone.now())
    run_on_commit(notify, team, Message(subject="Discuss", dedupe_key="own:1", items=[item(1)]))
    run_on_commit(notify, researcher, Message(subject="Urgent", dedupe_key="urgent:1", items=[item(1)]))
    run_on_commit(post_to_chats, team, morning(item(1), item(2), key="morning:x"), limit=10, since=since())
    [own] = telegram.bot_messages(int(GROUP))[:1]

    deliveries = run_on_commit(
        reply_in_chats, about=["comment:3", "paper:2607.00001"], message=comment_message()
    )

    # Only the group, under the paper's own message: not the private chat, not the lab group
    # (which never had the paper), not the post of several papers.
    assert [d.channel for d in deliveries] == [group]
    reply = telegram.sent()[-1]
    assert reply.body["chat_id"] == GROUP
    assert reply.body["reply_parameters"] == {
        "message_id": own.message_id,
        "allow_sending_without_reply": True,
    }
    assert (
        ChatItem.objects.get(ref="comment:7").message_id == telegram.bot_messages(int(GROUP))[-1].message_id
    )
    assert lab.deliveries.count() == 0


def test_a_reply_is_not_echoed_into_the_chat_it_came_from(team, group, telegram, run_on_commit):
    run_on_commit(notify, team, Message(subject="Discuss", dedupe_key="own:1", items=[item(1)]))

    assert (
        run_on_commit(reply_in_chats, about=["paper:2607.00001"], message=comment_message(), skip_chat=GROUP)
        == []
    )


def test_an_edit_rewrites_the_message_and_an_unchanged_text_is_no_error(
    team, group, telegram, run_on_commit, clock
):
    run_on_commit(notify, team, Message(subject="Discuss", dedupe_key="own:1", items=[item(1)]))
    run_on_commit(reply_in_chats, about=["paper:2607.00001"], message=comment_message())
    mirrored = telegram.bot_messages(int(GROUP))[-1]

    [edit] = run_on_commit(edit_in_chats, ref="comment:7", message=comment_message("Edited: see table 3."))
    clock.shift(1)
    [same] = run_on_commit(edit_in_chats, ref="comment:7", message=comment_message("Edited: see table 3."))

    assert "Edited: see table 3." in telegram.messages[(int(GROUP), mirrored.message_id)].text
    assert [a.body["message_id"] for a in telegram.calls("editMessageText")] == [mirrored.message_id] * 2
    for delivery in (edit, same):
        delivery.refresh_from_db()
        assert delivery.state == Delivery.State.SENT
    assert len(telegram.bot_messages(int(GROUP))) == 2


def test_an_older_edit_still_waiting_gives_way_to_a_newer(team, group, telegram, run_on_commit, clock):
    run_on_commit(notify, team, Message(subject="Discuss", dedupe_key="own:1", items=[item(1)]))
    run_on_commit(reply_in_chats, about=["paper:2607.00001"], message=comment_message())
    [older] = edit_in_chats(ref="comment:7", message=comment_message("First edit"))  # its task is lost
    clock.shift(1)

    run_on_commit(edit_in_chats, ref="comment:7", message=comment_message("Second edit"))
    run_on_commit(deliver, older.pk)

    mirrored = telegram.bot_messages(int(GROUP))[-1]
    assert "Second edit" in mirrored.text
    assert len(telegram.calls("editMessageText")) == 1
    older.refresh_from_db()
    assert (older.state, older.response) == (Delivery.State.SENT, "Replaced by a later edit")


def test_an_edit_of_a_message_not_sent_yet_waits_for_it(team, group, telegram, run_on_commit):
    run_on_commit(notify, team, Message(subject="Discuss", dedupe_key="own:1", items=[item(1)]))
    [original] = reply_in_chats(about=["paper:2607.00001"], message=comment_message())  # not sent yet

    [edit] = run_on_commit(edit_in_chats, ref="comment:7", message=comment_message("Edited"))

    edit.refresh_from_db()
    assert (edit.state, edit.response) == (Delivery.State.PENDING, "The message to edit is not sent yet.")
    assert telegram.calls("editMessageText") == []
    original.refresh_from_db()
    assert original.state == Delivery.State.PENDING


def test_two_workers_posting_at_once_post_once(transactional_db, researcher, telegram):
    Channel.objects.create(
        person=researcher, kind=Channel.Kind.TELEGRAM, target=CHAT, linked_at=timezone.now()
    )
    start, errors, queued = threading.Barrier(2), [], []

    def post():
        try:
            start.wait()
            queued.append(len(post_to_chats(researcher, morning(item(1), item(2)), limit=10, since=since())))
        except Exception as error:  # reported below, so a failure names its cause
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=post) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert sorted(queued) == [0, 1]
    assert Delivery.objects.count() == 1
