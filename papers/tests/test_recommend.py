"""Recommendations: trained per person from their library after a fetch, shown on the dashboard."""

import random
from datetime import date, timedelta

import pytest
from django.utils import timezone

from conftest import wait_until_idle
from lab_portal.celery import app
from papers.models import Bookmark, FetchRun, Recommendation, RecommenderState, Tag
from papers.recommend import libraries_of, train_recommendations
from papers.services import mark_not_for_me
from papers.tests.factories import make_paper

pytestmark = pytest.mark.django_db

DAY = date(2026, 6, 30)
TOPICS = {
    "diffusion": "diffusion denoising score sampler noise schedule image generation guidance latent "
    "text-to-image DDPM reverse process",
    "graphs": "graph neural network node edge message passing molecule link prediction spectral",
    "robots": "reinforcement learning policy reward robot manipulation agent exploration control",
    "speech": "speech recognition audio acoustic speaker phoneme transcription waveform",
    "databases": "database query optimizer index transaction join relational storage",
    "compilers": "compiler program loop vectorization register allocation intermediate representation",
}


def abstract(topic: str, rng: random.Random) -> str:
    words = TOPICS[topic].split()
    return " ".join(rng.choices(words, k=30)) + " with strong experiments."


def papers_about(topic: str, count: int, *, day: date, rng: random.Random, **fields) -> list:
    return [
        make_paper(
            title=f"{topic.title()} {' '.join(rng.sample(TOPICS[topic].split(), 3))}",
            abstract=abstract(topic, rng),
            day=day,
            **fields,
        )
        for _ in range(count)
    ]


@pytest.fixture
def lab():
    """Thirty days of mixed papers before DAY, and DAY's new papers: three per topic."""
    rng = random.Random(7)
    history = {topic: [] for topic in TOPICS}
    for n in range(24):
        for topic in TOPICS:
            history[topic] += papers_about(topic, 1, day=DAY - timedelta(days=1 + n), rng=rng)
    today = {topic: papers_about(topic, 3, day=DAY, rng=rng) for topic in TOPICS}
    return history, today


@pytest.fixture
def run(db):
    return FetchRun.objects.create(status=FetchRun.Status.SUCCEEDED, finished_at=timezone.now(), new_count=18)


def bookmark(person, papers, *, tag: str = ""):
    for paper in papers:
        saved = Bookmark.objects.create(user=person, paper=paper)
        if tag:
            saved.tags.add(Tag.objects.get_or_create(user=person, name=tag)[0])


def test_diffusion_library_ranks_the_days_diffusion_papers_first(lab, run, researcher):
    history, today = lab
    bookmark(researcher, history["diffusion"][:4])
    bookmark(researcher, history["diffusion"][4:7], tag="generative")

    summary = train_recommendations.delay(run_id=run.pk).get()

    ranked = list(Recommendation.objects.for_day(researcher, DAY).select_related("paper"))
    diffusion = {paper.pk for paper in today["diffusion"]}
    assert summary == {"run_id": run.pk, "day": "2026-06-30", "people": 1, "recommendations": len(ranked)}
    assert len(ranked) == 18  # every new paper, fewer than TOP_K
    assert {rec.paper_id for rec in ranked[:3]} == diffusion
    assert min(rec.score for rec in ranked[:3]) > 0.5 > max(rec.score for rec in ranked[3:])
    assert all(0 <= rec.score <= 1 for rec in ranked)
    # The reasons name terms of the library's topic (unsaved diffusion papers are negatives too,
    # so the words that tell the saved ones apart carry the weight).
    for rec in ranked[:3]:
        terms = rec.reason.partition("about ")[2].split(", ")
        assert terms and set(terms) <= set(TOPICS["diffusion"].lower().replace("-", " ").split())
    state = RecommenderState.objects.get(person=researcher)
    assert state.library_size == 7 and state.error == "" and state.trained_at is not None
    assert len(state.top_terms) == 12
    assert {term for term, _weight in state.top_terms[:5]} <= set(
        TOPICS["diffusion"].lower().replace("-", " ").split()
    )


def test_reason_names_a_close_library_paper(run, researcher):
    rng = random.Random(3)
    for n in range(10):
        papers_about("graphs", 2, day=DAY - timedelta(days=n + 1), rng=rng)
    twin_text = "Latent diffusion sampler with a cosine noise schedule for text-to-image generation"
    saved = make_paper(title=twin_text, abstract=twin_text, day=DAY - timedelta(days=40))
    bookmark(researcher, [saved, *papers_about("diffusion", 3, day=DAY - timedelta(days=50), rng=rng)])
    twin = make_paper(title="A twin " + twin_text, abstract=twin_text, day=DAY)
    papers_about("graphs", 3, day=DAY, rng=rng)

    train_recommendations.delay(run_id=run.pk)

    top = Recommendation.objects.for_day(researcher, DAY).first()
    assert top.paper == twin
    assert top.reason.startswith(f"like “{twin_text}”; about ")


