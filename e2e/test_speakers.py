"""An outside speaker confirms their talk in a real browser, from the link exactly as the e-mail
gives it, at desktop and phone width, in English and Korean; the host sends the link and copies
the same one from the talk page."""

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import translation
from playwright.sync_api import expect

from conftest import PASSWORD
from reviews.tests.factories import pdf_bytes
from seminars.models import Feedback, Talk
from seminars.tests.factories import make_talk

pytestmark = pytest.mark.browser

# Screenshots for a person to look at, only when asked for: SHOTS_DIR=/tmp/shots-<name>.
SHOTS = os.environ.get("SHOTS_DIR", "")
LINK = re.compile(r"http://\S+/seminars/talks/\d+/speaker/[A-Za-z0-9_-]+/")
WIDTHS = {"desktop": 1280, "phone": 390}


def words(language: str, text: str) -> str:
    """`text` as the portal shows it in `language`."""
    with translation.override(language):
        return translation.gettext(text)


def log_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    """Through the log-in form, by field names, so it works in either language."""
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")


@pytest.mark.parametrize(("width", "language"), [("desktop", "en"), ("phone", "ko")])
def test_speaker_confirms_the_talk_from_the_mailed_link(
    live_server, open_page, make_person, settings, tmp_path, width, language
):
    base = live_server.url
    settings.SITE_URL = base  # what `make run` sets: links in mail point at the portal serving them
    host = make_person("jiwoo", display_name="Jiwoo Park", language=language)
    # A link to another site on the speaker's page: another origin, the other name of this host.
    served = urlsplit(base)
    other_host = "127.0.0.1" if served.hostname == "localhost" else "localhost"
    elsewhere = f"http://{other_host}:{served.port}/elsewhere"
    talk = make_talk(
        kind=Talk.Kind.TECHTALK,
        title="TBA",
        speaker_name="Grace Hopper",
        host=host,
        online_link=elsewhere,
        starts_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=10),
    )

    # The host sends the link from the talk page (htmx) and finds the same link there to copy.
    host_page = open_page(WIDTHS[width], language)
    host_page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    log_in(host_page, base, "jiwoo")
    host_page.goto(f"{base}{talk.get_absolute_url()}")
    panel = host_page.locator(f"#speaker-invitation-{talk.pk}")
    panel.locator("input[name=email]").fill("grace@navy.example.org")
    panel.get_by_role("button", name=words(language, "Send the link")).click()
    expect(panel).to_contain_text(
        words(language, "A link is on its way to %(email)s.") % {"email": "grace@navy.example.org"}
    )
    mailed = LINK.search(mail.outbox[-1].body).group(0)
    assert mail.outbox[-1].to == ["grace@navy.example.org"]
    assert mailed.startswith(f"{base}/seminars/talks/{talk.pk}/speaker/")
    shown = panel.locator(f"#speaker-link-{talk.pk}")
    expect(shown).to_have_value(mailed)
    panel.get_by_role("button", name=words(language, "Copy"), exact=True).click()
    expect(panel.get_by_role("button", name=words(language, "Copied"))).to_be_visible()
    assert host_page.evaluate("navigator.clipboard.readText()") == mailed

    # The speaker, without an account, opens the link as mailed and confirms.
    speaker = open_page(WIDTHS[width], language)
    posts = []
    speaker.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    speaker.goto(mailed)
    expect(speaker.get_by_role("heading", level=1)).to_have_text(words(language, "Your talk at the lab"))
    form = speaker.locator("form.speaker-details")
    form.locator("[name=speaker_affiliation]").fill("US Navy")
    form.locator("[name=title]").fill("Compilers for everyone")
    form.locator("[name=abstract]").fill("Programs in words, with $O(n)$ passes.")
    form.locator("[name=speaker_bio]").fill("Wrote the first compiler.")
    form.locator("[name=speaker_homepage]").fill("https://grace.example.org/")
    form.locator("[name=speaker_timezone]").select_option("America/New_York")
    form.locator("[name=recording_consent][value=yes]").check()
    form.get_by_role("button", name=words(language, "Confirm my talk")).click()

    expect(speaker.locator(".messages")).to_contain_text(
        words(language, "Thank you: your talk is confirmed and the host has been told.")
    )
    talk.refresh_from_db()
    assert talk.speaker_confirmed_at is not None
    assert talk.title == "Compilers for everyone"
    assert talk.speaker_timezone == "America/New_York"
    assert talk.recording_consent is True
    # Chromium posted the form with the page's own origin, which Django's CSRF check accepts.
    assert posts[-1].all_headers()["origin"] == base
    assert mail.outbox[-1].to == [host.email]

    # Another site never learns the address (and so the token) from the speaker's page.
    seen = []

    def other_site(route):
        seen.append(route.request.all_headers())
        route.fulfill(status=200, body="elsewhere")

    speaker.route(elsewhere, other_site)
    speaker.get_by_role("link", name=elsewhere).click()
    expect(speaker).to_have_url(elsewhere)
    assert seen and "referer" not in seen[0]

    host_page.reload()
    expect(panel).to_contain_text(words(language, "The speaker's link"))
    expect(host_page.locator("main h1")).to_contain_text("Compilers for everyone")

    # After the talk the same link stays open: the speaker reads the feedback, without names, and
    # uploads the slides from it.
    now = datetime.now(UTC)
    Talk.objects.filter(pk=talk.pk).update(
        starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1)
    )
    listener = make_person("hana", display_name="Hana Secret", language=language)
    Feedback.objects.create(talk=talk, user=listener, rating=5, comments="Loved the <b>compiler</b> demo")
    speaker.goto(mailed)
    expect(speaker.locator("main")).to_contain_text(
        words(
            language,
            "Your talk is over: thank you. This page stays open for you to upload your slides and to "
            "read what the audience said.",
        )
    )
    expect(speaker.locator("form.speaker-details")).to_have_count(0)
    feedback = speaker.locator("#speaker-feedback")
    expect(feedback).to_contain_text("Loved the <b>compiler</b> demo")  # shown, not run
    expect(feedback).not_to_contain_text("Hana")
    slides = speaker.locator("form.speaker-slides")
    slides.locator("input[name=slides]").set_input_files(
        {"name": "slides.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    )
    slides.locator("button[name=upload_slides]").click()
    expect(speaker.locator(".messages")).to_contain_text(
        words(language, "Your slides are up; everyone who signed up has been told.")
    )
    talk.refresh_from_db()
    assert talk.slides.name.endswith(".pdf")
    if SHOTS:
        speaker.screenshot(path=str(Path(SHOTS) / f"speaker-after-{width}-{language}.png"), full_page=True)
