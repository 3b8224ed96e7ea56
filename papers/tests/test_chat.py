"""Papers in the lab's chats: one morning post per announcement instead of a flood, the buttons
under each paper, /today and /search, and one discussion in two places (a reply in the group is
a comment in the portal, a comment in the portal is a reply in the group)."""

# ruff: noqa: RUF001 - the expected texts are Unicode mathematics on purpose

from datetime import date, timedelta

import pytest
from django.utils import timezone

from lab_portal.models import Channel, ChatItem, Delivery, TelegramUpdate
from lab_portal.tests.stand_ins import group_chat, person, private_chat
from papers.models import (
    Bookmark,
    Comment,
    Dismissal,
    FetchRun,
    Notification,
    Paper,
    Recommendation,
    Share,
    WatchRule,
)
from papers.sharing import Recipients, share_paper
from papers.tasks import match_watch_rules
from papers.tests.factories import make_paper

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 27)
MINJI = person(5551001, "Minji", username="minji_k")
JIWOO = person(5551003, "Jiwoo", language="ko")
STRANGER = person(5559999, "Someone")
GROUP = group_chat(-1009876543210, "Vision papers")
LAB_GROUP = group_chat(-1001111111111, "The lab")


def linked(who, tg_user) -> Channel:
    """`who` linked their Telegram (as "Connect Telegram" and /start do: test_telegram_intake.py)."""
    return Channel.objects.create(
        person=who, kind=Channel.Kind.TELEGRAM, target=str(tg_user["id"]), linked_at=timezone.now()
    )


def group_of(team, chat=GROUP) -> Channel:
    return Channel.objects.create(
        team=team, kind=Channel.Kind.TELEGRAM, target=str(chat["id"]), linked_at=timezone.now()
    )


@pytest.fixture
def daily(django_capture_on_commit_callbacks):
    """A daily run that stored `papers`, then matched as the fetch task does, with its pushes and
    post sent in-process."""

    def run(*papers: dict, kind: str = FetchRun.Kind.DAILY) -> FetchRun:
        fetch = FetchRun.objects.create(kind=kind, started_at=timezone.now() - timedelta(seconds=1))
        for fields in papers:
            make_paper(day=DAY, run=fetch, **fields)
        FetchRun.objects.filter(pk=fetch.pk).update(
            status=FetchRun.Status.SUCCEEDED, finished_at=timezone.now()
        )
        with django_capture_on_commit_callbacks(execute=True):
            match_watch_rules.delay(run_id=fetch.pk)
        return fetch

    return run


DIFFUSION_VIDEO = {"arxiv_id": "2611.00001", "title": "Video diffusion with sparse attention"}
DIFFUSION_AUDIO = {"arxiv_id": "2611.00002", "title": "Diffusion for audio codecs"}
VIDEO_CODECS = {"arxiv_id": "2611.00003", "title": "Learned video codecs"}
GRAPHS = {"arxiv_id": "2611.00004", "title": "Graph transformers"}
BUTTONS = ("Save", "Share", "Not for me", "Discuss")


# The morning post ----------------------------------------------------------------------------------


def test_the_days_matches_arrive_as_one_post_each_paper_once_with_every_reason_best_first(
    researcher, telegram, daily
):
    linked(researcher, MINJI)
    WatchRule.objects.create(person=researcher, name="Diffusion", query="diffusion")
    WatchRule.objects.create(person=researcher, name="Video", query="video")

    daily(DIFFUSION_AUDIO, DIFFUSION_VIDEO, VIDEO_CODECS, GRAPHS)

    [post] = telegram.bot_messages(MINJI["id"])
    lines = post.text.splitlines()
    assert lines[0] == "Your papers for 27 November 2026"
    titles = [line.split(". ", 1)[1] for line in lines if line[:3] in ("1. ", "2. ", "3. ")]
    assert titles == [DIFFUSION_VIDEO["title"], VIDEO_CODECS["title"], DIFFUSION_AUDIO["title"]]
    assert "Video: keywords: video; Diffusion: keywords: diffusion" in post.text or (
        "Diffusion: keywords: diffusion; Video: keywords: video" in post.text
    )
    assert GRAPHS["title"] not in post.text
    assert post.labels == [f"{label} {n}" for n in (1, 2, 3) for label in BUTTONS]
    assert Delivery.objects.get().dedupe_key.startswith("morning:2026-11-27:")