def test_empty_library_gets_nothing_and_no_error(lab, run, researcher, other_researcher):
    history, _today = lab
    bookmark(other_researcher, history["robots"][:2])  # two papers: too few to learn from

    train_recommendations.delay(run_id=run.pk)

    assert not Recommendation.objects.exists()
    states = {s.person_id: s for s in RecommenderState.objects.all()}
    assert states[researcher.pk].library_size == 0 and states[other_researcher.pk].library_size == 2
    assert all(s.error == "" and s.trained_at is None for s in states.values())


def test_authored_papers_count_through_arxiv_names(lab, run, make_person):
    history, today = lab
    author = make_person("jwha", arxiv_names=["Jung-Woo Ha", "Zoë Ñúñez"])
    written = [
        *(make_paper(title=p.title, abstract=p.abstract, authors=["Jungwoo Há"], day=p.first_announced)
          for p in history["speech"][:2]),
        make_paper(title="Speech", abstract=abstract("speech", random.Random(1)), authors=["Ha, Jung-woo"],
                   day=DAY - timedelta(days=3)),
        make_paper(title="Audio", abstract=abstract("speech", random.Random(2)),
                   authors=["A. Person", "Zoe Nunez"], day=DAY - timedelta(days=4)),
    ]  # fmt: skip
    make_paper(title="Not mine", authors=["Jung-Woo Han"], day=DAY - timedelta(days=5))

    assert libraries_of([author]) == {author.pk: dict.fromkeys((p.pk for p in written), 2.0)}
    train_recommendations.delay(run_id=run.pk)

    ranked = list(Recommendation.objects.for_day(author, DAY))
    assert {rec.paper_id for rec in ranked[:3]} == {paper.pk for paper in today["speech"]}
    assert RecommenderState.objects.get(person=author).library_size == 4


def test_running_again_updates_in_place_and_removes_what_fell_out(lab, run, researcher):
    history, _today = lab
    bookmark(researcher, history["graphs"][:5])
    train_recommendations.delay(run_id=run.pk)
    first = sorted(Recommendation.objects.values_list("pk", "paper_id", "score", "reason"))

    train_recommendations.delay(run_id=run.pk)

    assert sorted(Recommendation.objects.values_list("pk", "paper_id", "score", "reason")) == first
    stale = history["robots"][0]  # e.g. ranked on a run whose papers were then re-dated
    Recommendation.objects.create(person=researcher, paper=stale, score=0.99, day=DAY, reason="old")
    train_recommendations.delay(run_id=run.pk)
    assert not Recommendation.objects.filter(paper=stale).exists()
    assert Recommendation.objects.count() == len(first)


def test_task_queues_nothing_after_it(lab, run, researcher, django_capture_on_commit_callbacks):
    # What follows training (matching again) is queued with it, by papers/tasks.py's after_fetch.
    bookmark(researcher, lab[0]["robots"][:3])

    with django_capture_on_commit_callbacks() as queued:
        train_recommendations.apply(kwargs={"run_id": run.pk})

    assert queued == []
    assert Recommendation.objects.filter(person=researcher).count() == 18


def test_task_for_a_gone_run_does_nothing(lab, researcher):
    bookmark(researcher, lab[0]["robots"][:3])

    assert train_recommendations.delay(run_id=999).get() is None

    assert not Recommendation.objects.exists() and not RecommenderState.objects.exists()


@pytest.fixture(scope="session")
def recommend_queue(start_celery_worker):
    return start_celery_worker(include=["papers.recommend"])


