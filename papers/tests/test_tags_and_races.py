"""Tags are addressed by id, so any name reverses; a tag goes with its last paper; an edit that
meets a removal never brings the bookmark back."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from papers.models import Bookmark, Comment, FeedToken, Tag
from papers.tests.factories import make_paper


@pytest.fixture
def paper(db):
    return make_paper(arxiv_id="2401.00001", title="Diffusion for sorting")


def edit(client, bookmark, **data):
    fields = {
        f"b{bookmark.pk}-{k}": v for k, v in {"state": "to_read", "note": "", "tag_names": "", **data}.items()
    }
    return client.post(f"/papers/library/{bookmark.pk}/", fields)


@pytest.mark.parametrize("name", ["theory/proofs", "<b>bold</b>", "a?b#c", "..", "100%"])
def test_a_tag_with_any_name_has_working_library_and_feed_pages(login, researcher, paper, name):
    bookmark = Bookmark.objects.create(user=researcher, paper=paper)
    client = login(researcher)
    edit(client, bookmark, tag_names=name)
    tag = Tag.objects.get(user=researcher)
    token = FeedToken.objects.create(person=researcher)

    library = client.get("/papers/library/")
    tag_page = client.get(f"/papers/library/tags/{tag.pk}/")
    feeds = client.get("/papers/feeds/")
    atom = Client().get(f"/papers/feeds/{token.key}/tag/{tag.pk}.atom")
    bibtex = client.get(f"/papers/library/bibtex/?tag={tag.pk}")

    assert tag.name == name
    assert library.status_code == 200 and f'href="/papers/library/tags/{tag.pk}/"' in library.text
    assert "<b>bold</b>" not in library.text  # the name is shown as text
    assert tag_page.status_code == 200 and "Diffusion for sorting" in tag_page.text
    assert feeds.status_code == 200 and f"/papers/feeds/{token.key}/tag/{tag.pk}.atom" in feeds.text
    assert atom.status_code == 200 and "Diffusion for sorting" in atom.text
    assert bibtex.status_code == 200 and "2401.00001" in bibtex.text
    assert "/" not in bibtex["Content-Disposition"].removeprefix("attachment; ")


def test_a_tag_feed_subscribed_by_name_is_sent_to_its_id(client, researcher, paper):
    tag = Tag.objects.create(user=researcher, name="reading group")
    Bookmark.objects.create(user=researcher, paper=paper).tags.add(tag)
    token = FeedToken.objects.create(person=researcher)

    response = client.get(f"/papers/feeds/{token.key}/tags/reading group.atom")

    assert response.status_code == 301
    assert response["Location"] == f"/papers/feeds/{token.key}/tag/{tag.pk}.atom"


def test_library_bibtex_refuses_a_tag_that_is_not_a_number(login, researcher):
    response = login(researcher).get("/papers/library/bibtex/?tag=theory/proofs")

    assert response.status_code == 400


def test_a_tag_disappears_with_its_last_paper(login, researcher, other_researcher, paper):
    second = make_paper(arxiv_id="2401.00002", title="Second")
    first_mark = Bookmark.objects.create(user=researcher, paper=paper)
    second_mark = Bookmark.objects.create(user=researcher, paper=second)
    theirs = Tag.objects.create(user=other_researcher, name="kept for later")  # someone else's, unused
    client = login(researcher)
    edit(client, first_mark, tag_names="ml, old")
    edit(client, second_mark, tag_names="ml")

    edit(client, first_mark, tag_names="ml")  # "old" is now on no paper
    after_edit = sorted(Tag.objects.filter(user=researcher).values_list("name", flat=True))
    client.post(f"/papers/bookmark/{second.arxiv_id}")  # unsaved: "ml" is still on the first
    after_one_removal = list(Tag.objects.filter(user=researcher).values_list("name", flat=True))
    client.post(f"/papers/bookmark/{paper.arxiv_id}")
    after_both = Tag.objects.filter(user=researcher).count()

    assert after_edit == ["ml"]
    assert after_one_removal == ["ml"]
    assert after_both == 0
    assert Tag.objects.filter(pk=theirs.pk).exists()
    assert "ml (" not in client.get("/papers/library/").text


def test_the_unused_tags_migration_removes_orphans_only(researcher, paper):
    from importlib import import_module

    from django.apps import apps

    used = Tag.objects.create(user=researcher, name="used")
    Bookmark.objects.create(user=researcher, paper=paper).tags.add(used)
    Tag.objects.create(user=researcher, name="a/b orphan")

    import_module("papers.migrations.0011_unused_tags").forget_unused_tags(apps, None)

    assert list(Tag.objects.values_list("name", flat=True)) == ["used"]


def _wait_for_a_blocked_query() -> None:
    """Until another connection waits on a row lock: the racing request has reached its write."""
    with connections["default"].cursor() as cursor:
        for _attempt in range(2000):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = %s",
                [connection.settings_dict["NAME"]],
            )
            if cursor.fetchone()[0]:
                return
            threading.Event().wait(0.01)
    raise AssertionError("the racing request never reached its write")


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's row locks (set DATABASE_URL)")


def race(removal: str, params: list, request) -> list[int]:
    """Run `request` while another connection's uncommitted `removal` holds its row, until the
    request waits on that row; then commit the removal. The request's status codes."""
    answers = []

    def send():
        try:
            answers.append(request())
        finally:
            connections.close_all()  # this thread's own connection

    remover = connections.create_connection("default")
    try:
        with remover.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(removal, params)
            thread = threading.Thread(target=send)
            thread.start()
            _wait_for_a_blocked_query()
            cursor.execute("COMMIT")
        thread.join()
    finally:
        remover.close()
    return answers


