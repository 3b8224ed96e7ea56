"""The new-draft form as a browser shows it: deadlines with their dates, help texts escaped,
co-authors not ranked."""

from datetime import UTC, datetime

import lxml.html
import pytest
from django.urls import reverse

from reviews.tests.factories import make_deadline, make_venue

pytestmark = pytest.mark.django_db

# 23:59 Anywhere on Earth on 15 May 2027.
MAY_15_AOE = datetime(2027, 5, 16, 11, 59, tzinfo=UTC)


def form_of(html: str):
    return lxml.html.fromstring(html).xpath("//main//form[@enctype='multipart/form-data']")[0]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "NeurIPS 2027 · papers due 15 May 2027 23:59 AoE"),
        ("ko", "NeurIPS 2027 · 논문 마감 2027년 5월 15일 23:59 AoE"),
    ],
)
def test_draft_form_offers_each_deadline_with_its_date(login, researcher, language, expected):
    researcher.language = language
    researcher.save()
    make_deadline(make_venue(short_name="NeurIPS"), paper_deadline=MAY_15_AOE, year=2027)

    page = login(researcher).get(reverse("reviews:new-draft"))

    options = form_of(page.text).xpath(".//select[@name='deadline']/option")
    assert [option.text_content() for option in options[1:]] == [expected]


def test_draft_form_help_text_shows_the_e_mail_placeholder_as_text(login, researcher):
    page = login(researcher).get(reverse("reviews:new-draft"))

    help_text = form_of(page.text).xpath(".//*[@id='id_outside_authors_helptext']")[0]
    assert help_text.text_content() == "One per line: Name <e-mail>, or just the name."
    assert "Name &lt;e-mail&gt;" in page.text


def test_draft_form_does_not_claim_an_author_order(login, researcher):
    page = login(researcher).get(reverse("reviews:new-draft"))

    help_text = form_of(page.text).xpath(".//*[@id='id_coauthors_helptext']")[0].text_content()
    assert "order" in help_text and "PDF" in help_text
    assert "first author" not in page.text