@pytest.mark.redis
def test_task_on_a_real_worker_writes_rows_once(transactional_db, recommend_queue, team, make_person):
    queue, _log = recommend_queue
    person = make_person("minji", team=team)
    rng = random.Random(5)
    for n in range(8):
        papers_about("robots", 1, day=DAY - timedelta(days=n + 1), rng=rng)
        papers_about("databases", 1, day=DAY - timedelta(days=n + 1), rng=rng)
    bookmark(person, papers_about("databases", 4, day=DAY - timedelta(days=40), rng=rng))
    today = papers_about("databases", 2, day=DAY, rng=rng) + papers_about("robots", 2, day=DAY, rng=rng)
    run = FetchRun.objects.create(status=FetchRun.Status.SUCCEEDED, finished_at=timezone.now())
    app.conf.task_always_eager = False
    try:
        first = app.send_task("papers.train_recommendations", kwargs={"run_id": run.pk}, queue=queue)
        assert first.get(timeout=60)["recommendations"] == 4
        rows = sorted(Recommendation.objects.values_list("pk", "paper_id", "score"))
        again = app.send_task("papers.train_recommendations", kwargs={"run_id": run.pk}, queue=queue)
        assert again.get(timeout=60)["recommendations"] == 4
    finally:
        app.conf.task_always_eager = True
        wait_until_idle(queue)

    assert sorted(Recommendation.objects.values_list("pk", "paper_id", "score")) == rows
    ranked = [rec.paper_id for rec in Recommendation.objects.for_day(person, DAY)]
    assert set(ranked[:2]) == {today[0].pk, today[1].pk}


# The dashboard ----------------------------------------------------------------------------------


def test_dashboard_shows_for_you_with_reasons_to_its_owner_only(
    lab, run, login, researcher, other_researcher
):
    bookmark(researcher, lab[0]["diffusion"][:5])
    train_recommendations.delay(run_id=run.pk)
    top = Recommendation.objects.for_day(researcher, DAY).select_related("paper").first()

    mine = login(researcher).get("/").text
    theirs = login(other_researcher).get("/").text

    assert "For you" in mine and top.paper.title in mine
    assert top.reason and top.reason.replace("“", "&ldquo;")[:20] in mine.replace("“", "&ldquo;")
    assert mine.count('class="recommendation"') == 5
    assert 'class="recommendation"' not in theirs
    assert "Nothing ranked for you today." in theirs


def test_dashboard_escapes_reasons(run, login, researcher):
    paper = make_paper(title="A paper", day=DAY)
    Recommendation.objects.create(person=researcher, paper=paper, score=0.9, day=DAY, reason="<b>bold</b>")

    html = login(researcher).get("/").text

    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html


def test_dashboard_query_count_does_not_grow_with_recommendations(
    login, researcher, django_assert_num_queries, django_assert_max_num_queries
):
    papers = [make_paper(title=f"Paper {n}", day=DAY) for n in range(12)]
    Recommendation.objects.create(person=researcher, paper=papers[0], score=0.9, day=DAY, reason="about x")
    client = login(researcher)
    client.get("/")
    with django_assert_max_num_queries(50) as one:
        client.get("/")
    for n, paper in enumerate(papers[1:]):
        Recommendation.objects.create(
            person=researcher, paper=paper, score=0.5 - n / 100, day=DAY, reason="y"
        )

    with django_assert_num_queries(len(one.captured_queries)):
        html = client.get("/").text

    assert html.count('class="recommendation"') == 5


def test_nothing_to_contrast_with_is_recorded_on_the_state_not_raised(run, researcher):
    rng = random.Random(9)
    bookmark(researcher, papers_about("compilers", 3, day=DAY - timedelta(days=2), rng=rng))
    papers_about("compilers", 2, day=DAY, rng=rng)  # the portal holds nothing else

    summary = train_recommendations.delay(run_id=run.pk).get()

    state = RecommenderState.objects.get(person=researcher)
    assert summary["people"] == 0 and not Recommendation.objects.exists()
    assert state.error == "ValueError: no recent papers outside the library to learn from"
    assert state.library_size == 3 and state.trained_at is None


def test_not_for_me_papers_are_learned_as_negatives_and_never_recommended(lab, run, researcher):
    history, today = lab
    bookmark(researcher, history["diffusion"][:4] + history["speech"][:4])
    train_recommendations.delay(run_id=run.pk).get()
    before = {r.paper_id: r.score for r in Recommendation.objects.for_day(researcher, DAY)}
    rejected = today["speech"][0]

    for paper in [*history["speech"][4:14], rejected]:
        mark_not_for_me(paper, person=researcher)
    gone_at_once = not Recommendation.objects.filter(person=researcher, paper=rejected).exists()
    train_recommendations.delay(run_id=run.pk).get()

    after = {r.paper_id: r.score for r in Recommendation.objects.for_day(researcher, DAY)}
    assert rejected.pk in before and gone_at_once and rejected.pk not in after
    assert all(after[paper.pk] < before[paper.pk] for paper in today["speech"][1:])
    assert min(after[p.pk] for p in today["diffusion"]) > max(after[p.pk] for p in today["speech"][1:])
