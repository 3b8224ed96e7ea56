"""Threads on papers: Markdown with math, replies, mentions, edits, soft deletes and reactions,
with htmx (fragments) and without (POST and redirect); sanitised, and only the author edits."""

import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lab_portal.models import Channel, Delivery
from papers.models import Comment, Notification, Reaction
from papers.tests.factories import make_paper

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def paper(db):
    return make_paper(arxiv_id="2606.00042", title="Sparse attention at scale")


@pytest.fixture
def old_style_paper(db):
    return make_paper(arxiv_id="hep-th/9901001", title="An old-style id")


def post(client, paper, body, *, parent=None, htmx=False):
    data = {"body": body} | ({"parent": parent.pk} if parent else {})
    return client.post(f"/papers/comment/{paper.arxiv_id}", data, headers=HTMX if htmx else {})


def comment_li(html: str, comment: Comment) -> str:
    return re.search(rf'<li class="comment[^"]*" id="comment-{comment.pk}">.*', html, re.S).group(0)


# Posting -----------------------------------------------------------------------------------------


def test_posting_without_htmx_redirects_to_the_comment_and_shows_it(login, researcher, paper):
    client = login(researcher)

    response = post(client, paper, "We should try this on **ImageNet**, with $O(n \\log n)$ cost.")

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/papers/2606.00042#comment-{comment.pk}"
    page = client.get("/papers/2606.00042")
    assert "<strong>ImageNet</strong>" in page.text
    assert '<span class="math inline">\\(O(n \\log n)\\)</span>' in page.text
    assert "Minji Kim" in page.text and "Comment posted." in page.text


def test_posting_with_htmx_returns_a_fresh_form_and_the_comment_out_of_band(login, researcher, paper):
    response = post(login(researcher), paper, "Nice *result*", htmx=True)

    comment = Comment.objects.get()
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith(f'<li class="comment" id="comment-{comment.pk}">')
    assert "<em>result</em>" in response.text
    fresh_form = response.text.split(f'<form class="comment-form" id="comment-form-{paper.pk}"')[1]
    assert 'hx-swap-oob="true"' in fresh_form.split(">")[0]
    assert "Nice *result*" not in fresh_form  # the form is empty again
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_a_reply_hangs_under_its_comment_and_a_reply_to_a_reply_joins_the_same_thread(
    login, researcher, other_researcher, paper
):
    top = Comment.objects.create(paper=paper, author=researcher, body="Top")
    client = login(other_researcher)

    reply = post(client, paper, "First reply", parent=top, htmx=True)
    post(client, paper, "Reply to the reply", parent=Comment.objects.get(body="First reply"))

    first, second = Comment.objects.filter(parent__isnull=False).order_by("pk")
    assert (first.parent, second.parent) == (top, top)
    assert reply.text.lstrip().startswith('<li class="comment" id="comment-')
    assert f'id="reply-form-{top.pk}"' in reply.text and 'hx-swap-oob="true"' in reply.text
    page = client.get("/papers/2606.00042")
    replies = page.text.split(f'id="replies-{top.pk}"')[1]
    assert "First reply" in replies and "Reply to the reply" in replies


def test_a_reply_to_a_comment_on_another_paper_is_404(login, researcher, paper):
    elsewhere = Comment.objects.create(
        paper=make_paper(arxiv_id="2606.99999"), author=researcher, body="Elsewhere"
    )

    response = post(login(researcher), paper, "Wrong thread", parent=elsewhere)

    assert response.status_code == 404
    assert Comment.objects.count() == 1


def test_an_empty_comment_is_refused_with_and_without_htmx(login, researcher, paper):
    client = login(researcher)

    with_htmx = post(client, paper, "   ", htmx=True)
    without = post(client, paper, "")

    assert not Comment.objects.exists()
    assert with_htmx.status_code == 200 and 'class="errorlist"' in with_htmx.text
    assert "hx-swap-oob" not in with_htmx.text
    assert (with_htmx["HX-Retarget"], with_htmx["HX-Reswap"]) == (f"#comment-form-{paper.pk}", "outerHTML")
    assert without.status_code == 302 and without["Location"] == "/papers/2606.00042#thread"


