"""The new-draft form and a draft's one due date in a real browser, at desktop and phone width, in
English and Korean: deadlines are offered with their dates, the co-authors' help is readable and
claims no order, and once a lead opens a round the draft page shows the round's due date only."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from e2e.test_speakers import WIDTHS, log_in, words
from lab_portal.models import User
from reviews.forms import deadline_choice
from reviews.models import Draft
from reviews.tests.factories import make_deadline, make_venue, pdf_bytes

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "language"), [("desktop", "en"), ("phone", "ko")])
def test_author_files_a_draft_and_sees_its_rounds_due_date(
    live_server, open_page, make_person, width, language
):
    base = live_server.url
    make_person("minji", display_name="Minji Kim", language=language)
    make_person("yuna", display_name="Yuna Choi")
    make_person("jiwoo", display_name="Jiwoo Park", role=User.Role.LEAD, language=language)
    deadline = make_deadline(
        make_venue(short_name="NeurIPS"),
        paper_deadline=datetime.now(UTC).replace(hour=11, minute=59, second=0, microsecond=0)
        + timedelta(days=60),
    )
    with translation.override(language):
        offered = deadline_choice(deadline)
    author = open_page(WIDTHS[width], language)
    log_in(author, base, "minji")

    author.goto(f"{base}/reviews/drafts/new/")
    form = author.locator("main form")
    form.locator("[name=title]").fill("Sparse attention at scale")
    form.locator("[name=abstract]").fill("Sparse attention for long contexts, $O(n \\sqrt{n})$.")
    assert "AoE" in offered and str(deadline.local_paper_deadline.year) in offered
    form.locator("select[name=deadline]").select_option(label=offered)
    form.locator("select[name=coauthors]").select_option(label="Yuna Choi")
    expect(author.locator("#id_outside_authors_helptext")).to_contain_text("<")
    form.locator("[name=outside_authors]").fill("Grace Hopper <grace@navy.example.org>\nAlan Turing")
    form.locator("[name=pdf]").set_input_files(
        {"name": "draft.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    )
    form.get_by_role("button", name=words(language, "Save the draft")).click()

    expect(author.locator(".messages")).to_contain_text(
        words(language, "Your draft is saved with its first version.")
    )
    expect(author.locator("p.paper-authors")).to_contain_text("Alan Turing, Grace Hopper")
    expect(author.locator("p.paper-authors")).to_contain_text("Minji Kim, Yuna Choi")
    expect(author.locator("p.paper-authors")).to_contain_text(
        words(language, "by name; the author order is in the PDF")
    )
    draft = Draft.objects.get()
    reviews_due = author.locator("dl.facts time.reviews-due")
    expect(reviews_due).to_have_attribute("datetime", draft.review_by.isoformat())
    author.locator("select[name=status]").select_option(Draft.Status.IN_REVIEW)
    author.get_by_role("button", name=words(language, "Change status")).click()

    lead = open_page(WIDTHS[width], language)
    log_in(lead, base, "jiwoo")
    lead.goto(f"{base}/reviews/rounds/new/")
    due = timezone.localdate() + timedelta(days=5)
    lead.locator("[name=name]").fill("NeurIPS internal review")
    lead.locator(f"input[name=drafts][value='{draft.pk}']").check()
    lead.locator("[name=reviewers_per_draft]").fill("1")
    lead.locator("[name=max_load]").fill("1")
    lead.locator("[name=due]").fill(due.isoformat())
    lead.get_by_role("button", name=words(language, "Open and plan")).click()
    expect(lead.locator(".messages")).to_contain_text(
        words(language, "The round is open; here is the best assignment for it.")
    )

    author.reload()
    expect(reviews_due).to_have_attribute("datetime", due.isoformat())
    expect(author.locator("dl.facts time")).to_have_count(1)
