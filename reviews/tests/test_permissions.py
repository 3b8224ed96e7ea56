"""Who may see a draft and its PDFs: every draft view, every persona.

A draft is for its lab authors, its assigned reviewers and the leads; anyone else gets the same
404 as for a draft that does not exist. Changes are for authors (leads may set the status)."""

import pytest
from django.urls import reverse

from reviews.models import Draft, DraftVersion, Review, Venue
from reviews.tests.factories import make_draft, pdf_upload

pytestmark = pytest.mark.django_db

PERSONAS = ["author", "reviewer", "other", "lead", "anonymous"]


@pytest.fixture
def people(researcher, reviewer, other_researcher, lead):
    return {"author": researcher, "reviewer": reviewer, "other": other_researcher, "lead": lead}


@pytest.fixture
def draft(people) -> Draft:
    return make_draft(people["author"], reviewers=[people["reviewer"]], title="Sparse attention at scale")


@pytest.fixture
def as_persona(client, people):
    def act(persona: str):
        client.logout()
        if persona != "anonymous":
            client.force_login(people[persona])
        return client

    return act


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.url.startswith(reverse("login"))


# (view, method, expected status per persona); "login" is the redirect to the log-in page.
MATRIX = [
    ("draft", "get", {"author": 200, "reviewer": 200, "other": 404, "lead": 200, "anonymous": "login"}),
    ("download", "get", {"author": 200, "reviewer": 200, "other": 404, "lead": 200, "anonymous": "login"}),
    (
        "upload-version",
        "get",
        {"author": 200, "reviewer": 403, "other": 404, "lead": 403, "anonymous": "login"},
    ),
    (
        "upload-version",
        "post",
        {"author": 302, "reviewer": 403, "other": 404, "lead": 403, "anonymous": "login"},
    ),
    ("set-status", "post", {"author": 302, "reviewer": 403, "other": 404, "lead": 302, "anonymous": "login"}),
    # The review form is the assigned reviewer's alone: authors and leads see the draft, not the form.
    ("review", "get", {"author": 403, "reviewer": 200, "other": 404, "lead": 403, "anonymous": "login"}),
    ("review", "post", {"author": 403, "reviewer": 302, "other": 404, "lead": 403, "anonymous": "login"}),
    (
        "review-autosave",
        "post",
        {"author": 403, "reviewer": 200, "other": 404, "lead": 403, "anonymous": "login"},
    ),
    (
        "review-submit",
        "post",
        {"author": 403, "reviewer": 302, "other": 404, "lead": 403, "anonymous": "login"},
    ),
    (
        "review-version",
        "post",
        {"author": 403, "reviewer": 302, "other": 404, "lead": 403, "anonymous": "login"},
    ),
    # The discussion is for everyone who may see the draft.
    (
        "draft-comment-new",
        "post",
        {"author": 302, "reviewer": 302, "other": 404, "lead": 302, "anonymous": "login"},
    ),
]


def _url(name: str, draft: Draft) -> str:
    return reverse(f"reviews:{name}", args=[draft.pk, 1] if name == "download" else [draft.pk])


def _data(name: str) -> dict:
    if name == "upload-version":
        return {"pdf": pdf_upload(), "note": "Fixed the proof of Lemma 2"}
    if name == "set-status":
        return {"status": Draft.Status.IN_REVIEW}
    if name in ("review", "review-autosave", "review-submit"):
        scores = dict.fromkeys(["soundness", "novelty", "clarity", "overall", "confidence"], "3")
        texts = {"summary": "A summary", "strengths": "Clear", "weaknesses": "Small data"}
        return {"revision": "0", **texts, **scores}
    if name == "draft-comment-new":
        return {"body": "Thanks, see Section 4."}
    return {}


@pytest.mark.parametrize(("name", "method", "expected"), MATRIX)
@pytest.mark.parametrize("persona", PERSONAS)
def test_draft_views_answer_each_persona(as_persona, draft, persona, name, method, expected):
    client = as_persona(persona)

    response = getattr(client, method)(_url(name, draft), _data(name) if method == "post" else None)

    if expected[persona] == "login":
        assert _is_login_redirect(response)
    else:
        assert response.status_code == expected[persona]


@pytest.mark.parametrize("persona", ["other", "reviewer", "lead", "anonymous"])
def test_draft_changes_by_non_authors_leave_nothing_behind(as_persona, draft, review_files, persona):
    client = as_persona(persona)

    client.post(_url("upload-version", draft), _data("upload-version"))

    assert list(draft.versions.values_list("number", flat=True)) == [1]
    assert len(list((review_files / "drafts" / str(draft.pk)).iterdir())) == 1


@pytest.mark.parametrize("persona", ["other", "reviewer", "anonymous"])
def test_status_is_unchanged_by_those_who_may_not_change_it(as_persona, draft, persona):
    as_persona(persona).post(_url("set-status", draft), {"status": Draft.Status.ACCEPTED})

    draft.refresh_from_db()
    assert draft.status == Draft.Status.DRAFT


