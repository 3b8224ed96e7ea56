"""Atom feeds of the Lab page and of each personal tag, at secret revocable per-person URLs."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from papers.models import Bookmark, FeedToken, Share, Tag
from papers.tests.factories import make_paper

pytestmark = pytest.mark.django_db

ATOM = {"atom": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def token(researcher):
    return FeedToken.objects.create(person=researcher)


@pytest.fixture
def paper(db):
    return make_paper(
        arxiv_id="2606.00042",
        title="Sparse attention & <friends>",
        authors=["Jiwoo Park", "Ada Lovelace"],
        abstract="We make attention sparse.",
    )


def parse(response) -> ET.Element:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    return ET.fromstring(response.content)  # noqa: S314 - our own output, in a test


def entries(feed: ET.Element) -> list[dict]:
    return [
        {
            "title": entry.findtext("atom:title", namespaces=ATOM),
            "link": entry.find("atom:link", ATOM).get("href"),
            "id": entry.findtext("atom:id", namespaces=ATOM),
            "updated": datetime.fromisoformat(entry.findtext("atom:updated", namespaces=ATOM)),
            "author": entry.findtext("atom:author/atom:name", namespaces=ATOM),
            "summary": entry.findtext("atom:summary", namespaces=ATOM),
            "summary_type": entry.find("atom:summary", ATOM).get("type"),
        }
        for entry in feed.findall("atom:entry", ATOM)
    ]


def test_the_lab_feed_has_every_shared_paper_with_its_notes(client, token, paper, lead, researcher):
    shared_at = timezone.now() - timedelta(hours=2)
    Share.objects.create(paper=paper, person=lead, note="Must read: <b>beats</b> us", created_at=shared_at)
    Share.objects.create(
        paper=make_paper(title="Quiet one", abstract="Only an abstract."),
        person=researcher,
        note="",
        created_at=shared_at - timedelta(hours=3),
    )

    feed = parse(client.get(f"/papers/feeds/{token.key}/lab.atom"))

    assert feed.findtext("atom:title", namespaces=ATOM) == "Shared with the lab"
    assert feed.find("atom:link[@rel='alternate']", ATOM).get("href") == "http://testserver/papers/lab/"
    noted, quiet = entries(feed)
    assert noted["title"] == "Sparse attention & <friends>"
    assert noted["link"] == noted["id"] == "http://testserver/papers/2606.00042"
    assert noted["author"] == "Jiwoo Park, Ada Lovelace"
    assert noted["updated"] == shared_at
    assert noted["summary_type"] == "html"
    # The note is text: in the summary's HTML it is escaped, so a reader shows it as written.
    assert noted["summary"] == "<p>Jiwoo Park: Must read: &lt;b&gt;beats&lt;/b&gt; us</p>"
    assert quiet["title"] == "Quiet one" and quiet["summary"] == "<p>Only an abstract.</p>"


def test_the_tag_feed_has_the_person_s_tagged_papers_only(client, token, researcher, other_researcher, paper):
    reading = Tag.objects.create(user=researcher, name="reading group")
    other = make_paper(title="Untagged")
    saved_at = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    Bookmark.objects.create(user=researcher, paper=paper, created_at=saved_at).tags.add(reading)
    Bookmark.objects.create(user=researcher, paper=other)
    theirs = Tag.objects.create(user=other_researcher, name="reading group")
    Bookmark.objects.create(user=other_researcher, paper=other).tags.add(theirs)

    feed = parse(client.get(f"/papers/feeds/{token.key}/tag/{reading.pk}.atom"))

    assert feed.findtext("atom:title", namespaces=ATOM) == "Papers Minji Kim tagged “reading group”"
    [entry] = entries(feed)
    assert entry["title"] == "Sparse attention & <friends>"
    assert entry["updated"] == saved_at
    assert entry["summary"] == "<p>We make attention sparse.</p>"
    assert entry["author"] == "Jiwoo Park, Ada Lovelace"


def test_a_feed_marks_its_key_as_used(client, token, time_machine):
    time_machine.move_to("2026-11-27 09:00:00Z", tick=False)

    client.get(f"/papers/feeds/{token.key}/lab.atom")

    token.refresh_from_db()
    assert token.last_used_at == datetime(2026, 11, 27, 9, tzinfo=UTC)


def test_a_revoked_unknown_or_inactive_key_is_404(client, token, researcher):
    ml = Tag.objects.create(user=researcher, name="ml")
    assert client.get(f"/papers/feeds/{token.key}/tag/{ml.pk}.atom").status_code == 200

    revoked = FeedToken.objects.create(person=researcher, revoked_at=timezone.now())
    assert client.get(f"/papers/feeds/{revoked.key}/lab.atom").status_code == 404
    assert client.get(f"/papers/feeds/{revoked.key}/tag/{ml.pk}.atom").status_code == 404
    assert client.get(f"/papers/feeds/{revoked.key}/tags/ml.atom").status_code == 404
    assert client.get("/papers/feeds/not-a-key/lab.atom").status_code == 404
    researcher.is_active = False
    researcher.save()
    assert client.get(f"/papers/feeds/{token.key}/lab.atom").status_code == 404


def test_someone_else_s_tag_is_404_even_with_a_valid_key(client, token, other_researcher):
    secret = Tag.objects.create(user=other_researcher, name="secret project")

    assert client.get(f"/papers/feeds/{token.key}/tag/{secret.pk}.atom").status_code == 404
    assert client.get(f"/papers/feeds/{token.key}/tags/secret project.atom").status_code == 404


# The person's feed page ---------------------------------------------------------------------------


def test_the_feed_page_offers_to_make_a_key_and_then_shows_the_urls(login, researcher):
    ml = Tag.objects.create(user=researcher, name="ml")
    client = login(researcher)

    before = client.get("/papers/feeds/")
    made = client.post("/papers/feeds/keys/new")
    after = client.get("/papers/feeds/")

    token = FeedToken.objects.get()
    assert "Make my feed addresses" in before.text and "lab.atom" not in before.text
    assert made.status_code == 302 and made["Location"] == "/papers/feeds/"
    assert f"http://testserver/papers/feeds/{token.key}/lab.atom" in after.text
    assert f"http://testserver/papers/feeds/{token.key}/tag/{ml.pk}.atom" in after.text
    assert parse(Client().get(f"/papers/feeds/{token.key}/tag/{ml.pk}.atom")) is not None


def test_a_new_key_retires_the_old_urls(login, researcher, token):
    client = login(researcher)

    client.post("/papers/feeds/keys/new")

    token.refresh_from_db()
    fresh = FeedToken.objects.active().get()
    assert token.revoked_at is not None and fresh != token
    assert client.get(f"/papers/feeds/{token.key}/lab.atom").status_code == 404
    assert client.get(f"/papers/feeds/{fresh.key}/lab.atom").status_code == 200


def test_revoking_a_key_stops_its_feeds(login, researcher, token):
    client = login(researcher)

    response = client.post(f"/papers/feeds/keys/{token.pk}/revoke")

    assert response.status_code == 302
    assert not FeedToken.objects.active().exists()
    assert client.get(f"/papers/feeds/{token.key}/lab.atom").status_code == 404
    assert "Make my feed addresses" in client.get("/papers/feeds/").text


def test_nobody_revokes_or_sees_someone_else_s_key(login, other_researcher, token):
    client = login(other_researcher)

    response = client.post(f"/papers/feeds/keys/{token.pk}/revoke")
    page = client.get("/papers/feeds/")

    assert response.status_code == 404
    assert FeedToken.objects.active().get() == token
    assert token.key not in page.text


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/papers/feeds/"),
        ("post", "/papers/feeds/keys/new"),
        ("post", "/papers/feeds/keys/{pk}/revoke"),
    ],
)
def test_the_feed_page_and_key_changes_need_a_login(client, token, method, url):
    response = getattr(client, method)(url.format(pk=token.pk))

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert FeedToken.objects.active().get() == token


@pytest.mark.parametrize("url", ["/papers/feeds/keys/new", "/papers/feeds/keys/{pk}/revoke"])
def test_key_changes_need_a_post_with_csrf(researcher, token, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)

    assert client.get(url.format(pk=token.pk)).status_code == 405
    assert client.post(url.format(pk=token.pk)).status_code == 403
    assert FeedToken.objects.active().get() == token