def test_a_later_matching_of_the_run_posts_only_what_it_added(
    researcher, telegram, daily, settings, django_capture_on_commit_callbacks
):
    # The run is matched again after the overlap and after training: the papers the first post
    # showed, and those it counted in "and N more", are not posted a second time.
    settings.CHAT_POST_PAPERS = 2
    linked(researcher, MINJI)
    WatchRule.objects.create(person=researcher, name="Video", query="video OR diffusion")
    run = daily(DIFFUSION_AUDIO, DIFFUSION_VIDEO, VIDEO_CODECS)
    make_paper(day=DAY, run=run, **GRAPHS)  # stored by the same run, matched only by a rule added later
    WatchRule.objects.create(person=researcher, name="Graphs", query="graph")

    with django_capture_on_commit_callbacks(execute=True):
        match_watch_rules.delay(run_id=run.pk)

    first, second = telegram.bot_messages(MINJI["id"])
    assert first.text.rstrip().endswith("… and 1 more")
    assert GRAPHS["title"] in second.text
    assert not any(
        paper["title"] in second.text for paper in (DIFFUSION_AUDIO, DIFFUSION_VIDEO, VIDEO_CODECS)
    )


def test_the_post_keeps_the_top_papers_and_links_the_rest(researcher, telegram, daily, settings, login):
    settings.CHAT_POST_PAPERS = 2
    linked(researcher, MINJI)
    WatchRule.objects.create(person=researcher, name="Everything", query="video OR diffusion OR graph")

    daily(DIFFUSION_AUDIO, DIFFUSION_VIDEO, VIDEO_CODECS, GRAPHS)

    [post] = telegram.bot_messages(MINJI["id"])
    assert post.text.rstrip().endswith("… and 2 more")
    link = f'href="{settings.SITE_URL}/papers/watch/?day=2026-11-27"'
    assert link in telegram.sent()[0].body["text"]
    page = login(researcher).get("/papers/watch/?day=2026-11-27")
    for paper in (DIFFUSION_AUDIO, DIFFUSION_VIDEO, VIDEO_CODECS, GRAPHS):
        assert paper["title"] in page.text


def test_an_urgent_rule_sends_at_once_and_the_post_leaves_its_paper_out(researcher, telegram, daily):
    linked(researcher, MINJI)
    WatchRule.objects.create(
        person=researcher, name="Sparse attention", query='"sparse attention"', urgent=True
    )
    WatchRule.objects.create(person=researcher, name="Video", query="video")

    daily(DIFFUSION_VIDEO, VIDEO_CODECS)

    urgent, post = telegram.bot_messages(MINJI["id"])
    assert urgent.text.startswith("New paper for your watch rule “Sparse attention”")
    assert DIFFUSION_VIDEO["title"] in urgent.text and urgent.labels == list(BUTTONS)
    assert VIDEO_CODECS["title"] in post.text and DIFFUSION_VIDEO["title"] not in post.text


def test_matching_again_posts_nothing_and_a_backfill_never_posts(
    researcher, telegram, daily, django_capture_on_commit_callbacks
):
    linked(researcher, MINJI)
    WatchRule.objects.create(person=researcher, name="Video", query="video")
    run = daily(DIFFUSION_VIDEO)

    with django_capture_on_commit_callbacks(execute=True):
        again = match_watch_rules.delay(run_id=run.pk).get()
    daily(VIDEO_CODECS, kind=FetchRun.Kind.BACKFILL)

    assert again == {"run_id": run.pk, "notifications": 0, "chat_posts": 0}
    assert len(telegram.bot_messages(MINJI["id"])) == 1