def test_an_edit_racing_a_removal_never_brings_the_bookmark_back(postgres, researcher, paper):
    bookmark = Bookmark.objects.create(user=researcher, paper=paper, note="old")
    client = Client()
    client.force_login(researcher)

    # The removal holds the row; the edit reads it (still there), then waits on it to write.
    answers = race(
        "DELETE FROM papers_bookmark WHERE id = %s",
        [bookmark.pk],
        lambda: edit(client, bookmark, note="new", tag_names="ml").status_code,
    )

    assert answers == [404]
    assert not Bookmark.objects.filter(user=researcher).exists()
    assert not Tag.objects.filter(user=researcher).exists()


def test_an_edit_racing_a_deletion_never_writes_the_comment_back(postgres, researcher, paper):
    comment = Comment.objects.create(paper=paper, author=researcher, body="First thought")
    client = Client()
    client.force_login(researcher)

    answers = race(
        "UPDATE papers_comment SET deleted_at = now(), body = '' WHERE id = %s",
        [comment.pk],
        lambda: client.post(f"/papers/comments/{comment.pk}/edit", {"body": "Second thought"}).status_code,
    )

    comment.refresh_from_db()
    assert answers == [302]
    assert comment.is_deleted and comment.body == ""
    page = client.get(paper.get_absolute_url())
    assert "Second thought" not in page.text
    assert "the edit was not saved" in page.text


def test_editing_a_draft_comment_deleted_meanwhile_is_404(postgres, researcher):
    from reviews.models import DraftComment
    from reviews.tests.factories import make_draft

    draft = make_draft(researcher, title="Racing drafts")
    comment = DraftComment.objects.create(draft=draft, author=researcher, body="First thought")
    client = Client()
    client.force_login(researcher)
    url = reverse("reviews:draft-comment-edit", args=[draft.pk, comment.pk])

    answers = race(
        "DELETE FROM reviews_draftcomment WHERE id = %s",
        [comment.pk],
        lambda: client.post(url, {"body": "Second thought"}).status_code,
    )

    assert answers == [404]
    assert not DraftComment.objects.filter(pk=comment.pk).exists()
