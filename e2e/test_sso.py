"""Single sign-on in Chromium against a real OpenID Connect provider (django-oauth-toolkit in
its own process, RS256, PKCE required): every path a researcher or an admin can take."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from lab_portal.models import SignOnPolicy, Team, User
from lab_portal.tests.oidc_provider.testing import PASSWORD as PROVIDER_PASSWORD
from lab_portal.tests.oidc_provider.testing import start_provider

pytestmark = pytest.mark.browser

PASSWORD = "a-long-password-1"


@pytest.fixture
def lab_id(sso, live_server, transactional_db):
    """The provider knows the portal at the live server's address."""
    sso.register_portal(live_server.url)
    return sso


def newcomer(provider, **account) -> tuple[str, str]:
    username = f"hana-{uuid.uuid4().hex[:6]}"
    email = account.pop("email", f"{username}@lab.example.org")
    provider.add_person(username, email=email, name="Hana Lee", **account)
    return username, email


def through_provider(page, base: str, username: str, *, allow: bool = True):
    """From the portal's log-in page through the provider's log-in and consent."""
    page.goto(f"{base}/")
    page.get_by_role("link", name="Log in with Lab ID").click()
    if page.get_by_label("Username").count():
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PROVIDER_PASSWORD)
        page.get_by_role("button", name="Sign in to Lab ID").click()
    consent = page.get_by_role("button", name="Authorize")
    if consent.count():
        (consent if allow else page.get_by_role("button", name="Cancel")).click()


def refusal(page):
    expect(page.get_by_role("heading", level=1)).to_have_text("Log-in did not work")
    return page.get_by_role("alert")


def test_first_log_in_asks_the_welcome_questions_and_a_returning_person_goes_straight_in(
    page, live_server, lab_id
):
    Team.objects.create(name="Vision", slug="vision")
    base = live_server.url
    username, email = newcomer(lab_id)

    through_provider(page, base, username)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Lab Portal")
    expect(page.get_by_label("Display name")).to_have_value("Hana Lee")
    page.get_by_label("Your team").select_option(label="Vision")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_label("Names on arXiv").fill("Hana Lee\nH. Lee")
    page.get_by_role("button", name="Save and continue").click()

    expect(page).to_have_url(f"{base}/")
    expect(page.locator(".messages")).to_contain_text("The lab's administrators will put you in Vision.")
    person = User.objects.get(email=email)
    assert (person.timezone, person.requested_team.name, person.needs_welcome) == (
        "Europe/Berlin",
        "Vision",
        False,
    )

    page.goto(f"{base}/me/")
    expect(page.get_by_role("link", name="Change password")).to_have_count(0)
    page.get_by_role("button", name="Log out").click()
    through_provider(page, base, username)
    expect(page).to_have_url(f"{base}/")


def test_consent_denied_says_so(page, live_server, lab_id):
    username, _ = newcomer(lab_id)

    through_provider(page, live_server.url, username, allow=False)

    expect(refusal(page)).to_have_text("You did not allow Lab Portal to use your Lab ID account.")
    expect(page.get_by_role("link", name="Log in with Lab ID")).to_be_visible()


def test_an_unverified_address_is_refused(page, live_server, lab_id):
    username, email = newcomer(lab_id, email_verified=False)

    through_provider(page, live_server.url, username)

    expect(refusal(page)).to_have_text(f"Lab ID has not verified your e-mail address {email}.")
    assert not User.objects.exists()


def test_a_domain_not_admitted_is_refused(page, live_server, lab_id):
    SignOnPolicy(allowed_domains="lab.example.org").save()
    username, email = newcomer(lab_id, email=f"x-{uuid.uuid4().hex[:6]}@elsewhere.example.com")

    through_provider(page, live_server.url, username)

    expect(refusal(page)).to_contain_text(f"{email} is not among them")