def test_a_team_rule_posts_once_in_the_team_group_and_not_in_members_chats(
    researcher, lead, team, telegram, slack, daily
):
    linked(researcher, MINJI)
    group_of(team)
    Channel.objects.create(team=team, kind=Channel.Kind.SLACK, target=slack.url)
    WatchRule.objects.create(team=team, name="Team video", query="video", created_by=lead)

    daily(DIFFUSION_VIDEO, VIDEO_CODECS)

    [post] = telegram.bot_messages(GROUP["id"])
    assert post.text.startswith("Papers for Vision, 27 November 2026")
    assert telegram.bot_messages(MINJI["id"]) == []
    [slack_post] = slack.arrivals
    assert (
        DIFFUSION_VIDEO["title"] in slack_post.body["text"]
        and VIDEO_CODECS["title"] in slack_post.body["text"]
    )


def test_a_rule_kept_out_of_chat_stays_out_of_the_post(researcher, telegram, daily):
    linked(researcher, MINJI)
    WatchRule.objects.create(person=researcher, name="Quiet", query="video", in_chat=False)

    daily(DIFFUSION_VIDEO)

    assert telegram.bot_messages(MINJI["id"]) == []


# Buttons ---------------------------------------------------------------------------------------


@pytest.fixture
def post(researcher, bot, daily):
    """Minji's morning post with two papers, in her linked private chat: the newer first, as
    both matched one rule."""
    linked(researcher, MINJI)
    WatchRule.objects.create(person=researcher, name="Video", query="video")
    daily(DIFFUSION_VIDEO, VIDEO_CODECS)
    [message] = bot.bot_messages(MINJI["id"])
    return message


def answers(bot) -> list[tuple[str, bool]]:
    return [(call.body["text"], call.body["show_alert"]) for call in bot.calls("answerCallbackQuery")]


def test_save_puts_the_paper_in_the_library_and_the_bot_says_so(researcher, bot, post, login):
    bot.press(private_chat(MINJI), MINJI, post, "Save 1")
    bot.poll()
    bot.press(private_chat(MINJI), MINJI, post, "Save 1")
    bot.poll()

    [saved] = Bookmark.objects.filter(user=researcher)
    assert saved.paper.arxiv_id == VIDEO_CODECS["arxiv_id"]
    assert answers(bot) == [("Saved to your library.", False), ("Already in your library.", False)]
    assert VIDEO_CODECS["title"] in login(researcher).get("/papers/library/").text


def test_not_for_me_is_a_negative_example_and_for_you_drops_the_paper_at_once(researcher, bot, post, login):
    codecs = Paper.objects.get(arxiv_id=DIFFUSION_VIDEO["arxiv_id"])
    Recommendation.objects.create(person=researcher, paper=codecs, score=0.9, day=DAY)

    bot.press(private_chat(MINJI), MINJI, post, "Not for me 2")
    bot.poll()

    assert list(Dismissal.objects.values_list("person", "paper")) == [(researcher.pk, codecs.pk)]
    assert not Recommendation.objects.filter(person=researcher, paper=codecs).exists()
    assert answers(bot) == [("Noted: fewer papers like this one. Undo on the paper's page.", False)]
    page = login(researcher).get(f"/papers/{codecs.arxiv_id}")
    assert "Undo “not for me”" in page.text


def test_the_paper_page_marks_and_unmarks_not_for_me(researcher, login):
    paper = make_paper(day=DAY)
    client = login(researcher)

    marked = client.post(f"/papers/not-for-me/{paper.arxiv_id}", follow=True)
    undone = client.post(f"/papers/not-for-me/{paper.arxiv_id}", {"undo": "1"}, follow=True)

    assert "Noted: fewer papers like this one." in marked.text and "Undo “not for me”" in marked.text
    assert "Marked as of interest again." in undone.text
    assert not Dismissal.objects.exists()
    assert client.get(f"/papers/not-for-me/{paper.arxiv_id}").status_code == 405
    assert client.post("/papers/not-for-me/9999.99999").status_code == 404


