"""The review form: saved as the reviewer types, submitted once, tied to the PDF version read, and
shown to authors, leads and (after their own) the other reviewers."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lab_portal.models import Delivery
from reviews import reviewing, services
from reviews.models import Draft, Review, ReviewAssignment
from reviews.tests.factories import make_draft, pdf_upload
from reviews.uploads import check_pdf

pytestmark = pytest.mark.django_db

COMPLETE = {
    "summary": "A sparse attention kernel that scales to long contexts.",
    "strengths": "Careful ablations.",
    "weaknesses": "Only two datasets.",
    "questions": "",
    "experiments": "",
    "soundness": "3",
    "novelty": "2",
    "clarity": "4",
    "overall": "4",
    "confidence": "3",
}


@pytest.fixture
def second_reviewer(make_person):
    return make_person("hana", display_name="Hana Lee")


@pytest.fixture
def people(researcher, reviewer, second_reviewer, other_researcher, lead):
    return {
        "author": researcher,
        "reviewer": reviewer,
        "second": second_reviewer,
        "other": other_researcher,
        "lead": lead,
    }


@pytest.fixture
def draft(people) -> Draft:
    return make_draft(
        people["author"],
        reviewers=[people["reviewer"], people["second"]],
        title="Sparse attention at scale",
        status=Draft.Status.IN_REVIEW,
    )


@pytest.fixture
def as_persona(client, people):
    def act(persona: str):
        client.logout()
        if persona != "anonymous":
            client.force_login(people[persona])
        return client

    return act


def _url(name: str, draft: Draft) -> str:
    return reverse(f"reviews:{name}", args=[draft.pk])


def autosave(client, draft, *, revision=0, **fields):
    return client.post(
        _url("review-autosave", draft), {"revision": revision, **fields}, HTTP_HX_REQUEST="true"
    )


def submit(client, draft, *, revision=0, **fields):
    return client.post(_url("review-submit", draft), {"revision": revision, **{**COMPLETE, **fields}})


def review_of(draft, person) -> Review:
    return Review.objects.get(assignment__draft=draft, assignment__reviewer=person)


def add_version(draft, author, note="Fixed the proof of Lemma 2"):
    upload = pdf_upload()
    return services.add_version(draft, upload=upload, checked=check_pdf(upload), note=note, by=author)


@pytest.fixture
def submitted_by(as_persona, draft, people, django_capture_on_commit_callbacks):
    """Submit a complete review of `draft` as a persona, with what it sends on commit."""

    def act(persona: str, **fields) -> Review:
        with django_capture_on_commit_callbacks(execute=True):
            response = submit(as_persona(persona), draft, **fields)
        assert response.status_code == 302, response.content.decode()[:2000]
        return review_of(draft, people[persona])

    return act


# Saving as the reviewer types ---------------------------------------------------------------------


def test_autosave_creates_the_review_on_first_save_then_updates_it(as_persona, draft, people):
    client = as_persona("reviewer")

    first = autosave(client, draft, revision=0, summary="First thoughts")
    created = review_of(draft, people["reviewer"])
    second = autosave(client, draft, revision=1, summary="Second thoughts", soundness="2")
    updated = review_of(draft, people["reviewer"])

    assert first.status_code == second.status_code == 200
    assert (created.summary, created.revision, created.version.number) == ("First thoughts", 1, 1)
    assert (updated.pk, updated.summary, updated.soundness, updated.revision) == (
        created.pk,
        "Second thoughts",
        2,
        2,
    )
    assert updated.updated_at >= created.updated_at
    assert updated.status == Review.Status.DRAFT
    assert ReviewAssignment.objects.get(draft=draft, reviewer=people["reviewer"]).has_started
    # Only the status line comes back, carrying the revision for the page's next save.
    assert "<html" not in second.text
    assert 'id="review-status"' in second.text
    assert 'name="revision" value="2"' in second.text
    assert "Saved at" in second.text


def test_autosave_writes_only_the_fields_it_was_sent(as_persona, draft, people):
    client = as_persona("reviewer")
    autosave(client, draft, revision=0, summary="Kept", strengths="Also kept")

    autosave(client, draft, revision=1, weaknesses="New")

    review = review_of(draft, people["reviewer"])
    assert (review.summary, review.strengths, review.weaknesses) == ("Kept", "Also kept", "New")


def test_autosave_from_a_page_that_is_behind_is_refused_and_overwrites_nothing(as_persona, draft, people):
    client = as_persona("reviewer")
    autosave(client, draft, revision=0, summary="From the first window")
    autosave(client, draft, revision=1, summary="The first window again")

    stale = autosave(client, draft, revision=1, summary="From a second window loaded earlier")
    never_loaded = autosave(client, draft, revision=0, summary="From a window opened before any save")

    review = review_of(draft, people["reviewer"])
    assert stale.status_code == never_loaded.status_code == 409
    assert "another window" in stale.text
    assert "Reload the page" in stale.text
    # The refusing page keeps its old revision, so its next save is refused as well.
    assert 'name="revision" value="1"' in stale.text
    assert (review.summary, review.revision) == ("The first window again", 2)


@pytest.mark.parametrize(
    "fields",
    [{"soundness": "7"}, {"overall": "strong accept"}, {"confidence": "0"}, {"summary": "x" * 20_001}],
)
def test_autosave_refuses_invalid_values(as_persona, draft, people, fields):
    client = as_persona("reviewer")
    autosave(client, draft, revision=0, summary="Before", soundness="3")

    response = autosave(client, draft, revision=1, **fields)

    review = review_of(draft, people["reviewer"])
    assert response.status_code == 400
    assert "Not saved" in response.text
    assert (review.summary, review.soundness, review.overall, review.confidence) == ("Before", 3, None, None)
    assert review.revision == 1


def test_autosave_accepts_a_text_of_the_full_length(as_persona, draft, people):
    text = "y" * 19_999 + "\r\n"  # the browser sends two characters for the line break it counted as one

    response = autosave(as_persona("reviewer"), draft, revision=0, summary=text)

    assert response.status_code == 200
    assert review_of(draft, people["reviewer"]).summary == "y" * 19_999 + "\n"


def test_autosave_needs_the_csrf_token(people, draft):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["reviewer"])
    page = client.get(_url("review", draft))
    token = page.cookies["csrftoken"].value

    refused = client.post(
        _url("review-autosave", draft), {"revision": 0, "summary": "x"}, HTTP_HX_REQUEST="true"
    )
    accepted = client.post(
        _url("review-autosave", draft),
        {"revision": 0, "summary": "x"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert review_of(draft, people["reviewer"]).summary == "x"


def test_the_plain_save_button_saves_and_comes_back_to_the_form(as_persona, draft, people):
    client = as_persona("reviewer")

    response = client.post(_url("review", draft), {"revision": 0, "summary": "Without JavaScript"})
    page = client.get(response.url)

    assert response.status_code == 302
    assert response.url == _url("review", draft)
    assert review_of(draft, people["reviewer"]).summary == "Without JavaScript"
    assert "Without JavaScript" in page.text
    assert 'name="revision" value="1"' in page.text


def test_the_form_shows_the_due_date_and_the_version_read(as_persona, draft, people):
    assignment = ReviewAssignment.objects.get(draft=draft, reviewer=people["reviewer"])

    before = as_persona("reviewer").get(_url("review", draft))
    with time_machine.travel(assignment.due_at + timedelta(minutes=1), tick=False):
        after = as_persona("reviewer").get(_url("review", draft))

    assert before.status_code == 200
    assert f"{assignment.due.day} {assignment.due:%B %Y}" in before.text
    assert "Asia/Seoul" in before.text
    assert reverse("reviews:download", args=[draft.pk, 1]) in before.text
    assert "overdue" not in before.text
    assert "overdue" in after.text
    assert 'hx-post="' + _url("review-autosave", draft) + '"' in before.text
    assert 'hx-sync="this:queue last"' in before.text


def test_a_plain_save_from_a_page_that_is_behind_keeps_its_text_but_overwrites_nothing(
    as_persona, draft, people
):
    client = as_persona("reviewer")
    autosave(client, draft, revision=0, summary="Saved from the other window")

    response = client.post(_url("review", draft), {"revision": 0, "summary": "Typed in this window"})

    review = review_of(draft, people["reviewer"])
    assert response.status_code == 409
    assert review.summary == "Saved from the other window"
    assert "Typed in this window" in response.text  # nothing the reviewer typed is thrown away
    assert "saving it replaces the saved review" in response.text
    assert 'name="revision" value="1"' in response.text  # saving again is now a deliberate choice


# Submitting ---------------------------------------------------------------------------------------


def test_submit_without_required_fields_shows_errors_and_keeps_the_text(as_persona, draft, people):
    client = as_persona("reviewer")

    response = client.post(
        _url("review-submit", draft),
        {"revision": 0, "summary": "Half a review", "weaknesses": "   ", "soundness": "3"},
    )

    review = review_of(draft, people["reviewer"])
    assert response.status_code == 400
    assert "Half a review" in response.text
    assert response.text.count('class="errorlist') >= 6  # strengths, weaknesses and four scores
    assert (review.summary, review.soundness, review.status) == ("Half a review", 3, Review.Status.DRAFT)
    assert review.submitted_at is None
    assert 'name="revision" value="1"' in response.text  # the page can go on saving


def test_submit_records_the_review_on_its_version_and_tells_the_authors_once(
    submitted_by, draft, people, make_person
):
    coauthor = make_person("yuna", display_name="Yuna Choi")
    draft.authors.create(person=coauthor, order=1)
    draft.authors.create(name="Outside Author", email="outside@example.org", order=2)

    review = submitted_by("reviewer")

    assert review.status == Review.Status.SUBMITTED
    assert review.submitted_at is not None
    assert review.version == draft.versions.get(number=1)
    assert review.summary == COMPLETE["summary"]
    assert (review.soundness, review.novelty, review.clarity, review.overall, review.confidence) == (
        3,
        2,
        4,
        4,
        3,
    )
    assert not review.was_late
    deliveries = Delivery.objects.filter(dedupe_key=f"review-submitted:{review.pk}")
    assert sorted(d.channel.person.username for d in deliveries) == ["minji", "yuna"]
    assert sorted(m.to[0] for m in mail.outbox) == ["minji@lab.example.org", "yuna@lab.example.org"]
    assert all("Sparse attention at scale" in m.subject for m in mail.outbox)
    assert "Sora Han" in mail.outbox[0].body


def test_a_double_submit_is_harmless(
    submitted_by, as_persona, draft, people, django_capture_on_commit_callbacks
):
    first = submitted_by("reviewer")

    with django_capture_on_commit_callbacks(execute=True):
        again = submit(as_persona("reviewer"), draft, revision=1, summary="Changed on the second click")

    review = review_of(draft, people["reviewer"])
    assert again.status_code == 302
    assert (review.summary, review.submitted_at, review.revision) == (first.summary, first.submitted_at, 1)
    assert len(mail.outbox) == 1
    assert Delivery.objects.filter(dedupe_key=f"review-submitted:{review.pk}").count() == 1


def test_a_late_review_is_accepted_and_marked_late(submitted_by, draft, people):
    assignment = ReviewAssignment.objects.get(draft=draft, reviewer=people["reviewer"])
    second = ReviewAssignment.objects.get(draft=draft, reviewer=people["second"])

    with time_machine.travel(assignment.due_at + timedelta(hours=3), tick=False):
        late = submitted_by("reviewer")
    with time_machine.travel(second.due_at - timedelta(minutes=1), tick=False):
        on_time = submitted_by("second")

    assert late.status == on_time.status == Review.Status.SUBMITTED
    assert late.was_late
    assert not on_time.was_late


def test_the_draft_is_reviewed_when_its_last_review_is_submitted(submitted_by, draft):
    submitted_by("reviewer")
    draft.refresh_from_db()
    after_first = draft.status

    submitted_by("second")
    draft.refresh_from_db()

    assert after_first == Draft.Status.IN_REVIEW
    assert draft.status == Draft.Status.REVIEWED
    assert draft.status_changed_at is not None


def test_a_draft_not_in_review_keeps_its_status(as_persona, people, django_capture_on_commit_callbacks):
    draft = make_draft(people["author"], reviewers=[people["reviewer"]], status=Draft.Status.SUBMITTED)

    with django_capture_on_commit_callbacks(execute=True):
        submit(as_persona("reviewer"), draft)

    draft.refresh_from_db()
    assert review_of(draft, people["reviewer"]).is_submitted
    assert draft.status == Draft.Status.SUBMITTED


def test_the_service_never_submits_an_incomplete_review(draft, people):
    assignment = ReviewAssignment.objects.get(draft=draft, reviewer=people["reviewer"])

    with pytest.raises(reviewing.IncompleteReview) as refused:
        reviewing.submit_review(assignment, fields={"summary": "Only a summary"}, revision=0)

    assert "strengths" in refused.value.missing
    assert not Review.objects.exists()


def test_a_submitted_review_can_no_longer_change(submitted_by, as_persona, draft, people):
    submitted = submitted_by("reviewer")
    add_version(draft, people["author"])
    client = as_persona("reviewer")

    saved = autosave(client, draft, revision=1, summary="Edited afterwards")
    posted = client.post(_url("review", draft), {"revision": 1, "summary": "Edited afterwards"})
    moved = client.post(_url("review-version", draft))
    page = client.get(_url("review", draft))

    review = review_of(draft, people["reviewer"])
    assert saved.status_code == 409
    assert "can no longer be changed" in saved.text
    assert posted.status_code == moved.status_code == 302
    assert (review.summary, review.revision, review.version.number) == (submitted.summary, 1, 1)
    assert "Edited afterwards" not in page.text
    assert "<textarea" not in page.text


# Versions -----------------------------------------------------------------------------------------


def test_a_review_moves_to_the_latest_version_on_request(as_persona, draft, people):
    client = as_persona("reviewer")
    autosave(client, draft, revision=0, summary="Read v1")
    add_version(draft, people["author"], note="New experiments in section 5")

    page = client.get(_url("review", draft))
    moved = client.post(_url("review-version", draft))
    after = client.get(_url("review", draft))

    review = review_of(draft, people["reviewer"])
    assert "New experiments in section 5" in page.text
    assert _url("review-version", draft) in page.text
    assert moved.status_code == 302
    assert (review.version.number, review.summary, review.revision) == (2, "Read v1", 2)
    assert "New experiments in section 5" not in after.text
    # A window still at revision 1 reloads before saving over the move.
    assert autosave(client, draft, revision=1, summary="old window").status_code == 409


def test_a_review_started_after_an_upload_reads_the_latest_version(as_persona, draft, people):
    add_version(draft, people["author"])

    autosave(as_persona("reviewer"), draft, revision=0, summary="Read v2 straight away")

    assert review_of(draft, people["reviewer"]).version.number == 2


def test_a_review_is_tied_to_the_version_its_page_showed(as_persona, draft, people):
    client = as_persona("reviewer")
    page = client.get(_url("review", draft))
    assert 'name="version" value="1"' in page.text
    add_version(draft, people["author"], note="Uploaded while the reviewer was reading v1")

    # The first keystroke comes from the page that showed v1.
    autosave(client, draft, revision=0, version=1, summary="Read v1")

    assert review_of(draft, people["reviewer"]).version.number == 1
    assert "Uploaded while the reviewer was reading v1" in client.get(_url("review", draft)).text


def test_moving_goes_to_the_version_the_page_offered(as_persona, draft, people):
    client = as_persona("reviewer")
    autosave(client, draft, revision=0, version=1, summary="Read v1")
    add_version(draft, people["author"], note="v2")
    page = client.get(_url("review", draft))
    assert 'name="version" value="2"' in page.text
    add_version(draft, people["author"], note="v3, after the page was shown")

    client.post(_url("review-version", draft), {"version": "2"})

    assert review_of(draft, people["reviewer"]).version.number == 2


def test_a_save_after_a_move_keeps_the_moved_version(as_persona, draft, people):
    client = as_persona("reviewer")
    autosave(client, draft, revision=0, version=1, summary="Read v1")
    add_version(draft, people["author"])
    client.post(_url("review-version", draft), {"version": "2"})

    autosave(client, draft, revision=2, version=1, summary="Now reading v2")

    review = review_of(draft, people["reviewer"])
    assert (review.version.number, review.summary) == (2, "Now reading v2")


def test_authors_see_which_version_a_review_read(submitted_by, as_persona, draft, people):
    submitted_by("reviewer")
    add_version(draft, people["author"])

    page = as_persona("author").get(_url("draft", draft)).text

    assert "read version v1" in page
    assert reverse("reviews:download", args=[draft.pk, 1]) in page
    assert "the current version is v2" in page


# Who sees which review ----------------------------------------------------------------------------


def test_visible_reviews_follow_the_rules_for_each_persona(submitted_by, as_persona, draft, people):
    autosave(as_persona("second"), draft, revision=0, summary="Second's review in progress")
    before = {persona: reviewing.visible_reviews(draft, user) for persona, user in people.items()}

    first = submitted_by("reviewer")
    second_draft = review_of(draft, people["second"])
    after = {persona: reviewing.visible_reviews(draft, user) for persona, user in people.items()}
    second = submitted_by("second", revision=1)
    finally_ = {persona: reviewing.visible_reviews(draft, user) for persona, user in people.items()}

    assert before == {"author": [], "reviewer": [], "second": [second_draft], "other": [], "lead": []}
    assert after == {
        "author": [first],
        "reviewer": [first],
        "second": [second_draft],
        "other": [],
        "lead": [first],
    }
    assert (
        finally_["author"]
        == finally_["reviewer"]
        == finally_["second"]
        == finally_["lead"]
        == [first, second]
    )
    assert finally_["other"] == []


def test_the_draft_page_shows_reviews_only_to_those_who_may_read_them(submitted_by, as_persona, draft):
    autosave(as_persona("second"), draft, revision=0, summary="Second's thoughts in progress")
    submitted_by("reviewer", summary="Sora's verdict")

    pages = {
        persona: as_persona(persona).get(_url("draft", draft)).text
        for persona in ["author", "second", "lead"]
    }
    submitted_by("second", revision=1, summary="Hana's verdict")
    second_after = as_persona("second").get(_url("draft", draft)).text
    reviewer_after = as_persona("reviewer").get(_url("draft", draft)).text

    assert "Sora's verdict" in pages["author"]
    assert "Sora's verdict" in pages["lead"]
    assert "Sora Han" in pages["author"]  # reviewers are named: this is the lab's own review
    assert "Second's thoughts in progress" not in pages["author"] + pages["lead"]
    assert "Sora's verdict" not in pages["second"]
    assert "You will see the other reviews after submitting yours." in pages["second"]
    assert "Continue your review" in pages["second"]
    assert "Sora's verdict" in second_after
    assert "Hana's verdict" in second_after
    assert "Hana's verdict" in reviewer_after
    assert "You will see the other reviews" not in second_after
    assert "1 · poor" not in second_after and "2 · fair" in second_after  # scores with their labels


def test_a_lead_who_reviews_a_draft_waits_like_every_reviewer(submitted_by, lead, draft):
    ReviewAssignment.objects.create(draft=draft, reviewer=lead, due=draft.review_by)
    submitted_by("reviewer")

    assert reviewing.visible_reviews(draft, lead) == []


def test_review_texts_are_sanitised_markdown(submitted_by, as_persona, draft):
    submitted_by(
        "reviewer",
        summary='<script>alert("x")</script> **bold claim** [link](javascript:alert(1)) '
        "<img src=x onerror=alert(1)>",
    )

    page = as_persona("author").get(_url("draft", draft)).text

    assert '<script>alert("x")' not in page
    assert "&lt;script&gt;" in page
    assert "<strong>bold claim</strong>" in page
    assert 'href="javascript:' not in page
    assert "<img" not in page


def test_the_draft_page_costs_the_same_queries_for_one_review_or_two(submitted_by, as_persona, draft):
    submitted_by("reviewer")
    client = as_persona("author")
    with CaptureQueriesContext(connection) as one:
        client.get(_url("draft", draft))

    submitted_by("second")
    client = as_persona("author")
    with CaptureQueriesContext(connection) as two:
        client.get(_url("draft", draft))

    assert len(one.captured_queries) == len(two.captured_queries)


# Who may use the form: the matrix is in test_permissions.py with every other draft view. -----------


@pytest.mark.parametrize("name", ["review-autosave", "review-submit", "review-version"])
def test_review_changes_refuse_get(as_persona, draft, name):
    assert as_persona("reviewer").get(_url(name, draft)).status_code == 405


def test_a_draft_with_reviews_can_be_deleted_but_not_the_version_a_review_read(submitted_by, draft):
    from django.db.models import RestrictedError

    submitted_by("reviewer")
    version = draft.versions.get(number=1)
    with pytest.raises(RestrictedError):
        version.delete()

    draft.delete()

    assert not Review.objects.exists()


def test_a_save_for_an_assignment_released_meanwhile_says_so(as_persona, draft, people):
    client = as_persona("reviewer")
    client.get(_url("review", draft))
    assignment = ReviewAssignment.objects.get(draft=draft, reviewer=people["reviewer"])

    reviewing_assignment = ReviewAssignment.objects.select_related("draft").get(pk=assignment.pk)
    assignment.delete()
    with pytest.raises(reviewing.ReviewRefused, match="no longer asked"):
        reviewing.save_review(reviewing_assignment, fields={"summary": "late keystroke"}, revision=0)

    assert not Review.objects.exists()


def test_the_review_form_costs_the_same_queries_however_many_authors_and_reviewers(
    people, as_persona, make_person
):
    small = make_draft(people["author"], reviewers=[people["reviewer"]], status=Draft.Status.IN_REVIEW)
    client = as_persona("reviewer")
    client.get(_url("review", small))  # the session and the person are loaded once
    with CaptureQueriesContext(connection) as one:
        client.get(_url("review", small))
    coauthors = [make_person(f"coauthor{n}") for n in range(4)]
    others = [make_person(f"peer{n}") for n in range(3)]
    large = make_draft(
        people["author"],
        reviewers=[people["reviewer"], *others],
        coauthors=coauthors,
        status=Draft.Status.IN_REVIEW,
    )
    autosave(client, large, summary="Halfway")

    with CaptureQueriesContext(connection) as many:
        response = client.get(_url("review", large))

    assert response.status_code == 200 and "Halfway" in response.text
    assert len(many.captured_queries) == len(one.captured_queries)