def test_a_wrong_client_secret_is_named(page, live_server, lab_id, settings):
    settings.OIDC_RP_CLIENT_SECRET = "not-what-the-provider-has"
    username, _ = newcomer(lab_id)

    through_provider(page, live_server.url, username)

    expect(refusal(page)).to_contain_text("Lab ID refused the portal's own credentials")


def test_the_provider_down(page, live_server, lab_id, settings, tmp_path):
    own = start_provider(tmp_path)
    own.register_portal(live_server.url)
    username, _ = newcomer(own)
    settings.OIDC_DISCOVERY_URL = own.discovery_url

    # The provider stops right after the person's consent, before the portal exchanges the code.
    def stop_after_consent(route):
        if route.request.method != "POST":
            return route.continue_()
        response = route.fetch(max_redirects=0)
        own.stop()
        route.fulfill(response=response)

    page.route(lambda url: urlsplit(url).path == "/o/authorize/", stop_after_consent)
    through_provider(page, live_server.url, username)

    expect(refusal(page)).to_have_text("Lab ID cannot be reached right now.")


def test_the_provider_hanging(page, live_server, lab_id, settings):
    settings.OIDC_TIMEOUT = 0.5
    username, _ = newcomer(lab_id)
    lab_id.hang("/o/token/", seconds=10)

    through_provider(page, live_server.url, username)

    expect(refusal(page)).to_have_text("Lab ID did not answer within 0.5 seconds.")


def test_log_out_at_both_ends(page, live_server, lab_id):
    base = live_server.url
    username, _ = newcomer(lab_id)
    through_provider(page, base, username)
    page.get_by_role("button", name="Save and continue").click()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status").filter(has_text="still logged in at Lab ID")).to_be_visible()
    page.get_by_role("link", name="Log out of Lab ID too").click()
    expect(page).to_have_url(f"{base}/accounts/login/")
    page.get_by_role("link", name="Log in with Lab ID").click()

    # Logged out there too: the provider asks who this is again.
    expect(page.get_by_role("button", name="Sign in to Lab ID")).to_be_visible()


def test_a_person_deactivated_at_the_provider_is_out_within_the_interval(page, live_server, lab_id):
    SignOnPolicy(recheck_minutes=5).save()
    base = live_server.url
    username, email = newcomer(lab_id)
    through_provider(page, base, username)
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(f"{base}/")

    lab_id.add_person(username, email=email, is_active=False)
    page.goto(f"{base}/me/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        page.goto(f"{base}/me/")

        expect(page.get_by_role("heading", level=1)).to_have_text("Log in to Lab Portal")
        expect(page.get_by_role("status")).to_contain_text("Your session ended")


def test_an_admin_turns_password_log_in_off_and_keeps_their_own(page, live_server, lab_id):
    base = live_server.url
    admin = User.objects.create_user(
        "root", password=PASSWORD, role=User.Role.ADMIN, email="root@lab.example.org"
    )
    admin.apply_role()
    admin.save()
    User.objects.create_user("minji", password=PASSWORD, email="minji@lab.example.org")
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form").get_by_role("button", name="Log in").click()

    page.goto(f"{base}/admin/lab_portal/signonpolicy/")
    page.get_by_role("checkbox", name="Password log-in").uncheck()
    page.get_by_label("Re-check sessions every (minutes)").fill("10")
    page.locator("#id_break_glass_from").select_option(label="root")
    page.locator("#id_break_glass_add").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    policy = SignOnPolicy.objects.get()
    assert (policy.password_login, policy.recheck_minutes) == (False, 10)
    assert list(policy.break_glass.all()) == [admin]

    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    expect(page.get_by_label("Password")).to_have_count(0)
    page.get_by_role("link", name="Administrator log-in with a password").click()
    page.get_by_label("Username").fill("minji")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form").get_by_role("button", name="Log in").click()
    expect(page.locator(".errorlist")).to_contain_text("Password log-in is turned off: log in with Lab ID.")

    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form").get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/")
