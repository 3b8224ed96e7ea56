"""One comment partial and one edit rule for a paper's thread and a draft's discussion, each
keeping its own rules of who is named."""

import pytest

from lab_portal.comments import replace_body
from papers import comments as paper_comments
from papers.models import Comment
from papers.tests.factories import make_paper
from reviews import discussion
from reviews.models import DraftComment
from reviews.tests.factories import make_draft

pytestmark = pytest.mark.django_db

PARTIAL = "includes/comment.html"


def rendered(response) -> list[str]:
    return [template.name for template in response.templates]


def test_a_paper_thread_and_a_draft_discussion_show_comments_through_one_partial(login, researcher):
    paper = make_paper()
    on_paper = paper_comments.post_comment(paper, author=researcher, body="Does it *hold* for $n=1$?")
    draft = make_draft(researcher, title="Sparse attention at scale")
    on_draft = discussion.post_comment(draft, author=researcher, body="Fixed in *version 2*.")
    client = login(researcher)

    paper_page = client.get(paper.get_absolute_url())
    draft_page = client.get(draft.get_absolute_url())

    assert PARTIAL in rendered(paper_page) and PARTIAL in rendered(draft_page)
    for page, comment, emphasis in (
        (paper_page, on_paper, "<em>hold</em>"),
        (draft_page, on_draft, "<em>version 2</em>"),
    ):
        assert emphasis in page.text
        assert f'action="{comment.get_edit_url()}"' in page.text
        assert f'action="{comment.get_delete_url()}"' in page.text
        assert f'<a class="comment-author" href="{researcher.get_absolute_url()}">Minji Kim</a>' in page.text


def test_an_anonymous_drafts_author_is_unnamed_and_unlinked_in_the_shared_partial(
    login, researcher, make_person
):
    reviewer = make_person("sora", display_name="Sora Han")
    draft = make_draft(researcher, reviewers=[reviewer], anonymous=True)
    discussion.post_comment(draft, author=researcher, body="Thanks for the careful read.")

    page = login(reviewer).get(draft.get_absolute_url())

    assert PARTIAL in rendered(page)
    assert '<span class="comment-author">An author</span>' in page.text
    assert "Minji Kim" not in page.text and researcher.get_absolute_url() not in page.text


def test_an_edit_writes_only_while_the_comment_may_still_be_edited(researcher):
    paper = make_paper()
    deleted = paper_comments.delete_comment(
        paper_comments.post_comment(paper, author=researcher, body="First")
    )
    draft = make_draft(researcher)
    standing = discussion.post_comment(draft, author=researcher, body="Second")

    refused = replace_body(deleted, body="Back again", rows=Comment.objects.filter(deleted_at__isnull=True))
    saved = replace_body(standing, body="  Second, edited  ", rows=DraftComment.objects.all())

    assert refused is False and Comment.objects.get(pk=deleted.pk).body == ""
    assert saved is True
    standing.refresh_from_db()
    assert standing.body == "Second, edited" and standing.edited_at is not None
