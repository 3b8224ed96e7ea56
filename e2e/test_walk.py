"""The browser walk (e2e/walk.py) for each persona: the researcher, the lead, the admin, an outside
speaker with only the link they were mailed, and someone not logged in; at phone width, in English
and again in Korean, on the demo lab."""

import subprocess
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from e2e.test_dashboard import demo_lab  # noqa: F401 - the fixture is used by name
from e2e.walk import LOCALE, Walk
from lab_portal.management.commands.seed_demo import DEMO_PASSWORD
from lab_portal.models import User
from papers.models import Paper
from papers.tests.arxiv_server import TESTING_PAGES, ArxivServer, dated, entries
from reviews import reviewing
from reviews.tests.factories import pdf_bytes
from seminars import invitations
from seminars.models import Talk

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
NEW_PASSWORD = "walked-the-whole-portal-1"
PERSONAS = {"researcher": "minji", "lead": "jiwoo", "admin": "admin"}
# The walk must really go round: at least this many pages each (the crawl's reach, not its bound).
MINIMUM_PAGES = {"researcher": 40, "lead": 45, "admin": 45, "speaker": 2, "anonymous": 2}


def log_in(page, base: str, username: str):
    """Through the log-in form, by field names, so it works in either language."""
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")


def speaker_link(base: str) -> str:
    """The link an outside speaker is mailed for the demo's next Techtalk."""
    talk = (
        Talk.objects.filter(kind=Talk.Kind.TECHTALK, speaker_user=None)
        .upcoming()
        .order_by("starts_at")
        .first()
    )
    host = talk.host or User.objects.get(username="jiwoo")
    invitation = invitations.invite_speaker(talk, email="dana@example.edu", by=host)
    invitation.refresh_from_db()
    link = invitations.shareable_link(invitations.link_state(invitation))
    assert link.startswith(base), mail.outbox
    return link


def valid_input() -> dict:
    """What the walk types where a field needs more than any text: field name → value."""
    review = {name: "Walked through: clear and sound." for name in reviewing.TEXT_FIELDS}
    scores = dict.fromkeys(reviewing.SCORE_FIELDS, "3")
    known = Paper.objects.order_by("arxiv_id").values_list("arxiv_id", flat=True).first()
    return {
        **review,
        **scores,
        "<file>": {"name": "draft.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
        "title": "Walked through in a browser",
        "reference": known,
        "arxiv_id": known,
        "start_time": "10:00",
        "end_time": "11:00",
        "drafts": True,
        "query": "diffusion",
        "old_password": DEMO_PASSWORD,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }


@pytest.fixture
def arxiv(settings):
    """arXiv's stand-in, for the lead's Fetch now: this morning's papers."""
    with ArxivServer() as server:
        server.configure(settings)
        morning = timezone.now() - timedelta(hours=5)
        server.serve_entries([dated(entry, morning) for entry in entries(*TESTING_PAGES)])
        yield server


def walk_as(browser, base: str, persona: str, language: str) -> Walk:
    context = browser.new_context(viewport=PHONE, locale={"en": "en-GB", "ko": "ko-KR"}[language])
    page = context.new_page()
    page.set_default_timeout(15_000)
    values, forms_of = valid_input(), None
    if persona in PERSONAS:
        User.objects.filter(username=PERSONAS[persona]).update(language=language)
        log_in(page, base, PERSONAS[persona])
        start = f"{base}/"
        # Everyone's own e-mail channel is there already (the first mail made it): the channel the
        # walk adds is a Slack webhook, at the Slack stand-in.
        values |= NEW_CHANNEL
    elif persona == "speaker":
        start = speaker_link(base)
        # Without an account, the speaker's page is the one they can use (they may look further).
        forms_of = frozenset({"seminars:speaker-form"})
    else:
        # Logging in is the one thing to do here: the form is submitted last, with a real account.
        values |= {"username": "minji", "password": DEMO_PASSWORD}
        User.objects.filter(username="minji").update(language=language)
        start = f"{base}/"
    # axe-core reads the markup, which the language does not change: the English walk runs it.
    walk = Walk(page, base, language=language, values=values, forms_of=forms_of, axe=language == "en")
    try:
        walk.crawl(start)
        walk.submit_all()
    finally:
        context.close()
    return walk


def report(walk: Walk) -> str:
    pages = "\n".join(f"  {status} {address}" for address, status in walk.visited.items())
    forms = "\n".join(f"  {form.description}" for form in walk.forms.values())
    problems = "\n".join(f"  {problem}" for problem in walk.problems)
    return f"Problems:\n{problems}\nPages:\n{pages}\nForms:\n{forms}"


# The channel form's valid input, once the Slack stand-in is up.
NEW_CHANNEL: dict = {}


@pytest.fixture
def portal(live_server, settings, demo_lab, arxiv, slack):  # noqa: F811
    settings.SITE_URL = live_server.url  # as make run sets it: links in mail lead to this portal
    NEW_CHANNEL.update(kind="slack", target=slack.url)
    return live_server.url


@pytest.mark.parametrize("persona", ["researcher", "lead", "admin", "speaker", "anonymous"])
def test_walk_in_english(browser, portal, persona):
    walk = walk_as(browser, portal, persona, "en")

    assert walk.problems == [], report(walk)
    assert len(walk.visited) >= MINIMUM_PAGES[persona], report(walk)


@pytest.mark.parametrize("persona", ["researcher", "lead", "speaker", "anonymous"])
def test_walk_in_korean(browser, portal, persona):
    walk = walk_as(browser, portal, persona, "ko")

    assert walk.problems == [], report(walk)
    assert len(walk.visited) >= MINIMUM_PAGES[persona], report(walk)


def test_the_korean_catalogue_is_complete():
    statistics = subprocess.run(
        ["msgfmt", "--statistics", "-o", "/dev/null", str(LOCALE / "ko" / "LC_MESSAGES" / "django.po")],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    assert "untranslated" not in statistics and "fuzzy" not in statistics, statistics