def test_an_empty_reply_goes_back_to_its_own_form(login, researcher, paper):
    top = Comment.objects.create(paper=paper, author=researcher, body="Top")

    response = post(login(researcher), paper, "", parent=top, htmx=True)

    assert Comment.objects.count() == 1
    assert response["HX-Retarget"] == f"#reply-form-{top.pk}"
    assert f'<form class="comment-form" id="reply-form-{top.pk}"' in response.text


def test_comments_work_on_old_style_ids(login, researcher, old_style_paper):
    client = login(researcher)

    response = post(client, old_style_paper, "Still relevant")

    comment = Comment.objects.get()
    assert response["Location"] == f"/papers/hep-th/9901001#comment-{comment.pk}"
    assert "Still relevant" in client.get("/papers/hep-th/9901001").text


def test_the_thread_loads_in_constant_queries(login, researcher, other_researcher, paper):
    client = login(researcher)
    client.get("/papers/2606.00042")  # warm the lab's categories

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            client.get("/papers/2606.00042")
        return len(queries)

    top = Comment.objects.create(paper=paper, author=researcher, body="One @taeho")
    few = count_queries()
    for number in range(20):
        reply = Comment.objects.create(
            paper=paper, author=other_researcher, body=f"@minji {number}", parent=top
        )
        Reaction.objects.create(comment=reply, person=researcher, emoji=Reaction.Emoji.HEART)

    assert count_queries() == few


# Sanitising --------------------------------------------------------------------------------------

XSS = [
    "<script>alert('x')</script>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "<javascript:alert(1)>",
    '<img src=x onerror="alert(1)">',
    '<a href="https://evil.example" onclick="steal()">raw link</a>',
    "<iframe src='https://evil.example'></iframe>",
    '[x](https://ok.example "t" onmouseover=alert(1))',
    "<svg onload=alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "$\\href{javascript:alert(1)}{x}$ <style>body{display:none}</style>",
]


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", XSS)
def test_xss_payloads_render_inert(login, researcher, paper, payload):
    comment = Comment.objects.create(paper=paper, author=researcher, body=payload)

    page = login(researcher).get("/papers/2606.00042")

    body = (
        comment_li(page.text, comment)
        .split('<div class="comment-body">')[1]
        .split('<form class="reactions"')[0]
    )
    elements = Elements(body).found
    assert elements, "the payload shows up as something"
    assert {tag for tag, _attrs in elements} <= {"p", "a", "span", "div", "code", "em"}
    for _tag, attrs in elements:
        assert not [name for name in attrs if name.startswith("on") or name in {"style", "src"}]
        assert not attrs.get("href", "https:").lower().startswith(("javascript", "data", "vbscript"))


def test_links_get_nofollow_noopener_and_mentions_link_to_the_person(
    login, researcher, other_researcher, paper
):
    comment = Comment.objects.create(
        paper=paper,
        author=researcher,
        body="See [the code](https://github.com/lab/x), @taeho and @nobody; `@taeho` in code stays.",
    )

    page = login(researcher).get("/papers/2606.00042")

    body = comment_li(page.text, comment)
    assert '<a href="https://github.com/lab/x" rel="nofollow noopener">the code</a>' in body
    assert '<a class="mention" href="/people/taeho/">@taeho</a>' in body
    assert "@nobody" in body and 'href="/people/nobody/"' not in body
    assert "<code>@taeho</code>" in body


# Mentions ----------------------------------------------------------------------------------------


def test_a_mention_notifies_the_person_once_and_an_edit_does_not_notify_again(
    login, researcher, other_researcher, paper, django_capture_on_commit_callbacks
):
    Channel.objects.create(person=other_researcher, kind=Channel.Kind.EMAIL, target="")
    client = login(researcher)

    with django_capture_on_commit_callbacks(execute=True):
        post(client, paper, "@taeho what do you think? cc @taeho @minji")
    comment = Comment.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/papers/comments/{comment.pk}/edit", {"body": "@taeho what do you think now?"})

    notification = Notification.objects.get()
    assert (notification.person, notification.kind, notification.comment, notification.paper) == (
        other_researcher,
        Notification.Kind.MENTION,
        comment,
        paper,
    )
    assert "Minji Kim" in notification.reason
    delivery = Delivery.objects.get()
    assert delivery.dedupe_key == f"mention:{comment.pk}:{other_researcher.pk}"
    assert delivery.channel.person == other_researcher
    assert "Sparse attention at scale" in delivery.payload["subject"]


