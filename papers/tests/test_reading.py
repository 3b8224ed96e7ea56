"""The feed, the paper page, author pages and the archive, as researchers use them."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from papers.models import FeedVisit, Paper
from papers.tests.factories import make_paper

DAY = date(2026, 6, 30)


@pytest.fixture
def reader(login, researcher):
    return login(researcher)


def titles(response) -> list[str]:
    return re.findall(r'<h3 class="paper-title"><a href="[^"]+">([^<]+)</a>', response.text)


@pytest.mark.parametrize(
    "url", ["/papers/", "/papers/all/", "/papers/search/?q=x", "/papers/library/", "/papers/2606.99999",
            "/papers/author/?name=Ada", "/papers/day/2026-06-30/", "/papers/category/cs.CV/",
            "/papers/bibtex/2606.99999", "/papers/library/bibtex/"],
)  # fmt: skip
def test_paper_pages_send_anonymous_visitors_to_log_in(client, db, url):
    make_paper(arxiv_id="2606.99999")

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_feed_shows_the_latest_day_grouped_as_arxiv_lists_it(reader, db):
    make_paper(title="Older day paper", day=DAY - timedelta(days=1))
    make_paper(title="Vision new", categories=["cs.CV"], day=DAY)
    make_paper(title="Language new", categories=["cs.CL", "cs.AI"], day=DAY)
    make_paper(title="Physics cross", categories=["physics.optics", "cs.CV"], day=DAY)
    make_paper(
        title="Replaced today", version=2, first_announced=DAY - timedelta(days=20), last_announced=DAY
    )

    response = reader.get("/papers/")

    assert titles(response) == ["Language new", "Vision new", "Physics cross", "Replaced today"]
    text = response.text
    assert text.index("New submissions") < text.index("Cross-lists") < text.index("Updated")
    assert "cross-list" in text
    assert "Tuesday 30 June 2026" in text


def test_feed_of_an_earlier_day_and_its_navigation(reader, db):
    make_paper(title="Monday paper", day=DAY - timedelta(days=1))
    make_paper(title="Tuesday paper", day=DAY)

    response = reader.get("/papers/day/2026-06-29/")

    assert titles(response) == ["Monday paper"]
    assert (
        'href="/papers/day/2026-6-30/"' in response.text or 'href="/papers/day/2026-06-30/"' in response.text
    )


def test_feed_of_an_impossible_date_is_404(reader, db):
    assert reader.get("/papers/day/2026-02-31/").status_code == 404


def test_category_page_counts_cross_lists_into_that_category(reader, db):
    make_paper(title="Primary CL", categories=["cs.CL"], day=DAY)
    make_paper(title="Cross to CL", categories=["cs.LG", "cs.CL"], day=DAY)
    make_paper(title="Only CV", categories=["cs.CV"], day=DAY)

    response = reader.get("/papers/category/cs.CL/")

    assert titles(response) == ["Primary CL", "Cross to CL"]


def test_feed_filters_by_words_and_author(reader, db):
    make_paper(title="Diffusion for video", authors=["Jung-Woo Ha"], day=DAY)
    make_paper(title="Diffusion for audio", authors=["Someone Else"], day=DAY)
    make_paper(title="Transformers", abstract="no match", day=DAY)

    by_words = reader.get("/papers/", {"q": "diffusion"})
    by_author = reader.get("/papers/", {"q": "diffusion", "author": "Jung-Woo"})

    assert sorted(titles(by_words)) == ["Diffusion for audio", "Diffusion for video"]
    assert titles(by_author) == ["Diffusion for video"]


def test_feed_load_more_is_a_link_and_an_htmx_partial(reader, db):
    for n in range(30):
        make_paper(arxiv_id=f"2606.{n:05d}", title=f"Paper {n:02d}", day=DAY)

    first = reader.get("/papers/")
    next_url = (
        re.search(r'<a class="button" href="([^"]+)" hx-get="\1"', first.text).group(1).replace("&amp;", "&")
    )
    plain = reader.get(next_url)
    partial = reader.get(next_url, headers={"HX-Request": "true"})

    assert len(titles(first)) == 25
    assert titles(plain) == [f"Paper {n:02d}" for n in range(25, 30)]
    assert titles(partial) == titles(plain)
    assert "<html" not in partial.text
    assert "Load more" not in partial.text


@pytest.mark.parametrize(
    "url", ["/papers/", "/papers/day/2026-06-30/", "/papers/category/cs.CV/", "/papers/all/",
            "/papers/search/?q=paper&sort=date"],
)  # fmt: skip
def test_pages_with_an_htmx_part_tell_caches_that_it_depends_on_htmx(reader, db, url):
    for n in range(30):
        make_paper(arxiv_id=f"2606.{n:05d}", title=f"Paper {n:02d}", day=DAY, categories=["cs.CV"])
    plain = reader.get(url)
    more = re.search(r'<a class="button" href="([^"]+)" hx-get="\1"', plain.text).group(1)
    more = more.replace("&amp;", "&")

    pages = [plain, reader.get(more), reader.get(more, headers={"HX-Request": "true"})]

    assert [page.status_code for page in pages] == [200, 200, 200]
    assert "<html" in pages[1].text and "<html" not in pages[2].text
    assert all("HX-Request" in page.headers["Vary"] for page in pages)


def test_feed_query_count_does_not_grow_with_length_or_depth(reader, db, django_assert_max_num_queries):
    for n in range(80):
        make_paper(arxiv_id=f"2606.{n:05d}", day=DAY)
    reader.get("/papers/")
    first = reader.get("/papers/")
    cursor = re.search(r'href="/papers/\?after=([^"]+)"', first.text).group(1)

    with django_assert_max_num_queries(12) as top:
        reader.get("/papers/")
    with django_assert_max_num_queries(len(top.captured_queries)):
        reader.get(f"/papers/?after={cursor}")
    with django_assert_max_num_queries(len(top.captured_queries)):
        reader.get("/papers/all/")


def test_feed_marks_papers_new_since_the_last_visit(reader, researcher, db):
    seen = make_paper(title="Seen before", day=DAY)
    Paper.objects.filter(pk=seen.pk).update(fetched_at=timezone.now() - timedelta(hours=3))
    FeedVisit.objects.create(user=researcher, last_at=timezone.now() - timedelta(hours=2))
    make_paper(title="Arrived since", day=DAY)

    response = reader.get("/papers/")

    cards = response.text.split('<article class="paper')
    assert "new since your last visit" in next(c for c in cards if "Arrived since" in c)
    assert "new since your last visit" not in next(c for c in cards if "Seen before" in c)


def test_feed_with_no_papers_says_so(reader, db):
    response = reader.get("/papers/")

    assert "No papers yet" in response.text


def test_feed_ignores_a_broken_cursor(reader, db):
    make_paper(title="Still here", day=DAY)

    response = reader.get("/papers/", {"after": "x" * 300})

    assert response.status_code == 200
    assert titles(response) == ["Still here"]


def test_paper_page_shows_everything_known(reader, db):
    make_paper(
        arxiv_id="2606.01234",
        version=2,
        title=r"Sorting in $\mathcal{O}(n)$ & more",
        abstract="We show $x^2$ <script>alert(1)</script>.",
        authors=["Jung-Woo Ha", "Søren Kierkegaard"],
        categories=["cs.LG", "stat.ML"],
        comment="10 pages",
        journal_ref="NeurIPS 2026",
        doi="10.1000/xyz123",
    )

    response = reader.get("/papers/2606.01234")

    assert response.status_code == 200
    text = response.text
    assert (
        r'Sorting in <span class="tex" data-tex="\mathcal{O}(n)">$\mathcal{O}(n)$</span> &amp; more' in text
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert '<a href="/papers/author/?name=Jung-Woo%20Ha">Jung-Woo Ha</a>' in text
    assert "NeurIPS 2026" in text and "10 pages" in text
    assert 'href="https://doi.org/10.1000/xyz123"' in text
    assert 'href="https://arxiv.org/pdf/2606.01234v2"' in text
    assert 'href="https://arxiv.org/abs/2606.01234"' in text
    assert "/static/vendor/katex/katex.min.js" in text


def test_paper_page_for_an_old_style_id(reader, db):
    make_paper(arxiv_id="hep-th/9901001", title="Old style")

    response = reader.get("/papers/hep-th/9901001")

    assert "Old style" in response.text


def test_paper_page_of_an_unknown_id_is_404(reader, db):
    assert reader.get("/papers/2606.00000").status_code == 404


def test_author_page_lists_that_authors_papers(reader, db):
    make_paper(title="Hers", authors=["Ada Lovelace"])
    make_paper(title="Not hers", authors=["Ada Lovelacey"])

    response = reader.get("/papers/author/", {"name": "Ada Lovelace"})

    assert titles(response) == ["Hers"]


def test_archive_pages_through_everything_newest_first(reader, db):
    for n in range(27):
        make_paper(arxiv_id=f"2606.{n:05d}", title=f"P{n:02d}", day=DAY - timedelta(days=n))

    first = reader.get("/papers/all/")
    cursor = re.search(r'href="/papers/all/\?after=([^"]+)"', first.text).group(1)
    second = reader.get(f"/papers/all/?after={cursor}")

    assert titles(first)[:2] == ["P00", "P01"]
    assert titles(second) == ["P25", "P26"]


def test_feed_picks_a_day_from_the_date_field_and_survives_a_bad_one(reader, db):
    make_paper(title="Monday paper", day=DAY - timedelta(days=1))
    make_paper(title="Tuesday paper", day=DAY)

    picked = reader.get("/papers/", {"day": "2026-06-29"})
    bad = reader.get("/papers/", {"day": "2026-13-45"})

    assert titles(picked) == ["Monday paper"]
    assert bad.status_code == 200
    assert titles(bad) == ["Tuesday paper"]


def test_feed_shows_a_new_day_and_a_new_category_at_once_despite_its_cache(
    reader, db, django_capture_on_commit_callbacks
):
    from papers.models import Category

    make_paper(title="Monday's paper", day=date(2026, 6, 29))
    assert "Monday" in reader.get("/papers/").text  # the feed's frame is cached now

    with django_capture_on_commit_callbacks(execute=True):
        make_paper(title="Tuesday's paper", day=date(2026, 6, 30))
        Category.objects.create(code="q-bio.NC")
    page = reader.get("/papers/")

    assert "Tuesday&#x27;s paper" in page.text or "Tuesday's paper" in page.text
    assert 'value="q-bio.NC"' in page.text
    assert "Mon 29 Jun" in page.text  # the way back to the day before
