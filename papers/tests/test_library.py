"""A person's library: bookmarks, reading state, tags, private notes and BibTeX."""

import pytest
from django.test import Client

from papers.models import Bookmark, Tag
from papers.tests.factories import make_paper


@pytest.fixture
def paper(db):
    return make_paper(
        arxiv_id="2606.00042",
        title=r"Fast $\mathcal{O}(n)$ sorting & 100% recall",
        authors=["Jürgen Müller", "Łukasz Øster", "김민지"],
        doi="10.1000/x_y",
    )


def test_bookmark_needs_a_post_with_csrf(researcher, paper):
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)

    assert client.get("/papers/bookmark/2606.00042").status_code == 405
    assert client.post("/papers/bookmark/2606.00042").status_code == 403
    assert not Bookmark.objects.exists()


def test_bookmark_toggles_with_htmx_and_returns_only_the_button(login, researcher, paper):
    client = login(researcher)

    saved = client.post("/papers/bookmark/2606.00042", headers={"HX-Request": "true"})
    removed = client.post("/papers/bookmark/2606.00042", headers={"HX-Request": "true"})

    assert saved.status_code == 200
    assert 'aria-pressed="true"' in saved.text and "<html" not in saved.text
    assert 'aria-pressed="false"' in removed.text
    assert not Bookmark.objects.exists()


def test_bookmark_without_htmx_redirects_back_with_a_message(login, researcher, paper):
    client = login(researcher)

    response = client.post("/papers/bookmark/2606.00042", {"next": "/papers/?q=x"}, follow=True)

    assert response.redirect_chain == [("/papers/?q=x", 302)]
    assert "Saved to your library." in response.text
    assert Bookmark.objects.get().user == researcher


def test_bookmark_ignores_a_next_url_off_the_site(login, researcher, paper):
    response = login(researcher).post("/papers/bookmark/2606.00042", {"next": "https://evil.example.org/"})

    assert response["Location"] == "/papers/2606.00042"


def test_bookmark_of_an_unknown_paper_is_404(login, researcher, db):
    assert login(researcher).post("/papers/bookmark/2606.99999").status_code == 404


def edit(client, bookmark, **data):
    fields = {
        f"b{bookmark.pk}-{k}": v for k, v in {"state": "to_read", "note": "", "tag_names": "", **data}.items()
    }
    return client.post(f"/papers/library/{bookmark.pk}/", fields, **({"headers": {"HX-Request": "true"}}))


def test_library_saves_state_tags_and_a_private_note(login, researcher, paper):
    bookmark = Bookmark.objects.create(user=researcher, paper=paper)
    client = login(researcher)

    response = edit(
        client, bookmark, state="read", note="Check eq. 3", tag_names="diffusion, to discuss, diffusion"
    )

    bookmark.refresh_from_db()
    assert response.status_code == 200 and "<html" not in response.text
    assert bookmark.state == "read"
    assert bookmark.note == "Check eq. 3"
    assert sorted(t.name for t in bookmark.tags.all()) == ["diffusion", "to discuss"]
    page = client.get(f"/papers/library/tags/{Tag.objects.get(name='diffusion').pk}/")
    assert "sorting" in page.text
    assert client.get("/papers/library/?state=to_read").text.count("library-row") == 0


def test_library_rejects_an_overlong_tag_and_keeps_the_old_ones(login, researcher, paper):
    bookmark = Bookmark.objects.create(user=researcher, paper=paper)
    client = login(researcher)
    edit(client, bookmark, tag_names="keep")

    response = edit(client, bookmark, tag_names="x" * 60)

    assert "at most 50 characters" in response.text
    assert [t.name for t in bookmark.tags.all()] == ["keep"]


def test_library_is_private(login, researcher, other_researcher, paper):
    bookmark = Bookmark.objects.create(user=researcher, paper=paper, note="my secret note")
    mine = Tag.objects.create(user=researcher, name="mine")
    other = login(other_researcher)

    assert "my secret note" not in other.get("/papers/library/").text
    assert other.get(f"/papers/library/tags/{mine.pk}/").status_code == 404
    assert other.get(f"/papers/library/bibtex/?tag={mine.pk}").status_code == 404
    assert edit(other, bookmark, note="hijacked").status_code == 404
    bookmark.refresh_from_db()
    assert bookmark.note == "my secret note"


def test_library_query_count_does_not_grow(login, researcher, db, django_assert_max_num_queries):
    client = login(researcher)
    for _ in range(3):
        Bookmark.objects.create(user=researcher, paper=make_paper())
    client.get("/papers/library/")
    with django_assert_max_num_queries(10) as few:
        client.get("/papers/library/")
    for _ in range(20):
        Bookmark.objects.create(user=researcher, paper=make_paper())

    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/papers/library/")


def test_bibtex_of_one_paper_escapes_latex_and_accents(login, researcher, paper):
    response = login(researcher).get("/papers/bibtex/2606.00042")

    text = response.content.decode()
    assert response["Content-Type"].startswith("application/x-bibtex")
    assert text.startswith("@misc{müller".replace("ü", "u"))
    assert r"title = {{Fast $\mathcal{O}(n)$ sorting \& 100\% recall}}" in text
    assert r"author = {J{\"{u}}rgen M{\"{u}}ller and {\L}ukasz {\O}ster and 김민지}" in text
    assert r"doi = {10.1000/x\_y}" in text
    assert "eprint = {2606.00042}" in text


def test_bibtex_of_a_tag_and_of_the_whole_library(login, researcher, paper):
    other = make_paper(arxiv_id="2606.00043", title="Other paper")
    tagged = Bookmark.objects.create(user=researcher, paper=paper)
    Bookmark.objects.create(user=researcher, paper=other)
    reading = Tag.objects.create(user=researcher, name="reading group")
    tagged.tags.add(reading)
    client = login(researcher)

    by_tag = client.get("/papers/library/bibtex/", {"tag": reading.pk}).content.decode()
    everything = client.get("/papers/library/bibtex/").content.decode()

    assert by_tag.count("@misc{") == 1 and "2606.00042" in by_tag
    assert everything.count("@misc{") == 2