def test_an_edit_that_adds_a_mention_notifies_only_the_new_person(
    login, researcher, other_researcher, lead, paper
):
    client = login(researcher)
    post(client, paper, "Hi @taeho")
    comment = Comment.objects.get()

    client.post(f"/papers/comments/{comment.pk}/edit", {"body": "Hi @taeho and @jiwoo"}, headers=HTMX)

    assert sorted(Notification.objects.values_list("person__username", flat=True)) == ["jiwoo", "taeho"]


def test_mentioning_an_inactive_or_unknown_person_notifies_nobody(login, researcher, make_person, paper):
    make_person("gone", is_active=False)

    post(login(researcher), paper, "@gone @ghost hello")

    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()


# Editing and deleting ----------------------------------------------------------------------------


@pytest.fixture
def comment(researcher, paper):
    return Comment.objects.create(paper=paper, author=researcher, body="First *draft*")


def test_the_author_edits_with_htmx_and_gets_the_comment_fragment(login, researcher, comment):
    response = login(researcher).post(
        f"/papers/comments/{comment.pk}/edit", {"body": "Second **draft**"}, headers=HTMX
    )

    comment.refresh_from_db()
    assert comment.body == "Second **draft**" and comment.edited_at is not None
    assert response.text.lstrip().startswith(f'<li class="comment" id="comment-{comment.pk}">')
    assert "<strong>draft</strong>" in response.text and "(edited)" in response.text
    assert "<html" not in response.text


def test_the_author_edits_without_htmx_and_is_redirected(login, researcher, comment):
    response = login(researcher).post(f"/papers/comments/{comment.pk}/edit", {"body": "Plain edit"})

    comment.refresh_from_db()
    assert response.status_code == 302 and response["Location"].endswith(f"#comment-{comment.pk}")
    assert comment.body == "Plain edit"


def test_an_empty_edit_keeps_the_comment(login, researcher, comment):
    response = login(researcher).post(f"/papers/comments/{comment.pk}/edit", {"body": ""}, headers=HTMX)

    comment.refresh_from_db()
    assert comment.body == "First *draft*" and comment.edited_at is None
    assert 'class="errorlist"' in response.text


def test_deleting_leaves_a_placeholder_that_keeps_the_replies(
    login, researcher, other_researcher, comment, paper
):
    Comment.objects.create(paper=paper, author=other_researcher, body="A reply that stays", parent=comment)
    client = login(researcher)

    fragment = client.post(f"/papers/comments/{comment.pk}/delete", headers=HTMX)
    page = client.get("/papers/2606.00042")

    comment.refresh_from_db()
    assert comment.is_deleted and comment.body == ""
    assert "Comment deleted." in fragment.text and "A reply that stays" in fragment.text
    assert (
        "<em>draft</em>" not in page.text
        and "Comment deleted." in page.text
        and "A reply that stays" in page.text
    )


def test_deleting_without_htmx_redirects_and_a_lone_deleted_comment_disappears(login, researcher, comment):
    client = login(researcher)

    response = client.post(f"/papers/comments/{comment.pk}/delete")
    page = client.get("/papers/2606.00042")

    assert response.status_code == 302 and response["Location"] == "/papers/2606.00042#thread"
    assert "Comment deleted." not in page.text.split("Comment deleted.", 1)[-1]  # only the message
    assert f'id="comment-{comment.pk}"' not in page.text


def test_only_the_author_sees_edit_and_delete(login, researcher, other_researcher, comment):
    mine = login(researcher).get("/papers/2606.00042").text
    theirs = login(other_researcher).get("/papers/2606.00042").text

    assert f"/papers/comments/{comment.pk}/edit" in mine and f"/papers/comments/{comment.pk}/delete" in mine
    assert f"/papers/comments/{comment.pk}/edit" not in theirs
    assert f"/papers/comments/{comment.pk}/delete" not in theirs


@pytest.mark.parametrize("action", ["edit", "delete"])
def test_someone_else_cannot_edit_or_delete(login, other_researcher, lead, comment, action):
    for person in (other_researcher, lead):
        response = login(person).post(f"/papers/comments/{comment.pk}/{action}", {"body": "Hijacked"})
        assert response.status_code == 403

    comment.refresh_from_db()
    assert comment.body == "First *draft*" and not comment.is_deleted