def test_a_button_pressed_by_someone_unlinked_says_how_to_link_and_stores_nothing(bot, post):
    bot.press(private_chat(MINJI), STRANGER, post, "Save 1")

    bot.poll()

    assert answers(bot) == [
        ("Link your Telegram to the Lab Portal first: on your profile, press “Connect Telegram”.", True)
    ]
    assert not Bookmark.objects.exists()
    assert TelegramUpdate.objects.get().payload == {}


def test_share_goes_to_whom_the_person_chose_last_time_and_says_whom(
    researcher, other_researcher, make_person, bot, post, smtp, django_capture_on_commit_callbacks
):
    make_person("hana", display_name="Hana Lee")  # in the lab, not chosen: hears nothing
    earlier = make_paper(day=DAY - timedelta(days=1), arxiv_id="2611.00090")
    with django_capture_on_commit_callbacks(execute=True):
        share_paper(
            earlier, sharer=researcher, note="Read it", recipients=Recipients(people=(other_researcher,))
        )
    smtp.messages.clear()

    bot.press(private_chat(MINJI), MINJI, post, "Share 2")
    bot.poll()
    bot.press(private_chat(MINJI), MINJI, post, "Share 2")
    bot.poll()

    share = Share.objects.get(paper__arxiv_id=DIFFUSION_VIDEO["arxiv_id"])
    assert (share.person, share.to_lab, list(share.recipients.all())) == (
        researcher,
        False,
        [other_researcher],
    )
    assert answers(bot) == [
        ("Shared with Taeho Yoon. To choose others or add a note, share from the paper's page.", False),
        ("Already shared with Taeho Yoon.", False),
    ]
    [told] = smtp.messages
    assert told["To"] == other_researcher.email and told["Subject"] == "Minji Kim shared a paper with you"
    assert DIFFUSION_VIDEO["title"] in told.get_body(("plain",)).get_content()
    assert Notification.objects.filter(kind=Notification.Kind.SHARE, share=share).count() == 1


def test_a_first_share_from_the_chat_goes_to_the_lab(researcher, bot, post):
    Channel.objects.create(kind=Channel.Kind.TELEGRAM, target=str(LAB_GROUP["id"]), linked_at=timezone.now())

    bot.press(private_chat(MINJI), MINJI, post, "Share 1")
    bot.poll()

    assert Share.objects.get().to_lab
    [in_the_lab] = bot.bot_messages(LAB_GROUP["id"])
    assert in_the_lab.text.startswith("Minji Kim shared a paper with the lab")
    assert VIDEO_CODECS["title"] in in_the_lab.text
    assert answers(bot)[0][0].startswith("Shared with the lab.")


def test_share_pressed_by_someone_unlinked_says_how_to_link_and_shares_nothing(bot, post):
    bot.press(private_chat(MINJI), STRANGER, post, "Share 1")

    bot.poll()

    assert answers(bot) == [
        ("Link your Telegram to the Lab Portal first: on your profile, press “Connect Telegram”.", True)
    ]
    assert not Share.objects.exists()


def test_the_share_answer_names_the_lab_in_the_pressers_language(make_person, bot, daily):
    jiwoo = make_person("jiwoo", language="ko")
    linked(jiwoo, JIWOO)
    WatchRule.objects.create(person=jiwoo, name="비디오", query="video")
    daily(VIDEO_CODECS)
    [korean_post] = bot.bot_messages(JIWOO["id"])

    bot.press(private_chat(JIWOO), JIWOO, korean_post, "공유")
    bot.poll()

    [(answer, _alert)] = answers(bot)
    assert answer.startswith("랩") and "Shared" not in answer


