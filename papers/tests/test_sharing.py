"""Sharing a paper with the lab: pushed once to the lab's chat, listed on the Lab page."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from lab_portal.models import Delivery
from papers.lab_page import interest_score, lab_papers
from papers.models import Bookmark, Comment, Notification, Share
from papers.tests.factories import make_paper

pytestmark = pytest.mark.django_db

LAB_CHAT = "-100777"


@pytest.fixture
def telegram(telegram, settings):
    settings.TELEGRAM_LAB_CHAT_ID = LAB_CHAT
    return telegram


@pytest.fixture
def paper(db):
    return make_paper(arxiv_id="2606.00042", title="Attention <b>is</b> all & more", authors=["Jiwoo Park"])


def share(client, paper, note="Must read because it beats our baseline", **recipients):
    recipients = recipients or {"lab": "on"}
    return client.post(f"/papers/share/{paper.arxiv_id}", {"note": note, **recipients})


def test_sharing_pushes_to_the_lab_chat_once(
    login, researcher, paper, telegram, django_capture_on_commit_callbacks
):
    client = login(researcher)

    with django_capture_on_commit_callbacks(execute=True):
        response = share(client, paper)

    assert response.status_code == 302 and response["Location"] == "/papers/lab/"
    share_row = Share.objects.get()
    assert (share_row.person, share_row.paper, share_row.note) == (
        researcher,
        paper,
        "Must read because it beats our baseline",
    )
    [sent] = telegram.sent()
    assert sent.body["chat_id"] == LAB_CHAT
    assert "Attention <b>is</b> all & more" in sent.text  # escaped for Telegram, shown as written
    assert "Minji Kim" in sent.text and "Must read because it beats our baseline" in sent.text
    assert sent.text.count("Must read because") == 1
    assert (
        '/papers/2606.00042"' in sent.body["text"]
        and '"https://arxiv.org/abs/2606.00042"' in sent.body["text"]
    )
    delivery = Delivery.objects.get()
    assert (delivery.dedupe_key, delivery.state) == (f"share:{share_row.pk}", Delivery.State.SENT)


def test_the_push_waits_for_the_commit(
    login, researcher, paper, telegram, django_capture_on_commit_callbacks
):
    client = login(researcher)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        share(client, paper)

    assert telegram.arrivals == []
    assert len(callbacks) == 1


def test_a_second_share_is_a_second_message_and_the_same_share_is_not_resent(
    login, researcher, other_researcher, paper, telegram, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        share(login(researcher), paper)
        share(login(other_researcher), paper, note="Agreed, and the code is out")
    from lab_portal.notify import Message, notify_lab

    with django_capture_on_commit_callbacks(execute=True):
        again = notify_lab(Message(subject="x", dedupe_key=f"share:{Share.objects.first().pk}"))

    assert again == []
    assert len(telegram.sent()) == 2


def test_a_share_needs_a_note(login, researcher, paper, telegram):
    response = share(login(researcher), paper, note="  ")

    assert response.status_code == 302 and response["Location"] == "/papers/2606.00042"
    assert not Share.objects.exists()
    assert not Delivery.objects.exists()


def test_sharing_needs_a_login_a_post_and_csrf(researcher, paper, client):
    anonymous = share(client, paper)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(researcher)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert client.get("/papers/share/2606.00042").status_code == 302  # the form too needs a login
    assert csrf_client.get("/papers/share/2606.00042").status_code == 200  # the form, which changes nothing
    assert share(csrf_client, paper).status_code == 403
    assert share(Client(), paper).status_code == 302
    assert not Share.objects.exists()


def test_sharing_an_unknown_paper_is_404(login, researcher):
    assert login(researcher).post("/papers/share/2606.99999", {"note": "x"}).status_code == 404


def test_the_paper_page_has_the_share_form_addressed_to_the_lab_at_first(login, researcher, paper):
    page = login(researcher).get("/papers/2606.00042")

    assert 'action="/papers/share/2606.00042"' in page.text
    assert "To: the lab" in page.text and '<input type="checkbox" name="lab" checked>' in page.text


# The Lab page ------------------------------------------------------------------------------------


def shared(paper, person, *, hours_ago: float, note: str = "Read this"):
    return Share.objects.create(
        paper=paper, person=person, note=note, created_at=timezone.now() - timedelta(hours=hours_ago)
    )


def test_the_lab_page_lists_shares_newest_first_when_interest_is_equal(login, researcher, lead):
    old = make_paper(title="Older paper")
    new = make_paper(title="Newer paper")
    shared(old, lead, hours_ago=30, note="Classic <script>alert(1)</script>")
    shared(new, lead, hours_ago=1)

    page = login(researcher).get("/papers/lab/")

    assert page.status_code == 200
    assert page.text.index("Newer paper") < page.text.index("Older paper")
    assert "Classic &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Jiwoo Park" in page.text


def test_lab_interest_lifts_a_discussed_paper_above_a_newer_quiet_one(
    login, researcher, other_researcher, lead, make_person
):
    quiet = make_paper(title="Quiet new paper")
    discussed = make_paper(title="Much discussed paper")
    shared(quiet, lead, hours_ago=1)
    shared(discussed, lead, hours_ago=6)
    shared(discussed, other_researcher, hours_ago=5)
    for person in (researcher, other_researcher, lead, make_person("sora"), make_person("hyun")):
        Bookmark.objects.create(user=person, paper=discussed)
        Comment.objects.create(paper=discussed, author=person, body="Interesting")

    page = login(researcher).get("/papers/lab/")

    assert page.text.index("Much discussed paper") < page.text.index("Quiet new paper")
    assert "2 shares" in page.text and "5 comments" in page.text and "saved by 5" in page.text


def test_a_deleted_comment_does_not_count_as_interest(lead):
    paper = make_paper()
    shared(paper, lead, hours_ago=1)
    Comment.objects.create(paper=paper, author=lead, body="x", deleted_at=timezone.now())
    Comment.objects.create(paper=paper, author=lead, body="y")

    [listed] = lab_papers()

    assert (listed.share_count, listed.comment_count, listed.bookmark_count) == (1, 1, 0)


def test_interest_decays_with_age():
    now = timezone.now()

    fresh = interest_score(shares=1, comments=0, bookmarks=0, last_shared=now, now=now)
    week = interest_score(shares=1, comments=0, bookmarks=0, last_shared=now - timedelta(days=7), now=now)
    busy_week = interest_score(
        shares=3, comments=40, bookmarks=20, last_shared=now - timedelta(days=7), now=now
    )

    assert fresh > week
    assert busy_week < fresh  # a week of age outweighs even a busy thread
    assert interest_score(shares=1, comments=5, bookmarks=0, last_shared=now, now=now) > fresh


def test_shares_older_than_the_window_leave_the_lab_page(login, researcher, lead):
    shared(make_paper(title="Ancient history"), lead, hours_ago=24 * 100)

    page = login(researcher).get("/papers/lab/")

    assert "Ancient history" not in page.text
    assert "Nothing shared yet" in page.text


def test_the_lab_page_needs_a_login(client):
    response = client.get("/papers/lab/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("size", [1, 30])
def test_the_lab_page_query_count_does_not_grow_with_shares(
    size, login, researcher, lead, django_assert_num_queries
):
    for number in range(size):
        paper = make_paper(title=f"Shared paper {number}")
        shared(paper, lead, hours_ago=number)
        shared(paper, researcher, hours_ago=number + 0.5)
        Bookmark.objects.create(user=researcher, paper=paper)
    client = login(researcher)

    # session, user, papers with their counts, their shares with the sharers, my bookmarks
    with django_assert_num_queries(5):
        page = client.get("/papers/lab/")

    assert page.text.count('class="lab-paper"') == size


def test_sharing_the_same_paper_twice_in_a_row_reaches_the_lab_once(db, researcher):
    from papers.models import Share
    from papers.sharing import share_paper
    from papers.tests.factories import make_paper

    paper = make_paper()
    first = share_paper(paper, sharer=researcher, note="Must read")
    again = share_paper(paper, sharer=researcher, note="Must read")

    assert again == first
    assert Share.objects.count() == 1


# Sharing with people and teams ------------------------------------------------------------------

HTMX = {"HX-Request": "true"}


@pytest.fixture
def korean(other_researcher):
    other_researcher.language = "ko"
    other_researcher.save()
    return other_researcher


def deliveries_by_key() -> dict[str, Delivery]:
    return {delivery.dedupe_key: delivery for delivery in Delivery.objects.select_related("channel__person")}


def test_sharing_with_chosen_people_tells_each_once_in_their_own_language(
    login, researcher, korean, lead, paper, telegram, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = share(login(researcher), paper, people=[korean.pk, lead.pk])

    row = Share.objects.get()
    assert response["Location"] == "/papers/2606.00042"  # not the Lab page: the lab was not told
    assert (row.to_lab, set(row.recipients.all()), list(row.teams.all())) == (False, {korean, lead}, [])
    sent = deliveries_by_key()
    assert set(sent) == {f"share:{row.pk}:{korean.pk}", f"share:{row.pk}:{lead.pk}"}
    assert sent[f"share:{row.pk}:{korean.pk}"].subject == "Minji Kim 님이 회원님에게 논문을 공유했습니다"
    assert sent[f"share:{row.pk}:{lead.pk}"].subject == "Minji Kim shared a paper with you"
    assert sent[f"share:{row.pk}:{korean.pk}"].payload["items"][0]["why"] == (
        "Minji Kim 님이 공유: Must read because it beats our baseline"
    )
    assert telegram.arrivals == []  # nothing in the lab's chat
    notified = Notification.objects.filter(share=row, kind=Notification.Kind.SHARE)
    assert set(notified.values_list("person__username", flat=True)) == {"taeho", "jiwoo"}


def test_sharing_with_a_team_tells_its_active_members_but_never_the_sharer(
    login, researcher, lead, team, make_person, paper, django_capture_on_commit_callbacks
):
    make_person("gone", team=team, is_active=False)
    outsider = make_person("sora")

    with django_capture_on_commit_callbacks(execute=True):
        share(login(researcher), paper, teams=[team.pk])

    row = Share.objects.get()
    assert list(row.teams.all()) == [team]
    assert set(deliveries_by_key()) == {f"share:{row.pk}:{lead.pk}"}
    assert not Notification.objects.filter(person__in=[researcher, outsider]).exists()


def test_a_person_chosen_in_a_team_and_mentioned_in_the_note_is_told_once(
    login, researcher, lead, team, paper, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        share(login(researcher), paper, note="@jiwoo this one", teams=[team.pk], people=[lead.pk])

    row = Share.objects.get()
    assert list(deliveries_by_key()) == [f"share:{row.pk}:{lead.pk}"]
    assert deliveries_by_key()[f"share:{row.pk}:{lead.pk}"].subject == "Minji Kim shared a paper with you"
    assert Notification.objects.filter(person=lead).count() == 1


def test_a_mention_in_a_lab_share_tells_that_person_too(
    login, researcher, other_researcher, paper, telegram, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        share(login(researcher), paper, note="@taeho you asked for this, @minji @ghost", lab="on")

    row = Share.objects.get()
    sent = deliveries_by_key()
    assert set(sent) == {f"share:{row.pk}", f"share:{row.pk}:{other_researcher.pk}"}
    assert sent[f"share:{row.pk}:{other_researcher.pk}"].subject == "Minji Kim mentioned you in a share"
    assert [arrival.body["chat_id"] for arrival in telegram.sent()] == [LAB_CHAT]


def test_a_share_with_people_stays_off_the_lab_page_and_its_feed(login, researcher, other_researcher, paper):
    share(login(researcher), paper, people=[other_researcher.pk])

    page = login(other_researcher).get("/papers/lab/")

    assert "Attention" not in page.text and "Nothing shared yet" in page.text
    assert lab_papers() == []


def test_the_form_starts_with_whom_the_sharer_chose_last(login, researcher, other_researcher, team, paper):
    client = login(researcher)
    share(client, paper, teams=[team.pk], people=[other_researcher.pk])
    second = make_paper(arxiv_id="2606.00043")

    form = client.get(f"/papers/share/{second.arxiv_id}").text

    assert "To: Vision, Taeho Yoon" in form
    assert '<input type="checkbox" name="lab">' in form
    assert re.search(
        rf'<input type="checkbox" name="people" value="{other_researcher.pk}"[^>]* checked', form
    )
    assert re.search(rf'<input type="checkbox" name="teams" value="{team.pk}"[^>]* checked', form)
    assert f'name="people" value="{researcher.pk}"' not in form  # nobody shares with themselves
    assert f'id="share-{second.pk}-people_0"' in form  # ids of their own: the feed may show several forms


def test_the_feed_opens_the_share_form_under_a_paper_and_shares_with_htmx(
    login, researcher, paper, telegram, django_capture_on_commit_callbacks
):
    client = login(researcher)
    feed = client.get("/papers/all/").text
    link = 'href="/papers/share/2606.00042?next=%2Fpapers%2Fall%2F"'

    form = client.get("/papers/share/2606.00042?next=%2Fpapers%2Fall%2F", headers=HTMX)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/papers/share/2606.00042",
            {"note": "Worth it", "lab": "on", "next": "/papers/all/"},
            headers=HTMX,
        )

    assert link in feed and 'hx-target="#share-slot-' in feed
    assert form.status_code == 200 and "<html" not in form.text
    assert form.text.lstrip().startswith(f'<form class="share-form" id="share-{paper.pk}"')
    assert "autofocus" in form.text and 'name="next" value="/papers/all/"' in form.text
    assert done.text.strip() == (
        f'<p class="message success share-done" id="share-{paper.pk}" role="status">Shared with the lab.</p>'
    )
    assert len(telegram.sent()) == 1
    assert "HX-Request" in done["Vary"]


def test_sharing_from_the_feed_without_javascript_comes_back_to_the_feed(login, researcher, paper, telegram):
    client = login(researcher)

    page = client.get("/papers/share/2606.00042?next=%2Fpapers%2Fall%2F")
    response = share(client, paper, lab="on", next="/papers/all/")
    elsewhere = share(client, paper, lab="on", next="https://evil.example/")

    assert "<html" in page.text and "Share a paper" in page.text
    assert response.status_code == 302 and response["Location"] == "/papers/all/"
    assert elsewhere["Location"] == "/papers/lab/"  # never off the portal


@pytest.mark.parametrize(
    "recipients",
    [{}, {"people": ["not-a-number"]}, {"people": ["999999"]}, {"teams": ["999999"]}, {"people": ["gone"]}],
)
def test_a_share_to_nobody_or_to_someone_unknown_is_refused(
    login, researcher, make_person, paper, recipients
):
    gone = make_person("gone", is_active=False)
    recipients = {
        key: [str(gone.pk) if v == "gone" else v for v in values] for key, values in recipients.items()
    }
    client = login(researcher)
    data = {"note": "Look", **recipients}

    plain = client.post("/papers/share/2606.00042", data, follow=True)
    htmx = client.post("/papers/share/2606.00042", data, headers=HTMX)

    assert "Not shared:" in plain.text
    assert htmx.status_code == 200 and 'class="errorlist"' in htmx.text and "<html" not in htmx.text
    assert not Share.objects.exists() and not Delivery.objects.exists()


def test_the_sharing_service_takes_the_recipients_a_chat_button_gives_it(
    researcher, other_researcher, paper, django_capture_on_commit_callbacks
):
    from papers.sharing import Recipients, share_paper

    with django_capture_on_commit_callbacks(execute=True):
        row = share_paper(
            paper, sharer=researcher, note="From the chat", recipients=Recipients(people=(other_researcher,))
        )
        default = share_paper(make_paper(), sharer=researcher, note="Again")

    assert list(Share.objects.get(pk=default.pk).recipients.all()) == [other_researcher]  # the last choice
    assert not default.to_lab
    assert Delivery.objects.filter(dedupe_key=f"share:{row.pk}:{other_researcher.pk}").exists()
    assert Notification.objects.filter(person=other_researcher).for_digest().count() == 2


def test_a_refused_share_keeps_what_was_chosen(login, researcher, other_researcher, paper):
    response = login(researcher).post(
        "/papers/share/2606.00042", {"note": " ", "people": [other_researcher.pk]}, headers=HTMX
    )

    assert "To: Taeho Yoon" in response.text and "This field is required." in response.text
    assert re.search(rf'name="people" value="{other_researcher.pk}"[^>]* checked', response.text)
    assert login(researcher).put("/papers/share/2606.00042").status_code == 405
    assert not Share.objects.exists()
