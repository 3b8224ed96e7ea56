"""The publication record: accepted drafts by year and venue, linked to their arXiv paper by hand
or by the hourly task."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lab_portal.models import Delivery
from papers.tests.factories import make_paper
from reviews import tasks
from reviews.models import Draft, DraftAuthor

from .factories import make_deadline, make_draft, make_venue

TODAY = datetime.now(UTC).date()


def accept(draft: Draft, *, on: datetime | None = None) -> Draft:
    Draft.objects.filter(pk=draft.pk).update(
        status=Draft.Status.ACCEPTED, status_changed_at=on or datetime.now(UTC)
    )
    draft.refresh_from_db()
    return draft


@pytest.fixture
def record(researcher, other_researcher, make_person):
    """Accepted drafts at two venues over two years, and drafts that are not accepted."""
    coauthor = make_person("yuna", display_name="Yuna Seo")
    iclr, neurips = make_venue(short_name="ICLR"), make_venue(short_name="NeurIPS")
    iclr_2026 = make_deadline(iclr, year=2026)
    neurips_2026 = make_deadline(neurips, year=2026)
    neurips_2025 = make_deadline(neurips, year=2025, paper_deadline=datetime(2025, 5, 15, 12, tzinfo=UTC))
    drafts = {
        "iclr": make_draft(researcher, deadline=iclr_2026, coauthors=[coauthor], title="Sparse attention"),
        "neurips": make_draft(researcher, deadline=neurips_2026, title="Dense retrieval", anonymous=True),
        "old": make_draft(coauthor, deadline=neurips_2025, title="Older result"),
        "rejected": make_draft(researcher, deadline=iclr_2026, title="Rejected idea"),
        "in review": make_draft(researcher, deadline=iclr_2026, title="Work in progress"),
    }
    DraftAuthor.objects.create(draft=drafts["iclr"], name="Grace Hopper", order=5)
    for name in ["iclr", "neurips", "old"]:
        accept(drafts[name])
    Draft.objects.filter(pk=drafts["rejected"].pk).update(status=Draft.Status.REJECTED)
    Draft.objects.filter(pk=drafts["in review"].pk).update(status=Draft.Status.IN_REVIEW)
    return drafts


def test_publications_are_grouped_by_year_and_venue(login, other_researcher, record):
    html = login(other_researcher).get(reverse("reviews:publications")).text

    order = [html.index(text) for text in ["2026", "ICLR", "Sparse attention", "NeurIPS", "Dense retrieval"]]
    assert order == sorted(order)
    assert html.index("Dense retrieval") < html.index("2025") < html.index("Older result")
    assert "Rejected idea" not in html
    assert "Work in progress" not in html


def test_publications_name_every_author_and_link_lab_members(login, other_researcher, researcher, record):
    html = login(other_researcher).get(reverse("reviews:publications")).text

    entry = html[html.index("Sparse attention") : html.index("Dense retrieval")]
    assert f'<a href="{researcher.get_absolute_url()}">Minji Kim</a>' in entry
    assert '<a href="/people/yuna/">Yuna Seo</a>, Grace Hopper' in entry
    # Acceptance made the authors public, anonymous review or not.
    anonymous = html[html.index("Dense retrieval") :]
    assert "Minji Kim" in anonymous[: anonymous.index("</li>")]


def test_the_draft_page_is_linked_only_for_those_who_may_see_it(
    login, other_researcher, researcher, lead, record
):
    url = record["iclr"].get_absolute_url()

    pages = {
        "author": login(researcher).get(reverse("reviews:publications")).text,
        "lead": login(lead).get(reverse("reviews:publications")).text,
        "other": login(other_researcher).get(reverse("reviews:publications")).text,
    }

    assert {who: f'href="{url}"' in page for who, page in pages.items()} == {
        "author": True,
        "lead": True,
        "other": False,
    }
    assert "Sparse attention" in pages["other"]


def test_the_arxiv_link_appears_once_linked(login, other_researcher, record):
    paper = make_paper(arxiv_id="2607.00042", title="Sparse attention")
    Draft.objects.filter(pk=record["iclr"].pk).update(paper=paper)

    html = login(other_researcher).get(reverse("reviews:publications")).text

    assert f'href="{paper.get_absolute_url()}">arXiv:2607.00042</a>' in html
    assert html.count("not on arXiv yet") == 2


def test_only_authors_and_leads_see_the_link_form(login, other_researcher, researcher, lead, record):
    forms = {
        who: login(person).get(reverse("reviews:publications")).text.count('name="arxiv_id"')
        for who, person in [("author", researcher), ("lead", lead), ("other", other_researcher)]
    }

    assert forms == {"author": 2, "lead": 3, "other": 0}


def test_publication_record_reads_a_fixed_number_of_queries(
    login, other_researcher, researcher, record, django_assert_max_num_queries
):
    client = login(other_researcher)
    client.get(reverse("reviews:publications"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("reviews:publications"))
    deadline = make_deadline(make_venue(short_name="CVPR"), year=2027)
    for number in range(10):
        draft = accept(make_draft(researcher, deadline=deadline, title=f"Accepted {number}"))
        Draft.objects.filter(pk=draft.pk).update(paper=make_paper(title=f"Accepted {number}"))

    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(reverse("reviews:publications")).text

    assert html.count('class="publication"') == 13


# ---- linking by hand ---------------------------------------------------------------------------


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def link(client, draft, arxiv_id):
    return client.post(reverse("reviews:publication-link", args=[draft.pk]), {"arxiv_id": arxiv_id})


def test_an_author_links_the_arxiv_paper_by_id(login, researcher, record):
    paper = make_paper(arxiv_id="2607.00042", title="Sparse attention, the arXiv version")
    client = login(researcher)

    response = link(client, record["iclr"], "arXiv:2607.00042v2")

    record["iclr"].refresh_from_db()
    assert response.status_code == 302
    assert record["iclr"].paper == paper
    assert said(response) == ["“Sparse attention” is linked to arXiv:2607.00042."]
    # The co-author hears of it; the one who linked it knows already.
    told = Delivery.objects.filter(dedupe_key=f"draft-published:{record['iclr'].pk}")
    assert [d.channel.person.username for d in told] == ["yuna"]


def test_a_lead_links_any_accepted_draft(login, lead, record):
    paper = make_paper(arxiv_id="2607.00043")

    link(login(lead), record["old"], "https://arxiv.org/abs/2607.00043")

    record["old"].refresh_from_db()
    assert record["old"].paper == paper


def test_an_id_not_in_the_store_changes_nothing_and_says_why(login, researcher, record):
    response = link(login(researcher), record["iclr"], "2607.99999")

    record["iclr"].refresh_from_db()
    assert record["iclr"].paper is None
    assert said(response) == [
        "arXiv:2607.99999 is not in the paper store yet; it will be linked automatically when it is fetched."
    ]


def test_a_malformed_id_is_refused(login, researcher, record):
    response = link(login(researcher), record["iclr"], "not an id")

    record["iclr"].refresh_from_db()
    assert record["iclr"].paper is None
    assert said(response) == ["“not an id” is not an arXiv id such as 2406.01234."]


def test_others_may_not_link(client, login, other_researcher, reviewer, researcher, record):
    make_paper(arxiv_id="2607.00042")
    record["iclr"].assignments.create(reviewer=reviewer, due=TODAY)
    link_url = reverse("reviews:publication-link", args=[record["iclr"].pk])

    answers = {
        "other researcher": link(login(other_researcher), record["iclr"], "2607.00042").status_code,
        "its reviewer": link(login(reviewer), record["iclr"], "2607.00042").status_code,
        "author, draft not accepted": link(login(researcher), record["in review"], "2607.00042").status_code,
        "author, missing draft": link(login(researcher), Draft(pk=99999), "2607.00042").status_code,
        "author, by GET": login(researcher).get(link_url).status_code,
    }

    assert answers == {
        "other researcher": 403,
        "its reviewer": 403,
        "author, draft not accepted": 404,
        "author, missing draft": 404,
        "author, by GET": 405,
    }
    assert Draft.objects.filter(paper__isnull=False).count() == 0


# ---- linking by the hourly task ----------------------------------------------------------------


@pytest.fixture
def accepted(researcher, make_person):
    researcher.arxiv_names = ["Kim, Min-ji", "M. Kim"]
    researcher.save()
    coauthor = make_person("yuna", display_name="Yuna Seo")
    draft = make_draft(
        researcher, coauthors=[coauthor], title="Müller's Self-Supervised  Transformers: a Study"
    )
    return accept(draft)


def run_task() -> int:
    return tasks.link_publications.delay().get()


def test_the_task_links_a_paper_with_the_same_title_and_a_lab_author(accepted):
    make_paper(title="A study of something else", authors=["Minji Kim"], day=TODAY)
    paper = make_paper(
        arxiv_id="2611.01234",
        title="Muller's self-supervised transformers - a study",
        authors=["Ada Lovelace", "Minji Kim"],
        day=TODAY,
    )

    linked = run_task()

    accepted.refresh_from_db()
    assert linked == 1
    assert accepted.paper == paper
    told = Delivery.objects.filter(dedupe_key=f"draft-published:{accepted.pk}")
    assert sorted(d.channel.person.username for d in told) == ["minji", "yuna"]
    assert told[0].payload["url"] == paper.get_absolute_url()


def test_the_task_matches_authors_by_their_arxiv_names(accepted):
    paper = make_paper(title=accepted.title, authors=["Ada Lovelace", "Min-Ji Kim"], day=TODAY)

    run_task()

    accepted.refresh_from_db()
    assert accepted.paper == paper


def test_the_task_is_idempotent(accepted):
    make_paper(title=accepted.title, authors=["Yuna Seo"], day=TODAY)

    first, second = run_task(), run_task()

    assert (first, second) == (1, 0)
    assert Delivery.objects.filter(dedupe_key=f"draft-published:{accepted.pk}").count() == 2


def test_the_same_title_without_a_lab_author_is_not_linked(accepted):
    make_paper(title=accepted.title, authors=["Ada Lovelace", "Alan Turing"], day=TODAY)

    linked = run_task()

    accepted.refresh_from_db()
    assert linked == 0
    assert accepted.paper is None
    assert not Delivery.objects.filter(dedupe_key__startswith="draft-published:").exists()


def test_a_paper_from_long_before_the_draft_is_not_linked(accepted):
    make_paper(title=accepted.title, authors=["Minji Kim"], day=TODAY - timedelta(days=400))

    assert run_task() == 0


def test_drafts_not_accepted_are_never_linked_or_listed(login, other_researcher, researcher):
    rejected = make_draft(researcher, title="A rejected paper", status=Draft.Status.REJECTED)
    submitted = make_draft(researcher, title="A submitted paper", status=Draft.Status.SUBMITTED)
    make_paper(title="A rejected paper", authors=["Minji Kim"], day=TODAY)
    make_paper(title="A submitted paper", authors=["Minji Kim"], day=TODAY)

    linked = run_task()
    html = login(other_researcher).get(reverse("reviews:publications")).text

    assert linked == 0
    assert Draft.objects.filter(pk__in=[rejected.pk, submitted.pk], paper__isnull=False).count() == 0
    assert "A rejected paper" not in html and "A submitted paper" not in html


def test_a_draft_linked_by_hand_keeps_its_paper(accepted):
    mine = make_paper(arxiv_id="2611.00001", title="Another title", authors=["Minji Kim"], day=TODAY)
    Draft.objects.filter(pk=accepted.pk).update(paper=mine)
    make_paper(title=accepted.title, authors=["Minji Kim"], day=TODAY)

    linked = run_task()

    accepted.refresh_from_db()
    assert linked == 0
    assert accepted.paper == mine


def test_a_withdrawn_paper_is_not_linked(accepted):
    paper = make_paper(title=accepted.title, authors=["Minji Kim"], day=TODAY)
    paper.withdrawn = True
    paper.save(update_fields=["withdrawn"])

    assert run_task() == 0


def test_the_status_change_dates_the_acceptance(login, other_researcher, accepted):
    accept(accepted, on=datetime(2026, 9, 2, 23, 0, tzinfo=UTC))

    html = login(other_researcher).get(reverse("reviews:publications")).text

    assert "accepted 3 Sep 2026" in html  # in the viewer's zone, Seoul