def test_the_bot_answers_in_the_pressers_language(make_person, bot, daily):
    jiwoo = make_person("jiwoo", language="ko")
    linked(jiwoo, JIWOO)
    WatchRule.objects.create(person=jiwoo, name="비디오", query="video")
    daily(VIDEO_CODECS)
    [korean_post] = bot.bot_messages(JIWOO["id"])

    bot.press(private_chat(JIWOO), JIWOO, korean_post, "저장")
    bot.poll()

    assert korean_post.text.startswith("2026년 11월 27일")
    [(answer, _alert)] = answers(bot)
    assert answer == "내 서재에 저장했습니다."


def test_a_button_for_a_paper_gone_from_the_portal_says_so(researcher, bot, post):
    Paper.objects.filter(arxiv_id=VIDEO_CODECS["arxiv_id"]).delete()

    bot.press(private_chat(MINJI), MINJI, post, "Save 1")
    bot.poll()

    assert answers(bot) == [("This paper is no longer in the portal.", False)]


def test_discuss_in_a_group_posts_the_papers_own_message_once(researcher, lead, team, bot, daily):
    linked(researcher, MINJI)
    group_of(team)
    WatchRule.objects.create(team=team, name="Team video", query="video", created_by=lead)
    daily(DIFFUSION_VIDEO, VIDEO_CODECS)
    [team_post] = bot.bot_messages(GROUP["id"])

    bot.press(GROUP, MINJI, team_post, "Discuss 2")
    bot.poll()
    bot.press(GROUP, MINJI, team_post, "Discuss 2")
    bot.poll()

    _post, own = bot.bot_messages(GROUP["id"])
    assert own.reply_to == team_post.message_id
    assert DIFFUSION_VIDEO["title"] in own.text and "your reply becomes a comment" in own.text
    assert own.labels == list(BUTTONS)
    assert [text for text, _alert in answers(bot)] == [
        "Reply to the paper's own message to discuss it here and in the portal."
    ] * 2


def test_discuss_in_a_private_chat_opens_the_thread(researcher, bot, daily, settings):
    settings.SITE_URL = "https://portal.lab.example.org"
    linked(researcher, MINJI)
    WatchRule.objects.create(person=researcher, name="Video", query="video")
    daily(VIDEO_CODECS)
    [post] = bot.bot_messages(MINJI["id"])

    assert post.button("Discuss") == {
        "text": "Discuss",
        "url": "https://portal.lab.example.org/papers/2611.00003#thread",
    }


def test_discuss_in_a_private_chat_without_https_posts_the_link_to_the_thread(
    researcher, bot, post, settings
):
    bot.press(private_chat(MINJI), MINJI, post, "Discuss 1")
    bot.poll()

    own = bot.bot_messages(MINJI["id"])[-1]
    assert own.reply_to == post.message_id and VIDEO_CODECS["title"] in own.text
    assert f'href="{settings.SITE_URL}/papers/2611.00003#thread"' in bot.sent()[-1].body["text"]
    assert answers(bot) == [("The paper's title opens its thread in the portal.", False)]


# Commands --------------------------------------------------------------------------------------------


def test_today_lists_my_matches_of_the_latest_announcement(researcher, bot, post):
    bot.say(private_chat(MINJI), MINJI, "/today")

    bot.poll()

    answer = bot.bot_messages(MINJI["id"])[-1]
    assert answer.text.startswith("Your papers for 27 November 2026")
    assert DIFFUSION_VIDEO["title"] in answer.text and VIDEO_CODECS["title"] in answer.text
    assert "Save 1" in answer.labels


