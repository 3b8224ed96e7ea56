"""Pre-submission review in a real browser: an author uploads a draft, the lead opens and publishes
a round, the reviewer writes (autosaved) and submits a review, the author reads it next to the
version it reviewed."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from e2e.test_seminars import logged_in_page  # noqa: F401 (a fixture)
from lab_portal.models import User
from reviews import reviewing, services
from reviews.models import Draft, Review, ReviewAssignment
from reviews.tests.factories import make_deadline, make_draft, make_venue, pdf_bytes, pdf_upload
from reviews.uploads import check_pdf

pytestmark = pytest.mark.browser


def test_draft_round_review_and_the_author_reads_it(live_server, logged_in_page, make_person):  # noqa: F811
    base = live_server.url
    make_person("minji", display_name="Minji Kim")
    make_person("jiwoo", display_name="Jiwoo Park", role=User.Role.LEAD)
    # The reviewer works on sparse attention: the solver picks her over the lead, who does not.
    make_person(
        "sora", display_name="Sora Han", research_interests="sparse attention, long-context transformers"
    )
    make_deadline(make_venue(short_name="NeurIPS", name="Neural Information Processing Systems"))

    author = logged_in_page("minji")
    author.goto(f"{base}/reviews/drafts/new/")
    author.get_by_label("Title").fill("Sparse attention at scale")
    author.get_by_label("Abstract").fill("Sparse attention for long-context transformers, $O(n \\sqrt{n})$.")
    author.get_by_label("Target deadline").select_option(index=1)
    author.get_by_label("PDF").set_input_files(
        {"name": "draft.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    )
    author.get_by_role("button", name="Save the draft").click()
    expect(author.locator(".messages")).to_contain_text("Your draft is saved with its first version.")
    author.locator("select[name=status]").select_option(Draft.Status.IN_REVIEW)
    author.get_by_role("button", name="Change status").click()
    expect(author.locator(".messages")).to_contain_text("In review")
    draft = Draft.objects.get()

    lead = logged_in_page("jiwoo")
    lead.goto(f"{base}/reviews/rounds/new/")
    lead.get_by_label("Name").fill("NeurIPS internal review")
    lead.get_by_label("Sparse attention at scale").check()
    lead.get_by_label("Reviewers per draft").fill("1")
    lead.get_by_label("Most reviews per person").fill("1")
    lead.get_by_label("Reviews due").fill((timezone.localdate() + timedelta(days=7)).isoformat())
    lead.get_by_role("button", name="Open and plan").click()
    assignment = lead.locator("table.runs tbody tr")
    expect(assignment).to_have_count(1)
    expect(assignment).to_contain_text("Sora Han")
    lead.get_by_role("button", name="Publish and notify reviewers").click()
    expect(lead.locator(".messages")).to_contain_text("Published: 1 reviewers are notified.")

    reviewer = logged_in_page("sora")
    reviewer.goto(f"{base}/")
    reviewer.locator("#panel-reviews").locator("..").get_by_role(
        "link", name="Sparse attention at scale"
    ).click()
    if "/review/" not in reviewer.url:  # the panel may link the draft page; its panel links the form
        reviewer.get_by_role("link", name="Write your review").click()
    expect(reviewer.get_by_role("heading", level=1)).to_contain_text("Review of “Sparse attention at scale”")
    reviewer.get_by_label("Summary").fill("Block-sparse attention that scales to 1M tokens.")
    # Typing saves by itself (htmx, a second after the last key).
    expect(reviewer.locator("#review-status")).to_contain_text("Saved", timeout=10_000)
    assert Review.objects.get().summary == "Block-sparse attention that scales to 1M tokens."
    reviewer.get_by_label("Strengths").fill("- Clear complexity analysis")
    reviewer.get_by_label("Weaknesses").fill("- No comparison with <b>linear</b> attention")
    for score in ("Soundness", "Novelty", "Clarity"):
        reviewer.get_by_label(score).select_option("3")
    reviewer.get_by_label("Overall").select_option("4")
    reviewer.get_by_label("Confidence").select_option("4")
    reviewer.get_by_role("button", name="Submit review").click()
    expect(reviewer.locator("main")).to_contain_text("Your review is submitted")

    author.goto(f"{base}{draft.get_absolute_url()}")
    review = author.locator(".review-card")
    expect(review).to_contain_text("Sora Han")
    expect(review).to_contain_text("Block-sparse attention that scales to 1M tokens.")
    expect(review).to_contain_text("No comparison with <b>linear</b> attention")  # shown, not run
    expect(review.get_by_role("link", name="read version v1")).to_have_attribute(
        "href", draft.versions.get(number=1).get_absolute_url()
    )


def test_the_older_tab_is_told_its_autosave_was_refused(live_server, logged_in_page, make_person):  # noqa: F811
    """Two tabs on one review: the newer one saves; the older one's autosave is refused (409) and
    the page says so in its status line, and what the newer tab saved stays."""
    author = make_person("minji", display_name="Minji Kim")
    reviewer = make_person("sora", display_name="Sora Han")
    draft = make_draft(author, reviewers=[reviewer], title="Sparse attention at scale", status="in_review")
    url = f"{live_server.url}/reviews/drafts/{draft.pk}/review/"
    older = logged_in_page("sora")
    older.goto(url)
    newer = older.context.new_page()
    newer.goto(url)

    newer.get_by_label("Summary").fill("Written in the newer tab.")
    expect(newer.locator("#review-status")).to_contain_text("Saved at")
    with older.expect_response(lambda response: "/autosave/" in response.url) as answer:
        older.get_by_label("Summary").fill("Written in the older tab.")

    assert answer.value.status == 409
    status = older.locator("#review-status")
    expect(status).to_contain_text(
        "This review was saved from another window or tab. Nothing was overwritten."
    )
    expect(status.get_by_role("link", name="Reload the page")).to_have_attribute(
        "href", f"/reviews/drafts/{draft.pk}/review/"
    )
    assert Review.objects.get().summary == "Written in the newer tab."
    # The page keeps its old revision, so typing on is refused as well until it is reloaded.
    with older.expect_response(lambda response: "/autosave/" in response.url) as again:
        older.get_by_label("Summary").fill("Written in the older tab, still.")
    assert again.value.status == 409
    expect(status).to_contain_text("Nothing was overwritten.")
    assert Review.objects.get().summary == "Written in the newer tab."
    older.reload()
    expect(older.get_by_label("Summary")).to_have_value("Written in the newer tab.")


def test_reviewer_moves_a_started_review_to_the_newest_version(live_server, logged_in_page, make_person):  # noqa: F811
    author = make_person("minji", display_name="Minji Kim")
    reviewer = make_person("sora", display_name="Sora Han")
    draft = make_draft(author, reviewers=[reviewer], title="Sparse attention at scale")
    assignment = ReviewAssignment.objects.get(draft=draft)
    reviewing.save_review(assignment, fields={"summary": "Block-sparse attention."}, revision=0)
    for note in ("New experiments in section 5", "Fixed the proof of Lemma 2"):
        upload = pdf_upload()
        services.add_version(draft, upload=upload, checked=check_pdf(upload), note=note, by=author)
    page = logged_in_page("sora")

    page.goto(f"{live_server.url}/reviews/drafts/{draft.pk}/review/")
    notice = page.locator(".review-newer")
    expect(notice.locator("li")).to_have_count(2)
    notice.get_by_role("button", name="Move my review to v3").click()

    expect(page.locator(".messages")).to_contain_text("Your review is now of version 3.")
    expect(page.locator(".review-newer")).to_have_count(0)
    review = Review.objects.get()
    assert (review.version.number, review.summary) == (3, "Block-sparse attention.")


def test_a_lead_plans_a_round_another_lead_opened(live_server, logged_in_page, make_person):  # noqa: F811
    import os
    from pathlib import Path

    from reviews.rounds import open_round
    from reviews.tests.factories import make_draft

    opener = make_person("jiwoo", display_name="Jiwoo Park", role=User.Role.LEAD)
    make_person("hyejin", display_name="Hyejin Cho", role=User.Role.LEAD)
    authors = [make_person(f"writer{n}", display_name=f"Writer {n}") for n in range(2)]
    drafts = [
        make_draft(a, status=Draft.Status.IN_REVIEW, title=f"Draft by {a.display_name}") for a in authors
    ]
    round = open_round(
        by=opener, drafts=drafts, name="ICLR internal", reviewers_per_draft=1, max_load=2, min_load=0,
        due=timezone.localdate() + timedelta(days=7),
    )  # fmt: skip

    lead = logged_in_page("hyejin")
    lead.goto(f"{live_server.url}{round.get_absolute_url()}")
    expect(lead.locator("table.runs tbody tr")).to_contain_text("No pairs.")
    expect(lead.get_by_role("button", name="Publish and notify reviewers")).to_have_count(0)
    lead.get_by_role("button", name="Plan the assignment").click()

    expect(lead.locator("table.runs tbody tr")).to_have_count(2)
    expect(lead.get_by_role("button", name="Publish and notify reviewers")).to_be_visible()
    User.objects.filter(username="hyejin").update(language="ko")
    lead.reload()
    expect(lead.get_by_role("button", name="공개하고 리뷰어에게 알리기")).to_be_visible()
    if not (shots := os.environ.get("SCREENSHOTS")):  # a directory to look at the page in both languages
        return
    for language in ("en", "ko"):
        User.objects.filter(username="hyejin").update(language=language)
        for width in (1280, 390):
            lead.set_viewport_size({"width": width, "height": 900})
            lead.reload()
            lead.screenshot(path=str(Path(shots) / f"round-{language}-{width}.png"), full_page=True)
