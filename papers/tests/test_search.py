"""Search over every stored paper: any text a person types gives results or an empty list."""

import re

import pytest
from django.db import connection

from papers.tests.factories import make_paper

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="ranked full-text search needs PostgreSQL (set DATABASE_URL)"
)


@pytest.fixture
def library(db):
    make_paper(
        arxiv_id="2606.00001",
        title="Masked autoencoders are scalable vision learners",
        abstract="We mask random patches of the input image.",
        authors=["Kaiming He"],
    )
    make_paper(
        arxiv_id="2606.00002",
        title="Learning transferable visual models",
        abstract="Natural language supervision for vision. Masked autoencoders are mentioned here too.",
        authors=["Alec Radford"],
    )
    make_paper(arxiv_id="2606.00003", title="Attention is all you need",
               abstract="The dominant sequence transduction models <b>are</b> based on recurrent networks.",
               authors=["Ashish Vaswani"])  # fmt: skip


def found(response) -> list[str]:
    return re.findall(r'class="arxiv-id" href="https://arxiv.org/abs/([^"]+)"', response.text)


def search(client, **params):
    return client.get("/papers/search/", params)


@pytest.fixture
def reader(login, researcher):
    return login(researcher)


def test_search_finds_a_paper_by_a_phrase_of_its_title(reader, library):
    response = search(reader, q='"scalable vision learners"')

    assert found(response) == ["2606.00001"]


def test_search_needs_every_word(reader, library):
    assert found(search(reader, q="vision supervision")) == ["2606.00002"]


def test_search_finds_by_prefix(reader, library):
    assert sorted(found(search(reader, q="transduc*"))) == ["2606.00003"]


def test_search_by_author_name(reader, library):
    assert found(search(reader, q="Vaswani")) == ["2606.00003"]


def test_search_filters_by_author_and_category(reader, library):
    assert found(search(reader, q="masked", author="Radford")) == ["2606.00002"]
    assert found(search(reader, q="masked", category="cs.CL")) == []


def test_search_snippet_marks_matches_and_escapes_the_abstract(reader, library):
    response = search(reader, q="recurrent")

    assert "<mark>recurrent</mark>" in response.text
    assert "&lt;b&gt;are&lt;/b&gt;" in response.text


@on_postgres
def test_search_ranks_title_matches_above_abstract_matches(reader, library):
    response = search(reader, q="masked autoencoders")

    assert found(response) == ["2606.00001", "2606.00002"]


def test_search_sorted_by_date(reader, db):
    from datetime import date

    make_paper(arxiv_id="2606.00010", title="Graph things", day=date(2026, 6, 1))
    make_paper(arxiv_id="2606.00011", title="More graph things", day=date(2026, 6, 30))

    assert found(search(reader, q="graph", sort="date")) == ["2606.00011", "2606.00010"]


@pytest.mark.parametrize(
    "query",
    ['"', '""', "a:b", "&", "& | ! ( ) : * '", "'; DROP TABLE papers_paper; --", "자기지도 학습",
     "🤖 learning", "x" * 5000, "\\", "<script>alert(1)</script>", "-", "*", "a:*", "!!!", "the of and"],
)  # fmt: skip
def test_search_survives_any_query_string(reader, library, query):
    response = search(reader, q=query)

    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text


def test_search_rejects_absurd_parameters_without_failing(reader, library):
    response = search(reader, q="masked", offset="-5", sort="sideways")

    assert response.status_code == 200
    assert found(response) == []


def test_search_load_more_pages_with_htmx(reader, db):
    for n in range(30):
        make_paper(arxiv_id=f"2606.{n:05d}", title=f"Graph paper {n}")

    first = search(reader, q="graph", sort="date")
    more = reader.get(
        "/papers/search/", {"q": "graph", "sort": "date", "offset": 25}, headers={"HX-Request": "true"}
    )

    assert len(found(first)) == 25
    assert len(found(more)) == 5
    assert "<html" not in more.text


@on_postgres
def test_search_ranks_only_the_most_recent_matches_of_a_common_word(reader, db, monkeypatch):
    from datetime import date

    from papers import queries

    monkeypatch.setattr(queries, "CANDIDATES", 2)
    make_paper(arxiv_id="2606.00001", title="Learning in the title, but old", day=date(2026, 1, 5))
    make_paper(arxiv_id="2606.00002", abstract="About learning.", day=date(2026, 6, 1))
    make_paper(arxiv_id="2606.00003", title="Learning, recent", day=date(2026, 6, 2))

    response = search(reader, q="learning")

    assert found(response) == ["2606.00003", "2606.00002"]


@on_postgres
def test_search_relevance_pages_through_one_bounded_candidate_set(reader, db, monkeypatch):
    from papers import queries

    monkeypatch.setattr(queries, "CANDIDATES", 28)
    for n in range(40):
        make_paper(arxiv_id=f"2606.{n:05d}", title=f"Graph paper {n}")

    first = search(reader, q="graph")
    more = reader.get("/papers/search/", {"q": "graph", "offset": 25})
    by_date = search(reader, q="graph", sort="date")

    assert len(found(first)) == 25
    assert len(found(more)) == 3
    assert not set(found(first)) & set(found(more))
    assert "More results" not in more.text
    assert "More results" in by_date.text


@on_postgres
def test_search_widens_its_window_of_days_until_it_has_enough_matches(
    reader, db, monkeypatch, django_assert_num_queries
):
    from datetime import date, timedelta

    from papers import queries

    monkeypatch.setattr(queries, "CANDIDATES", 3)
    newest = date(2026, 6, 30)
    # One match in each window (days back from the newest paper), one older than all of them,
    # and non-matching papers that keep the windows busy.
    for n, days in enumerate([0, 30, 200, 900, 3000]):
        make_paper(arxiv_id=f"2606.{n:05d}", title=f"Hypergraph paper {n}", day=newest - timedelta(days=days))
    for n in range(10):
        make_paper(arxiv_id=f"2606.{100 + n:05d}", title=f"Other paper {n}", day=newest)

    with django_assert_num_queries(5):  # session, user, newest day, the matches (one statement), bookmarks
        ranked = search(reader, q="hypergraph")
    by_date = search(reader, q="hypergraph", sort="date")
    deeper = reader.get("/papers/search/", {"q": "hypergraph", "sort": "date", "offset": 3})

    # The three most recent matches are ranked; the older ones are not candidates.
    assert sorted(found(ranked)) == ["2606.00000", "2606.00001", "2606.00002"]
    # Sorted by date, the window widens as far as the page needs, up to the whole store.
    assert found(by_date) == ["2606.00000", "2606.00001", "2606.00002", "2606.00003", "2606.00004"]
    assert found(deeper) == ["2606.00003", "2606.00004"]


def test_search_says_how_far_relevance_ranks_and_how_to_see_everything(reader, library):
    from papers.queries import CANDIDATES

    ranked = search(reader, q="masked")
    by_date = search(reader, q="masked", sort="date")

    assert f"Relevance ranks the {CANDIDATES} most recent matches" in ranked.text
    assert "Relevance ranks" not in by_date.text