@pytest.mark.parametrize("persona", ["author", "other", "lead", "anonymous"])
def test_only_the_assigned_reviewer_writes_a_review(as_persona, draft, persona):
    client = as_persona(persona)

    for name in ("review", "review-autosave", "review-submit"):
        client.post(_url(name, draft), _data(name))

    assert not Review.objects.exists()


@pytest.mark.parametrize("persona", ["author", "reviewer", "lead"])
def test_download_is_an_attachment_with_the_stored_bytes(as_persona, draft, persona):
    client = as_persona(persona)

    response = client.get(_url("download", draft))

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="sparse-attention-at-scale-v1.pdf"' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == draft.versions.get().file.open("rb").read()


def test_a_missing_version_is_404_even_for_the_author(as_persona, draft):
    response = as_persona("author").get(reverse("reviews:download", args=[draft.pk, 2]))

    assert response.status_code == 404


def test_a_draft_that_does_not_exist_is_404_like_one_you_may_not_see(as_persona, draft):
    client = as_persona("other")

    missing = client.get(reverse("reviews:draft", args=[draft.pk + 1000]))
    hidden = client.get(reverse("reviews:draft", args=[draft.pk]))

    assert missing.status_code == hidden.status_code == 404


def test_draft_files_have_no_public_url(draft):
    version = DraftVersion.objects.get(draft=draft)

    with pytest.raises(ValueError, match="no public URL"):
        version.file.url  # noqa: B018


@pytest.mark.parametrize("name", ["upload-version", "set-status"])
def test_changes_need_csrf(people, draft, name):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(people["author"])

    response = client.post(_url(name, draft), _data(name))

    assert response.status_code == 403
    assert draft.versions.count() == 1


def test_set_status_refuses_get(as_persona, draft):
    response = as_persona("author").get(_url("set-status", draft))

    assert response.status_code == 405


def test_index_lists_a_draft_only_to_those_who_may_see_it(as_persona, draft):
    seen = {}
    for persona in ["author", "reviewer", "other"]:
        seen[persona] = draft.title in as_persona(persona).get(reverse("reviews:index")).text
    Draft.objects.filter(pk=draft.pk).update(status=Draft.Status.IN_REVIEW)
    seen["lead"] = draft.title in as_persona("lead").get(reverse("reviews:index")).text

    assert seen == {"author": True, "reviewer": True, "other": False, "lead": True}


def test_leads_see_every_draft_in_review_but_researchers_do_not(as_persona, people, make_person):
    outsider = make_person("hyun")
    make_draft(outsider, title="Someone else's draft", status=Draft.Status.IN_REVIEW)

    lead_page = as_persona("lead").get(reverse("reviews:index")).text
    researcher_page = as_persona("author").get(reverse("reviews:index")).text

    assert "Someone else&#x27;s draft" in lead_page
    assert "Someone else" not in researcher_page


def test_visible_to_names_authors_reviewers_and_leads_only(people, draft, make_person):
    coauthor = make_person("yuna")
    shared = make_draft(people["other"], coauthors=[coauthor])

    visible = {persona: set(Draft.objects.visible_to(user)) for persona, user in people.items()}

    assert visible["author"] == {draft}
    assert visible["reviewer"] == {draft}
    assert visible["other"] == {shared}
    assert visible["lead"] == {draft, shared}
    assert set(Draft.objects.visible_to(coauthor)) == {shared}


def test_anonymous_review_hides_author_names_from_reviewers_only(as_persona, people):
    draft = make_draft(people["author"], reviewers=[people["reviewer"]], anonymous=True)
    url = reverse("reviews:draft", args=[draft.pk])

    pages = {persona: as_persona(persona).get(url).text for persona in ["author", "reviewer", "lead"]}

    assert "Minji Kim" in pages["author"]
    assert "Minji Kim" in pages["lead"]
    assert "Minji Kim" not in pages["reviewer"]
    assert "anonymous review" in pages["reviewer"]


def test_venues_are_listed_to_everyone_and_added_by_leads(as_persona):
    data = {"short_name": "NeurIPS", "name": "Neural Information Processing Systems", "url": ""}

    listed = as_persona("other").get(reverse("reviews:venues")).status_code
    refused = as_persona("other").post(reverse("reviews:add-venue"), data).status_code
    refused_deadline = as_persona("other").post(reverse("reviews:add-deadline"), {}).status_code
    added = as_persona("lead").post(reverse("reviews:add-venue"), data)

    assert (listed, refused, refused_deadline) == (200, 403, 403)
    assert added.status_code == 302
    assert list(Venue.objects.values_list("short_name", flat=True)) == ["NeurIPS"]


def test_venue_pages_send_anonymous_visitors_to_log_in(as_persona):
    client = as_persona("anonymous")

    for url in [reverse("reviews:venues"), reverse("reviews:deadlines-ics"), reverse("reviews:new-draft")]:
        assert _is_login_redirect(client.get(url))
    assert _is_login_redirect(client.post(reverse("reviews:add-venue"), {"short_name": "X", "name": "X"}))
    assert not Venue.objects.exists()
