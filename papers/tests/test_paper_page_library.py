"""Saving, tagging and noting a paper from its own page, and the library's tag filter kept in step.

The forms are posted the way a browser posts them: with exactly the fields the page renders."""

import lxml.html
import pytest

from papers.models import Bookmark
from papers.tests.factories import make_paper

HTMX_BOX = {"HX-Request": "true", "HX-Target": "paper-library"}


@pytest.fixture
def paper(db):
    return make_paper(arxiv_id="2606.00077", title="Video diffusion at scale")


LIBRARY_BOX = '//section[@class="library-box"]//form'


def rendered_form(html: str, path: str) -> tuple[str, dict]:
    """The action of the form at XPath `path` and the fields a browser would send from it."""
    form = lxml.html.fromstring(html).xpath(path)[0]
    # An empty field is still sent, as an empty value (these forms have no checkboxes).
    return form.get("action"), {name: value or "" for name, value in form.fields.items()}


def test_paper_page_library_form_saves_what_the_page_renders(login, researcher, paper):
    Bookmark.objects.create(user=researcher, paper=paper)
    client = login(researcher)
    action, fields = rendered_form(client.get("/papers/2606.00077").text, LIBRARY_BOX)
    names = {name.split("-", 1)[-1]: name for name in fields}

    fields[names["state"]] = "read"
    fields[names["tag_names"]] = "video, to discuss"
    fields[names["note"]] = "Compare with our sampler."
    response = client.post(action, fields, follow=True)

    bookmark = Bookmark.objects.get()
    assert response.redirect_chain == [("/papers/2606.00077", 302)]
    assert "Saved." in response.text
    assert bookmark.state == "read"
    assert bookmark.note == "Compare with our sampler."
    assert sorted(tag.name for tag in bookmark.tags.all()) == ["to discuss", "video"]


def test_paper_page_save_with_htmx_brings_the_library_box_at_once(login, researcher, paper):
    client = login(researcher)

    saved = client.post("/papers/bookmark/2606.00077", {"next": "/papers/2606.00077"}, headers=HTMX_BOX)
    removed = client.post("/papers/bookmark/2606.00077", {"next": "/papers/2606.00077"}, headers=HTMX_BOX)

    bookmark_pk = saved.text.split("/papers/library/", 1)[1].split("/", 1)[0]
    assert "<html" not in saved.text
    assert 'id="paper-library"' in saved.text
    assert 'aria-pressed="true"' in saved.text
    assert f'name="b{bookmark_pk}-tag_names"' in saved.text
    assert 'name="next" value="/papers/2606.00077"' in saved.text
    assert 'aria-pressed="false"' in removed.text
    assert "library-box" not in removed.text
    assert not Bookmark.objects.exists()


def test_paper_page_edit_with_htmx_answers_with_the_box_saved(login, researcher, paper):
    bookmark = Bookmark.objects.create(user=researcher, paper=paper)
    client = login(researcher)
    action, fields = rendered_form(client.get("/papers/2606.00077").text, LIBRARY_BOX)
    fields[f"b{bookmark.pk}-tag_names"] = "video"

    response = client.post(action, fields, headers=HTMX_BOX)

    assert "<html" not in response.text
    assert 'id="paper-library"' in response.text
    assert 'role="status">Saved.' in response.text
    assert 'value="video"' in response.text
    assert [tag.name for tag in bookmark.tags.all()] == ["video"]


@pytest.mark.parametrize("headers", [HTMX_BOX, {}], ids=["htmx", "plain"])
def test_paper_page_refused_edit_keeps_what_was_typed(login, researcher, paper, headers):
    bookmark = Bookmark.objects.create(user=researcher, paper=paper, note="old note")
    client = login(researcher)
    action, fields = rendered_form(client.get("/papers/2606.00077").text, LIBRARY_BOX)
    fields[f"b{bookmark.pk}-tag_names"] = "x" * 60
    fields[f"b{bookmark.pk}-note"] = "A long note I do not want to type again"

    response = client.post(action, fields, headers=headers)

    assert response.status_code == (200 if headers else 400)
    assert "A tag is at most 50 characters long." in response.text
    assert "A long note I do not want to type again" in response.text
    assert "x" * 60 in response.text
    # The form still comes back to the paper's page, not to the address it was posted to.
    assert 'name="next" value="/papers/2606.00077"' in response.text
    bookmark.refresh_from_db()
    assert bookmark.note == "old note"
    assert not bookmark.tags.exists()


def test_library_row_saved_with_htmx_updates_the_tag_filter_in_place(login, researcher, paper):
    bookmark = Bookmark.objects.create(user=researcher, paper=paper)
    client = login(researcher)
    page = client.get("/papers/library/").text
    action, fields = rendered_form(page, f'//*[@id="bookmark-{bookmark.pk}"]//form')
    fields[f"b{bookmark.pk}-tag_names"] = "reading group"

    response = client.post(
        action, fields, headers={"HX-Request": "true", "HX-Target": f"bookmark-{bookmark.pk}"}
    )

    root = lxml.html.fragment_fromstring(response.text, create_parent="div")
    row = root.get_element_by_id(f"bookmark-{bookmark.pk}")
    filter_ = root.get_element_by_id("library-tags")
    assert "<html" not in response.text
    assert 'role="status"' in lxml.html.tostring(row, encoding="unicode")
    assert filter_.get("hx-swap-oob") == "true"
    assert [link.text_content() for link in filter_.xpath('.//a[@class="tag"]')] == ["reading group (1)"]
    assert 'id="library-tags"' in page and "reading group" not in page


def test_paper_page_bookmark_edit_is_the_owners_alone(client, login, researcher, other_researcher, paper):
    bookmark = Bookmark.objects.create(user=researcher, paper=paper, note="mine")
    fields = {
        f"b{bookmark.pk}-state": "read",
        f"b{bookmark.pk}-note": "hijacked",
        f"b{bookmark.pk}-tag_names": "",
    }

    anonymous = client.post(f"/papers/library/{bookmark.pk}/", fields)
    other = login(other_researcher).post(f"/papers/library/{bookmark.pk}/", fields, headers=HTMX_BOX)
    other_page = login(other_researcher).get("/papers/2606.00077")

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert other.status_code == 404
    assert "library-box" not in other_page.text
    bookmark.refresh_from_db()
    assert bookmark.note == "mine"