@pytest.mark.parametrize("action", ["edit", "delete", "react"])
def test_a_deleted_or_missing_comment_is_404(login, researcher, comment, action):
    client = login(researcher)
    client.post(f"/papers/comments/{comment.pk}/delete")

    assert (
        client.post(f"/papers/comments/{comment.pk}/{action}", {"body": "x", "emoji": "👍"}).status_code
        == 404
    )
    assert client.post(f"/papers/comments/999999/{action}", {"body": "x", "emoji": "👍"}).status_code == 404


# Reactions ---------------------------------------------------------------------------------------


def test_reacting_toggles_with_htmx_and_returns_only_the_reactions(
    login, researcher, other_researcher, comment
):
    client = login(other_researcher)

    added = client.post(f"/papers/comments/{comment.pk}/react", {"emoji": "🎉"}, headers=HTMX)
    login(researcher).post(f"/papers/comments/{comment.pk}/react", {"emoji": "🎉"}, headers=HTMX)
    removed = login(other_researcher).post(
        f"/papers/comments/{comment.pk}/react", {"emoji": "🎉"}, headers=HTMX
    )

    assert added.text.lstrip().startswith('<form class="reactions"')
    celebrate = r'>🎉</span> <span class="reaction-label">celebrate</span> <span class="count">1</span>'
    assert re.search(r'value="🎉" class="reaction on" aria-pressed="true"[^>]*>.*' + celebrate, added.text)
    assert re.search(r'value="🎉" class="reaction" aria-pressed="false"[^>]*>.*' + celebrate, removed.text)
    assert list(Reaction.objects.values_list("person__username", "emoji")) == [("minji", "🎉")]


def test_reacting_without_htmx_redirects_to_the_comment(login, other_researcher, comment):
    response = login(other_researcher).post(f"/papers/comments/{comment.pk}/react", {"emoji": "👍"})

    assert response.status_code == 302 and response["Location"].endswith(f"#comment-{comment.pk}")
    assert Reaction.objects.get().emoji == "👍"


def test_an_emoji_outside_the_set_is_refused(login, other_researcher, comment):
    response = login(other_researcher).post(f"/papers/comments/{comment.pk}/react", {"emoji": "💩"})

    assert response.status_code == 400
    assert not Reaction.objects.exists()


# Who may do what ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/papers/comment/2606.00042",
        "/papers/comments/{pk}/edit",
        "/papers/comments/{pk}/delete",
        "/papers/comments/{pk}/react",
    ],
)
def test_anonymous_people_are_sent_to_log_in(client, comment, url):
    response = client.post(url.format(pk=comment.pk), {"body": "x", "emoji": "👍"})

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    comment.refresh_from_db()
    assert comment.body == "First *draft*" and Comment.objects.count() == 1 and not Reaction.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/papers/comment/2606.00042",
        "/papers/comments/{pk}/edit",
        "/papers/comments/{pk}/delete",
        "/papers/comments/{pk}/react",
    ],
)
def test_every_change_needs_a_post_with_csrf(researcher, comment, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)

    assert client.get(url.format(pk=comment.pk)).status_code == 405
    assert client.post(url.format(pk=comment.pk), {"body": "x", "emoji": "👍"}).status_code == 403
    comment.refresh_from_db()
    assert comment.body == "First *draft*" and Comment.objects.count() == 1


def test_commenting_on_an_unknown_paper_is_404(login, researcher):
    assert login(researcher).post("/papers/comment/2606.99999", {"body": "x"}).status_code == 404


# Following a thread ------------------------------------------------------------------------------


def follow(client, paper, value="on", *, htmx=False):
    return client.post(f"/papers/follow/{paper.arxiv_id}", {"follow": value}, headers=HTMX if htmx else {})


def told_of(comment: Comment) -> dict[str, str]:
    """Who was told of `comment`, and why: {username: notification kind}."""
    rows = Notification.objects.filter(comment=comment).values_list("person__username", "kind")
    return dict(rows)