def test_today_ranks_as_the_morning_post_did(researcher, bot, django_capture_on_commit_callbacks):
    # Both matched by one rule; the recommender likes the older one, so both put it first.
    linked(researcher, MINJI)
    WatchRule.objects.create(person=researcher, name="Video", query="video")
    run = FetchRun.objects.create(kind=FetchRun.Kind.DAILY, started_at=timezone.now() - timedelta(seconds=1))
    newer, older = (
        make_paper(day=DAY, run=run, **DIFFUSION_VIDEO),
        make_paper(day=DAY, run=run, **VIDEO_CODECS),
    )
    newer, older = sorted([newer, older], key=lambda paper: paper.arxiv_id, reverse=True)
    Recommendation.objects.create(person=researcher, paper=older, score=0.9, day=DAY)
    FetchRun.objects.filter(pk=run.pk).update(status=FetchRun.Status.SUCCEEDED, finished_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        match_watch_rules.delay(run_id=run.pk)

    bot.say(private_chat(MINJI), MINJI, "/today")
    bot.poll()

    morning, today = bot.bot_messages(MINJI["id"])
    for message in (morning, today):
        assert message.text.index(f"1. {older.title}") < message.text.index(f"2. {newer.title}")


def test_search_finds_papers_and_links_to_the_portals_search(researcher, bot, settings):
    linked(researcher, MINJI)
    make_paper(day=DAY, **GRAPHS)
    bot.say(private_chat(MINJI), MINJI, "/search graph transformers")
    bot.say(private_chat(MINJI), MINJI, "/search")

    bot.poll()

    found, usage = bot.bot_messages(MINJI["id"])
    assert found.text.startswith("Search: graph transformers") and GRAPHS["title"] in found.text
    assert f'href="{settings.SITE_URL}/papers/search/?q=graph+transformers"' in bot.sent()[0].body["text"]
    assert usage.text.startswith("Send /search with the words to look for")


# One discussion, two places ----------------------------------------------------------------------


@pytest.fixture
def shared(researcher, other_researcher, bot, django_capture_on_commit_callbacks):
    """A paper Taeho shared with the lab: its own message in the lab's linked group."""
    Channel.objects.create(kind=Channel.Kind.TELEGRAM, target=str(LAB_GROUP["id"]), linked_at=timezone.now())
    linked(researcher, MINJI)
    paper = make_paper(day=DAY, **DIFFUSION_VIDEO)
    with django_capture_on_commit_callbacks(execute=True):
        share_paper(paper, sharer=other_researcher, note="The ablations are worth it")
    [message] = bot.bot_messages(LAB_GROUP["id"])
    return paper, message


def test_a_reply_in_the_group_becomes_a_comment_by_the_linked_person(researcher, bot, shared):
    paper, message = shared

    reply = bot.say(LAB_GROUP, MINJI, "We should try this on our dataset.", reply_to=message)
    bot.poll()

    [comment] = Comment.objects.all()
    assert (comment.paper, comment.author, comment.body) == (
        paper,
        researcher,
        "We should try this on our dataset.",
    )
    assert ChatItem.objects.get(ref=f"comment:{comment.pk}").message_id == reply.message_id
    # Not echoed back into the group it came from.
    assert bot.bot_messages(LAB_GROUP["id"]) == [message]


def test_an_unlinked_sender_gets_one_hint_and_nothing_of_theirs_is_stored(bot, shared):
    _paper, message = shared

    first = bot.say(LAB_GROUP, STRANGER, "Interesting!", reply_to=message)
    bot.say(LAB_GROUP, STRANGER, "Really interesting!", reply_to=message)
    bot.poll()

    assert not Comment.objects.exists()
    [hint] = bot.bot_messages(LAB_GROUP["id"])[1:]
    assert hint.reply_to == first.message_id
    assert hint.text.startswith("Replies here reach the portal's thread once your Telegram is linked.")
    assert not TelegramUpdate.objects.exclude(payload={}).exists()
    stored = " ".join(Delivery.objects.values_list("dedupe_key", flat=True))
    assert str(STRANGER["id"]) not in stored and "Interesting" not in str(
        list(Delivery.objects.values_list("payload", flat=True))
    )


def test_a_reply_to_a_post_of_several_papers_asks_for_the_papers_own_message(
    researcher, lead, team, bot, daily
):
    linked(researcher, MINJI)
    group_of(team)
    WatchRule.objects.create(team=team, name="Team video", query="video", created_by=lead)
    daily(DIFFUSION_VIDEO, VIDEO_CODECS)
    [team_post] = bot.bot_messages(GROUP["id"])

    bot.say(GROUP, MINJI, "Which one?", reply_to=team_post)
    bot.poll()

    assert not Comment.objects.exists()
    assert bot.bot_messages(GROUP["id"])[-1].text.startswith("This post holds several papers: press Discuss")


def test_editing_the_reply_edits_the_comment(researcher, bot, shared):
    _paper, message = shared
    reply = bot.say(LAB_GROUP, MINJI, "Try it on ImageNet.", reply_to=message)
    bot.poll()

    bot.edit(LAB_GROUP, reply, "Try it on ImageNet-21k.")
    bot.poll()

    comment = Comment.objects.get()
    assert (comment.body, comment.edited_at is not None) == ("Try it on ImageNet-21k.", True)


def test_someone_else_editing_a_message_changes_no_comment(researcher, other_researcher, bot, shared):
    _paper, message = shared
    linked(other_researcher, JIWOO)
    reply = bot.say(LAB_GROUP, MINJI, "Mine.", reply_to=message)
    bot.poll()
    reply.sender = JIWOO  # Telegram would never say so, but the portal checks anyway

    bot.edit(LAB_GROUP, reply, "Not mine.")
    bot.poll()

    assert Comment.objects.get().body == "Mine."


def test_a_portal_comment_is_posted_under_the_papers_message_and_its_edits_follow(
    researcher, bot, shared, login, django_capture_on_commit_callbacks
):
    paper, message = shared
    client = login(researcher)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/papers/comment/{paper.arxiv_id}", {"body": "Read section 4 first."})
    comment = Comment.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/papers/comments/{comment.pk}/edit", {"body": "Read section 5 first."})

    mirrored = bot.bot_messages(LAB_GROUP["id"])[-1]
    assert mirrored.reply_to == message.message_id
    assert mirrored.text.startswith("Minji Kim on “Video diffusion with sparse attention”")
    assert "Read section 5 first." in mirrored.text and "section 4" not in mirrored.text
    assert len(bot.bot_messages(LAB_GROUP["id"])) == 2

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/papers/comments/{comment.pk}/delete")
    assert "This comment was deleted." in bot.bot_messages(LAB_GROUP["id"])[-1].text


def test_a_reply_to_a_mirrored_comment_is_a_reply_in_the_thread(
    researcher, other_researcher, bot, shared, login, django_capture_on_commit_callbacks
):
    paper, _message = shared
    linked(other_researcher, JIWOO)
    with django_capture_on_commit_callbacks(execute=True):
        login(researcher).post(f"/papers/comment/{paper.arxiv_id}", {"body": "Section 4?"})
    mirrored = bot.bot_messages(LAB_GROUP["id"])[-1]

    bot.say(LAB_GROUP, JIWOO, "Yes, table 2.", reply_to=mirrored)
    bot.poll()

    question, answer = Comment.objects.order_by("pk")
    assert (answer.parent, answer.author, answer.body) == (question, other_researcher, "Yes, table 2.")


def test_a_mirrored_comment_names_the_paper_in_readable_text(
    researcher, other_researcher, bot, login, django_capture_on_commit_callbacks
):
    Channel.objects.create(kind=Channel.Kind.TELEGRAM, target=str(LAB_GROUP["id"]), linked_at=timezone.now())
    paper = make_paper(
        day=DAY,
        arxiv_id="2611.00009",
        title=r"Regret $\mathcal{O}(\sqrt{T})$ for \emph{Schr\"odinger} bandits",
    )
    with django_capture_on_commit_callbacks(execute=True):
        share_paper(paper, sharer=other_researcher, note="")

    with django_capture_on_commit_callbacks(execute=True):
        login(researcher).post(f"/papers/comment/{paper.arxiv_id}", {"body": "Is the bound tight?"})

    shared, mirrored = bot.bot_messages(LAB_GROUP["id"])
    assert "Regret 𝒪(√(T)) for Schrödinger bandits" in shared.text
    assert mirrored.text.startswith("Minji Kim on “Regret 𝒪(√(T)) for Schrödinger bandits”")
    assert "\\mathcal" not in mirrored.text
