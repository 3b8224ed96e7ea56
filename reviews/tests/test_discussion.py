"""The discussion on a draft: who may post, edit and delete, what is refused, who is told.

Every request goes through the test client as the persona it names; messages are followed to
the e-mails and Delivery rows lab_portal.notify writes once the post's transaction commits."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from lab_portal.models import Delivery
from reviews.models import DraftComment, ReviewAssignment
from reviews.tests.factories import make_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def coauthor(make_person):
    return make_person("hana", display_name="Hana Lee")


@pytest.fixture
def draft(researcher, coauthor, reviewer):
    return make_draft(
        researcher, coauthors=[coauthor], reviewers=[reviewer], title="Sparse attention at scale"
    )


@pytest.fixture
def anonymous_draft(researcher, reviewer):
    return make_draft(researcher, reviewers=[reviewer], title="Hidden authors", anonymous=True)


def new_url(draft) -> str:
    return reverse("reviews:draft-comment-new", args=[draft.pk])


def edit_url(comment) -> str:
    return reverse("reviews:draft-comment-edit", args=[comment.draft_id, comment.pk])


def delete_url(comment) -> str:
    return reverse("reviews:draft-comment-delete", args=[comment.draft_id, comment.pk])


HTMX = {"HX-Request": "true"}


def post(client, draft, body, *, capture, htmx=False):
    """Post a comment as the view does and run what its commit sets off (the notifications)."""
    with capture(execute=True):
        return client.post(new_url(draft), {"body": body}, headers=HTMX if htmx else {})


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def mailed(subject_part: str = "") -> list[str]:
    return sorted(m.to[0] for m in mail.outbox if subject_part in m.subject)


# Posting ----------------------------------------------------------------------------------------


def test_comment_without_htmx_redirects_to_its_anchor_and_shows_on_the_page(login, draft, reviewer, capture):
    client = login(reviewer)

    response = post(client, draft, "Section 3 needs a baseline with $O(n^2)$ attention.", capture=capture)

    comment = DraftComment.objects.get()
    assert response.status_code == 302
    assert response.url == f"{draft.get_absolute_url()}#comment-{comment.pk}"
    assert (comment.author, comment.draft, comment.body) == (
        reviewer,
        draft,
        "Section 3 needs a baseline with $O(n^2)$ attention.",
    )
    page = client.get(response.url)
    assert "Comment posted." in messages_of(page)
    assert f'id="comment-{comment.pk}"' in page.text
    assert "Section 3 needs a baseline with" in page.text
    assert '<span class="math inline">\\(O(n^2)\\)</span>' in page.text
    assert "Sora Han" in page.text


def test_comment_with_htmx_returns_only_the_comment_and_a_fresh_form(login, draft, researcher, capture):
    response = post(login(researcher), draft, "Thanks, **fixed** in v2.", capture=capture, htmx=True)

    comment = DraftComment.objects.get()
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in response.text
    assert response.text.count('class="comment"') == 1
    assert f'id="comment-{comment.pk}"' in response.text
    assert "<strong>fixed</strong>" in response.text
    assert f'id="comment-form-{draft.pk}"' in response.text
    assert 'hx-swap-oob="true"' in response.text
    # The fresh form is empty, and the author may edit and delete what they just wrote.
    assert re.search(r'name="body" rows="3" maxlength="10000" required></textarea>', response.text)
    assert edit_url(comment) in response.text
    assert delete_url(comment) in response.text


def test_comments_are_shown_oldest_first(login, draft, researcher, reviewer, lead, capture):
    for person, body in [(reviewer, "First"), (researcher, "Second"), (lead, "Third")]:
        post(login(person), draft, f"{body} comment", capture=capture)

    page = login(researcher).get(draft.get_absolute_url()).text

    positions = [page.index(f"{body} comment") for body in ["First", "Second", "Third"]]
    assert positions == sorted(positions)
    assert [c.body for c in DraftComment.objects.filter(draft=draft)] == [
        "First comment",
        "Second comment",
        "Third comment",
    ]


def test_comment_markdown_is_sanitised(login, draft, reviewer, capture):
    post(
        login(reviewer),
        draft,
        '<script>alert("x")</script> [link](javascript:alert(1)) <img src=x onerror=alert(1)>',
        capture=capture,
    )

    page = login(reviewer).get(draft.get_absolute_url()).text

    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript:' not in page
    assert "<img" not in page


@pytest.mark.parametrize("htmx", [False, True])
def test_empty_comment_is_refused_with_a_message(login, draft, reviewer, capture, htmx):
    client = login(reviewer)

    response = post(client, draft, "   \n  ", capture=capture, htmx=htmx)

    assert not DraftComment.objects.exists()
    assert not Delivery.objects.exists()
    refusal = "Write something first: an empty comment is not posted."
    if htmx:
        assert response.status_code == 200
        assert response.headers["HX-Retarget"] == f"#comment-form-{draft.pk}"
        assert response.headers["HX-Reswap"] == "outerHTML"
        assert refusal in response.text
    else:
        assert response.status_code == 302
        assert response.url == f"{draft.get_absolute_url()}#discussion"
        assert f"Not posted: {refusal}" in messages_of(client.get(response.url))


@pytest.mark.parametrize("htmx", [False, True])
def test_oversized_comment_is_refused_and_kept_in_the_form(login, draft, reviewer, capture, htmx):
    client = login(reviewer)
    body = "x" * 10_001

    response = post(client, draft, body, capture=capture, htmx=htmx)

    assert not DraftComment.objects.exists()
    refusal = "A comment can be at most 10000 characters long (this one has 10001)."
    if htmx:
        assert refusal in response.text
        assert body in response.text  # nothing the reviewer typed is lost
    else:
        assert f"Not posted: {refusal}" in messages_of(client.get(response.url))


def test_comment_of_exactly_the_limit_is_posted(login, draft, reviewer, capture):
    post(login(reviewer), draft, "y" * 10_000, capture=capture)

    assert len(DraftComment.objects.get().body) == 10_000


# Who may do what --------------------------------------------------------------------------------


def test_outsider_gets_404_for_every_discussion_action(login, draft, reviewer, other_researcher, capture):
    post(login(reviewer), draft, "Mine", capture=capture)
    comment = DraftComment.objects.get()
    client = login(other_researcher)

    answers = [
        client.post(new_url(draft), {"body": "Let me in"}).status_code,
        client.post(edit_url(comment), {"body": "Changed"}).status_code,
        client.post(delete_url(comment)).status_code,
        client.get(draft.get_absolute_url()).status_code,
    ]

    assert answers == [404, 404, 404, 404]
    assert list(DraftComment.objects.values_list("body", flat=True)) == ["Mine"]


def test_logged_out_visitor_is_sent_to_log_in(client, draft):
    response = client.post(new_url(draft), {"body": "Hello"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not DraftComment.objects.exists()


def test_lead_may_join_the_discussion(login, draft, lead, capture):
    response = post(login(lead), draft, "Please keep this civil.", capture=capture)

    assert response.status_code == 302
    assert DraftComment.objects.get().author == lead


def test_author_edits_own_comment(login, draft, reviewer, capture):
    post(login(reviewer), draft, "Typo in eq. 3", capture=capture)
    comment = DraftComment.objects.get()
    client = login(reviewer)

    response = client.post(edit_url(comment), {"body": "Typo in eq. 4"})

    comment.refresh_from_db()
    assert response.status_code == 302
    assert response.url == f"{draft.get_absolute_url()}#comment-{comment.pk}"
    assert comment.body == "Typo in eq. 4"
    assert comment.edited_at is not None
    page = client.get(response.url)
    assert "Comment saved." in messages_of(page)
    assert "(edited)" in page.text


def test_edit_with_htmx_returns_the_comment_partial(login, draft, reviewer, capture):
    post(login(reviewer), draft, "Before", capture=capture)
    comment = DraftComment.objects.get()

    response = login(reviewer).post(edit_url(comment), {"body": "*After*"}, headers=HTMX)

    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.strip().startswith(f'<li class="comment" id="comment-{comment.pk}">')
    assert "<em>After</em>" in response.text
    assert "comment-form" not in response.text


def test_edit_to_empty_is_refused_and_the_text_kept(login, draft, reviewer, capture):
    post(login(reviewer), draft, "Keep me", capture=capture)
    comment = DraftComment.objects.get()
    client = login(reviewer)

    htmx = client.post(edit_url(comment), {"body": ""}, headers=HTMX)
    plain = client.post(edit_url(comment), {"body": "z" * 10_001})

    comment.refresh_from_db()
    assert comment.body == "Keep me"
    assert comment.edited_at is None
    assert "Write something first" in htmx.text
    assert '<details class="comment-edit" open>' in htmx.text  # the box stays open with its error
    shown = messages_of(client.get(plain.url))
    assert "Not saved: A comment can be at most 10000 characters long (this one has 10001)." in shown


def test_author_deletes_own_comment(login, draft, reviewer, capture):
    post(login(reviewer), draft, "Never mind", capture=capture)
    post(login(reviewer), draft, "Second thought", capture=capture)
    first, second = DraftComment.objects.all()
    client = login(reviewer)

    plain = client.post(delete_url(first))
    htmx = client.post(delete_url(second), headers=HTMX)

    assert plain.status_code == 302
    assert plain.url == f"{draft.get_absolute_url()}#discussion"
    assert "Comment deleted." in messages_of(client.get(plain.url))
    assert (htmx.status_code, htmx.text) == (200, "")
    assert not DraftComment.objects.exists()


def test_others_may_not_edit_or_delete_a_comment(login, draft, reviewer, researcher, lead, capture):
    post(login(reviewer), draft, "Reviewer's words", capture=capture)
    comment = DraftComment.objects.get()

    answers = []
    for person in [researcher, lead]:
        client = login(person)
        answers.append(client.post(edit_url(comment), {"body": "Rewritten"}).status_code)
        answers.append(client.post(delete_url(comment)).status_code)

    assert answers == [403, 403, 403, 403]
    assert DraftComment.objects.get().body == "Reviewer's words"
    page = login(researcher).get(draft.get_absolute_url()).text
    assert edit_url(comment) not in page
    assert delete_url(comment) not in page


def test_comment_of_another_draft_is_404_through_this_draft(login, draft, reviewer, researcher, capture):
    other = make_draft(researcher, reviewers=[reviewer])
    post(login(reviewer), other, "On the other draft", capture=capture)
    comment = DraftComment.objects.get()

    response = login(reviewer).post(
        reverse("reviews:draft-comment-edit", args=[draft.pk, comment.pk]), {"body": "Moved"}
    )

    assert response.status_code == 404
    assert DraftComment.objects.get().body == "On the other draft"


def test_discussion_actions_refuse_get(login, draft, reviewer, capture):
    post(login(reviewer), draft, "Hi", capture=capture)
    comment = DraftComment.objects.get()
    client = login(reviewer)

    answers = [
        client.get(url).status_code for url in (new_url(draft), edit_url(comment), delete_url(comment))
    ]

    assert answers == [405, 405, 405]


def test_discussion_needs_csrf(draft, reviewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)

    refused = client.post(new_url(draft), {"body": "No token"})
    page = client.get(draft.get_absolute_url())
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    accepted = client.post(new_url(draft), {"body": "With token", "csrfmiddlewaretoken": token})

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert list(DraftComment.objects.values_list("body", flat=True)) == ["With token"]


# Who is told ------------------------------------------------------------------------------------


def test_new_comment_notifies_the_other_participants_once(
    login, draft, researcher, coauthor, reviewer, lead, other_researcher, make_person, capture
):
    second_reviewer = make_person("yuna", display_name="Yuna Choi")
    ReviewAssignment.objects.create(draft=draft, reviewer=second_reviewer, due=draft.review_by)
    post(login(lead), draft, "Leads may chime in.", capture=capture)
    mail.outbox.clear()

    post(login(reviewer), draft, "Where is the ablation?", capture=capture)

    comment = DraftComment.objects.latest("pk")
    # The authors, the other reviewer and the lead who commented; never the poster or an outsider.
    assert mailed("Sora Han commented on “Sparse attention at scale”") == [
        "hana@lab.example.org",
        "jiwoo@lab.example.org",
        "minji@lab.example.org",
        "yuna@lab.example.org",
    ]
    keys = Delivery.objects.filter(dedupe_key=f"draft-comment:{comment.pk}")
    assert keys.count() == 4
    [to_author] = [m for m in mail.outbox if m.to == ["minji@lab.example.org"]]
    assert "Where is the ablation?" in to_author.body
    assert f"{draft.get_absolute_url()}#comment-{comment.pk}" in to_author.body


def test_editing_a_comment_notifies_nobody_again(login, draft, reviewer, capture):
    post(login(reviewer), draft, "Original", capture=capture)
    comment = DraftComment.objects.get()
    count = Delivery.objects.count()

    with capture(execute=True):
        login(reviewer).post(edit_url(comment), {"body": "Edited"})

    assert Delivery.objects.count() == count == 2  # the two authors, once


def test_inactive_people_are_not_notified(login, draft, coauthor, reviewer, capture):
    coauthor.is_active = False
    coauthor.save()

    post(login(reviewer), draft, "Hello authors", capture=capture)

    assert mailed() == ["minji@lab.example.org"]


def test_reviewer_taken_off_the_draft_is_no_longer_notified(login, draft, reviewer, researcher, capture):
    post(login(reviewer), draft, "My review thoughts", capture=capture)
    ReviewAssignment.objects.filter(reviewer=reviewer).delete()
    mail.outbox.clear()

    post(login(researcher), draft, "Thanks all", capture=capture)

    assert mailed() == ["hana@lab.example.org"]


def test_nothing_is_notified_when_the_post_does_not_commit(login, draft, reviewer):
    # Without the commit's callbacks (the test's transaction never commits) no row is written.
    login(reviewer).post(new_url(draft), {"body": "Uncommitted"})

    assert DraftComment.objects.count() == 1
    assert not Delivery.objects.exists()


# Anonymous review -------------------------------------------------------------------------------


def test_anonymous_draft_hides_the_authors_name_from_reviewers(
    login, anonymous_draft, researcher, reviewer, lead, capture
):
    post(login(researcher), anonymous_draft, "We ran the ablation.", capture=capture)
    post(login(reviewer), anonymous_draft, "Thanks!", capture=capture)

    as_reviewer = login(reviewer).get(anonymous_draft.get_absolute_url()).text
    as_author = login(researcher).get(anonymous_draft.get_absolute_url()).text
    as_lead = login(lead).get(anonymous_draft.get_absolute_url()).text

    assert "An author" in as_reviewer
    assert "Minji Kim" not in as_reviewer
    assert researcher.get_absolute_url() not in as_reviewer
    assert "Minji Kim" in as_author and "An author" not in as_author
    assert "Minji Kim" in as_lead
    assert "Sora Han" in as_author  # reviewers are not anonymous to the authors


def test_anonymous_draft_hides_the_authors_name_in_the_reviewers_message(
    login, anonymous_draft, researcher, reviewer, capture
):
    post(login(researcher), anonymous_draft, "Updated section 4.", capture=capture)

    [message] = mail.outbox
    assert message.to == ["sora@lab.example.org"]
    assert message.subject == "An author commented on “Hidden authors”"
    assert "Minji Kim" not in message.body
    assert "Minji Kim" not in message.alternatives[0].content
    assert "Minji" not in str(Delivery.objects.get().payload)


def test_anonymous_draft_hides_the_name_in_the_htmx_fragment_for_reviewers(
    login, anonymous_draft, researcher, reviewer, capture
):
    post(login(researcher), anonymous_draft, "From the authors", capture=capture)
    comment = DraftComment.objects.get()

    own = login(researcher).post(edit_url(comment), {"body": "From the authors, edited"}, headers=HTMX)

    assert "Minji Kim" in own.text  # the author sees their own name
    page = login(reviewer).get(anonymous_draft.get_absolute_url()).text
    assert "From the authors, edited" in page
    assert "Minji Kim" not in page


def test_thread_costs_the_same_queries_for_one_comment_and_thirty(
    login, draft, reviewer, django_assert_max_num_queries, capture
):
    client = login(reviewer)
    post(client, draft, "One", capture=capture)
    with django_assert_max_num_queries(100) as one:
        client.get(draft.get_absolute_url())
    for number in range(29):
        DraftComment.objects.create(draft=draft, author=reviewer, body=f"Comment {number}")

    with django_assert_max_num_queries(100) as thirty:
        page = client.get(draft.get_absolute_url())

    assert page.text.count('class="comment"') == 30
    assert len(thirty.captured_queries) == len(one.captured_queries)
