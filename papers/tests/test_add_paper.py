"""Adding one paper by whatever a person pastes, and searching arXiv itself."""

import pytest
from django.test import Client

from papers.models import Paper
from papers.tests.arxiv_server import ERROR_400, NO_RESULTS, OLD_STYLE_ID, TESTING_PAGES, ArxivServer
from papers.tests.factories import make_paper


@pytest.fixture
def arxiv_server(settings):
    with ArxivServer() as server:
        server.configure(settings)
        yield server


def test_add_paper_by_an_abs_link_stores_it_and_opens_its_page(login, researcher, arxiv_server):
    arxiv_server.serve_pages(OLD_STYLE_ID)

    response = login(researcher).post(
        "/papers/add/", {"reference": "https://arxiv.org/abs/astro-ph/0601001v1"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/papers/astro-ph/0601001"
    assert Paper.objects.get().arxiv_id == "astro-ph/0601001"
    assert arxiv_server.arrivals[0].params["id_list"] == "astro-ph/0601001"


def test_add_paper_already_stored_asks_arxiv_nothing(login, researcher, arxiv_server):
    make_paper(arxiv_id="2401.01234")

    response = login(researcher).post("/papers/add/", {"reference": "arXiv:2401.01234v2"}, follow=True)

    assert "already in the portal" in response.text
    assert arxiv_server.arrivals == []


@pytest.mark.parametrize("text", ["2401", "not an id", "https://example.org/abs/2401.01234"])
def test_add_paper_explains_what_is_wrong_with_the_input(login, researcher, arxiv_server, text):
    response = login(researcher).post("/papers/add/", {"reference": text})

    assert response.status_code == 200
    assert "is not an arXiv identifier" in response.text
    assert arxiv_server.arrivals == []


def test_add_paper_that_arxiv_does_not_have_says_so(login, researcher, arxiv_server):
    arxiv_server.serve_pages(NO_RESULTS)

    response = login(researcher).post("/papers/add/", {"reference": "2401.99999"})

    assert "arXiv has no paper 2401.99999" in response.text
    assert not Paper.objects.exists()


def test_add_paper_shows_arxivs_own_error_message(login, researcher, arxiv_server):
    arxiv_server.serve_pages(ERROR_400)

    response = login(researcher).post("/papers/add/", {"reference": "2401.01234"})

    assert "incorrect id format" in response.text.lower()
    assert not Paper.objects.exists()


def test_add_paper_needs_a_post_with_csrf(researcher, arxiv_server):
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)

    assert client.post("/papers/add/", {"reference": "2401.01234"}).status_code == 403
    assert client.get("/papers/add/").status_code == 200


def test_search_arxiv_lists_papers_with_add_buttons(login, researcher, arxiv_server):
    arxiv_server.serve_pages(*TESTING_PAGES)

    response = login(researcher).get("/papers/search/arxiv/", {"q": 'testing "unit tests" <script>'})

    assert response.status_code == 200
    assert response.text.count('<article class="paper">') == 10
    assert response.text.count('name="reference"') == 10
    query = arxiv_server.arrivals[0].params["search_query"]
    assert query == 'all:testing AND all:"unit tests" AND all:script'
    assert not Paper.objects.exists()


def test_search_arxiv_says_when_arxiv_fails(login, researcher, arxiv_server, settings):
    settings.ARXIV_RETRIES = 0
    arxiv_server.serve_pages(ERROR_400)

    response = login(researcher).get("/papers/search/arxiv/", {"q": "anything"})

    assert response.status_code == 200
    assert "arXiv did not answer" in response.text