def test_a_follower_hears_of_every_new_comment_once_and_the_author_never(
    login, researcher, other_researcher, lead, paper, django_capture_on_commit_callbacks
):
    follow(login(lead), paper)

    with django_capture_on_commit_callbacks(execute=True):
        post(login(researcher), paper, "First thoughts")
        post(login(other_researcher), paper, "A reply from Taeho")
    first, second = Comment.objects.order_by("pk")
    with django_capture_on_commit_callbacks(execute=True):
        login(researcher).post(f"/papers/comments/{first.pk}/edit", {"body": "First thoughts, edited"})

    assert told_of(first) == {"jiwoo": "comment"}
    # Commenting followed the thread: Minji hears of Taeho's reply, Taeho not of his own.
    assert told_of(second) == {"jiwoo": "comment", "minji": "comment"}
    keys = sorted(Delivery.objects.values_list("dedupe_key", flat=True))
    assert keys == sorted(
        [
            f"comment:{first.pk}:{lead.pk}",
            f"comment:{second.pk}:{lead.pk}",
            f"comment:{second.pk}:{researcher.pk}",
        ]
    )
    subject = Delivery.objects.filter(dedupe_key=f"comment:{second.pk}:{lead.pk}").get().subject
    assert subject == "Taeho Yoon commented on “Sparse attention at scale”"


def test_a_follower_who_is_mentioned_is_told_once(login, researcher, lead, paper):
    follow(login(lead), paper)

    post(login(researcher), paper, "@jiwoo have a look")

    comment = Comment.objects.get()
    assert told_of(comment) == {"jiwoo": "mention"}
    assert list(Delivery.objects.values_list("dedupe_key", flat=True)) == [f"mention:{comment.pk}:{lead.pk}"]


def test_a_follower_is_told_in_their_own_language(login, researcher, other_researcher, paper):
    other_researcher.language = "ko"
    other_researcher.save()
    follow(login(other_researcher), paper)

    post(login(researcher), paper, "A comment")

    assert Delivery.objects.get().subject == "Minji Kim 님이 “Sparse attention at scale”에 댓글을 남겼습니다"


def test_unfollowing_stops_the_news_until_the_person_comments_again(login, researcher, lead, paper):
    post(login(lead), paper, "I'm in")
    follow(login(lead), paper, "off")

    post(login(researcher), paper, "Anyone?")
    post(login(lead), paper, "Back again")
    post(login(researcher), paper, "Welcome back")

    assert told_of(Comment.objects.get(body="Anyone?")) == {}
    assert told_of(Comment.objects.get(body="Welcome back")) == {"jiwoo": "comment"}


def test_following_with_htmx_returns_only_the_button_and_the_page_shows_it(login, researcher, paper):
    client = login(researcher)

    page = client.get("/papers/2606.00042").text
    on = follow(client, paper, htmx=True)
    again = follow(client, paper, htmx=True)  # said outright: a second click changes nothing
    followed_page = client.get("/papers/2606.00042").text

    assert "Hear of every new comment." in page and ">Follow</button>" in page
    assert on.status_code == 200 and "<html" not in on.text
    assert on.text.lstrip().startswith(f'<form class="inline follow" id="follow-{paper.pk}"')
    assert "Unfollow" in on.text and "Unfollow" in again.text
    assert "You follow this thread: every new comment reaches you." in followed_page
    assert paper.followers.get().person == researcher


def test_following_without_htmx_redirects_to_the_thread_with_a_message(login, researcher, paper):
    client = login(researcher)

    response = follow(client, paper)
    off = follow(client, paper, "off")

    assert response.status_code == 302 and response["Location"] == "/papers/2606.00042#thread"
    assert "You no longer follow this thread." in client.get(off["Location"]).text
    assert not paper.followers.exists()


def test_following_needs_a_login_a_post_with_csrf_and_on_or_off(client, login, researcher, paper):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(researcher)

    anonymous = follow(client, paper)
    get = strict.get("/papers/follow/2606.00042")
    no_csrf = follow(strict, paper)
    nonsense = follow(login(researcher), paper, "maybe")
    unknown = login(researcher).post("/papers/follow/2606.99999", {"follow": "on"})

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert (get.status_code, no_csrf.status_code, nonsense.status_code, unknown.status_code) == (
        405,
        403,
        400,
        404,
    )
    assert not paper.followers.exists()
