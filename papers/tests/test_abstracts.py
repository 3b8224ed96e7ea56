"""Abstracts in the paper lists: a few lines of each until opened in place, or whole for a person
who chose so; the choice is theirs, kept on the server. Reaction buttons say what they are."""

import re
from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from lab_portal.models import User
from papers.tests.factories import make_paper

DAY = date(2026, 6, 30)
ABSTRACT = r"We propose \textbf{X-Net}, which is \emph{fast}: $O(n)$ and \method."


@pytest.fixture
def reader(login, researcher):
    return login(researcher)


def abstract_boxes(html: str) -> list[str]:
    return re.findall(r"<details class=\"abstract-box[^\"]*\"[^>]*>", html)


def test_feed_shows_each_abstract_folded_with_its_latex_as_text(reader, db):
    make_paper(title="X-Net", abstract=ABSTRACT, day=DAY)

    html = reader.get(reverse("papers:index")).content.decode()

    assert abstract_boxes(html) == ['<details class="abstract-box">']
    assert "<strong>X-Net</strong>" in html and "<em>fast</em>" in html
    assert '<span class="tex" data-tex="O(n)">$O(n)$</span>' in html
    assert r"\method" in html  # unknown: shown as the author wrote it
    assert r"\textbf" not in html and r"\emph" not in html


def test_feed_shows_abstracts_whole_for_a_person_who_chose_so(reader, researcher, db):
    make_paper(abstract=ABSTRACT, day=DAY)
    researcher.expand_abstracts = True
    researcher.save()

    html = reader.get(reverse("papers:index")).content.decode()

    assert abstract_boxes(html) == ['<details class="abstract-box" open>']
    assert "Show a few lines of each abstract" in html


def test_abstracts_choice_is_saved_and_the_page_comes_back(reader, researcher, db):
    make_paper(abstract=ABSTRACT, day=DAY)

    response = reader.post(reverse("papers:abstracts"), {"expanded": "1", "next": "/papers/?q=net"})

    assert response.status_code == 302
    assert response["Location"] == "/papers/?q=net"
    researcher.refresh_from_db()
    assert researcher.expand_abstracts is True
    again = reader.post(reverse("papers:abstracts"), {"expanded": "0", "next": "/papers/"})
    researcher.refresh_from_db()
    assert again["Location"] == "/papers/"
    assert researcher.expand_abstracts is False


def test_abstracts_choice_changes_only_the_persons_own(reader, researcher, other_researcher, db):
    other_researcher.expand_abstracts = True
    other_researcher.save()

    reader.post(reverse("papers:abstracts"), {"expanded": "0"})

    assert User.objects.get(pk=other_researcher.pk).expand_abstracts is True


def test_abstracts_choice_refuses_a_bad_value_and_keeps_the_old_one(reader, researcher, db):
    researcher.expand_abstracts = True
    researcher.save()

    response = reader.post(reverse("papers:abstracts"), {"expanded": "sideways"})

    assert response.status_code == 302
    researcher.refresh_from_db()
    assert researcher.expand_abstracts is True
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("Not saved")


def test_abstracts_choice_never_sends_a_person_off_the_site(reader, db):
    response = reader.post(reverse("papers:abstracts"), {"expanded": "1", "next": "https://evil.example/"})

    assert response["Location"] == reverse("papers:index")


def test_abstracts_choice_is_a_post_for_people_logged_in(client, reader, db):
    anonymous = client.__class__()

    assert reader.get(reverse("papers:abstracts")).status_code == 405
    response = anonymous.post(reverse("papers:abstracts"), {"expanded": "1"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_search_result_shows_its_snippet_then_the_whole_abstract(reader, db):
    make_paper(title="Nets", abstract="Intro words. " * 30 + r"The \emph{hypernetwork} result.")

    html = reader.get(reverse("papers:search"), {"q": "hypernetwork"}).content.decode()

    assert abstract_boxes(html) == ['<details class="abstract-box with-snippet">']
    assert "<mark>hypernetwork</mark>" in html  # the snippet, folded
    assert '<div class="abstract-text">Intro words.' in html and "<em>hypernetwork</em>" in html


def test_paper_page_abstract_and_title_read_as_text(reader, db):
    paper = make_paper(title=r"\textsc{AlignX}: a $\mathbb{R}$ study", abstract="One.\n\n" + ABSTRACT)

    html = reader.get(paper.get_absolute_url()).content.decode()

    assert '<h1><span class="smallcaps">AlignX</span>: a <span class="tex"' in html
    assert "One.<br><br>We propose <strong>X-Net</strong>" in html


def test_paper_page_versions_show_dates_in_the_readers_language(reader, researcher, db):
    paper = make_paper(version=2, versions=[{"version": 1, "updated": "2026-06-29T23:00:00+00:00"}])
    researcher.language = "ko"
    researcher.save()

    html = reader.get(paper.get_absolute_url()).content.decode()

    assert "v1</a> 2026년 6월 30일" in html  # 23:00 UTC is the next morning in Seoul


def test_reaction_buttons_carry_words_beside_their_emoji(reader, researcher, db):
    from papers.comments import post_comment

    paper = make_paper()
    post_comment(paper, author=researcher, body="Worth reading.")

    html = reader.get(paper.get_absolute_url()).content.decode()

    buttons = re.findall(r'<button type="submit" name="emoji".*?</button>', html, flags=re.DOTALL)
    assert len(buttons) == 6
    assert all('aria-label="' in b and '<span class="reaction-label">' in b for b in buttons)
    assert (
        '<span class="emoji" aria-hidden="true">👍</span> <span class="reaction-label">thumbs up</span>'
        in html
    )
