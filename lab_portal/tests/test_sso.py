"""Single sign-on against a real OpenID Connect provider (django-oauth-toolkit, RS256, PKCE
required) running in its own process on 127.0.0.1: the person's browser at the provider is a
requests session, the portal is Django's test client."""

import html
import logging
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from conftest import PASSWORD
from lab_portal.models import Delivery, SignOnPolicy, SsoIdentity, User
from lab_portal.tests.oidc_provider.testing import CLIENT_ID, ProviderBrowser


def newcomer(sso, **account) -> tuple[str, str]:
    """A person only the provider knows yet: (username, e-mail)."""
    username = f"hana-{uuid.uuid4().hex[:6]}"
    email = account.pop("email", f"{username}@lab.example.org")
    sso.add_person(username, email=email, name="Hana Lee", **account)
    return username, email


def log_in(client, username, *, browser=None, allow=True, next_url=""):
    """The whole flow: the portal's button, the provider's log-in and consent, the callback."""
    browser = browser or ProviderBrowser()
    start = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content[:300]
    back = urlsplit(browser.authorize(start["Location"], username=username, allow=allow))
    assert back.netloc == "testserver"
    return client.get(f"{back.path}?{back.query}")


def signed_in(client) -> str | None:
    return client.session.get("_auth_user_id")


def test_sso_first_log_in_asks_the_welcome_questions_then_lands_on_the_dashboard(client, db, sso, team):
    username, email = newcomer(sso)

    response = log_in(client, username)
    welcome = client.get(response["Location"])
    saved = client.post(
        response["Location"],
        {
            "display_name": "Hana Lee",
            "requested_team": team.pk,
            "timezone": "Europe/Berlin",
            "language": "ko",
            "arxiv_names": "Hana Lee\nH. Lee",
        },
    )
    home = client.get(saved["Location"])

    person = User.objects.get(email=email)
    assert response["Location"] == "/welcome/?next=%2F"
    assert "Welcome to Lab Portal" in welcome.text
    assert saved["Location"] == "/"
    assert (person.timezone, person.language, person.arxiv_names) == (
        "Europe/Berlin",
        "ko",
        ["Hana Lee", "H. Lee"],
    )
    assert (person.requested_team, person.team, person.needs_welcome) == (team, None, False)
    assert not person.has_usable_password()
    assert home.status_code == 200
    identity = SsoIdentity.objects.get(person=person)
    assert identity.issuer == sso.issuer


def test_sso_authorization_request_always_carries_pkce_s256(client, db, sso):
    start = client.get("/oidc/authenticate/")

    query = parse_qs(urlsplit(start["Location"]).query)
    assert start["Location"].startswith(f"{sso.issuer}/authorize/?")
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]


def test_sso_returning_person_goes_straight_to_where_they_were_going(client, db, sso):
    username, _email = newcomer(sso)
    browser = ProviderBrowser()
    log_in(client, username, browser=browser)
    client.post("/welcome/?next=/", {"display_name": "Hana", "timezone": "Asia/Seoul", "language": "en"})
    client.post("/accounts/logout/")

    response = log_in(client, username, browser=browser, next_url="/papers/")

    assert response["Location"] == "/papers/"
    assert signed_in(client) is not None
    assert User.objects.filter(username__startswith="hana-").count() == 1


def test_sso_a_next_address_elsewhere_is_ignored(client, db, sso):
    username, _email = newcomer(sso)

    response = log_in(client, username, next_url="https://evil.example.com/")

    assert response["Location"] == "/welcome/?next=%2F"


def refused(response, reason: str, status: int):
    assert response.status_code == status, response.text[:500]
    assert f'data-reason="{reason}"' in response.text
    return html.unescape(response.text)


def test_sso_consent_denied_says_so_and_logs_it(client, db, sso, caplog):
    username, _email = newcomer(sso)
    caplog.set_level(logging.INFO)

    response = log_in(client, username, allow=False)

    text = refused(response, "denied", 403)
    assert "You did not allow Lab Portal to use your Lab ID account." in text
    assert "SSO log-in refused (denied)" in caplog.text
    assert signed_in(client) is None and not User.objects.exists()


def test_sso_unverified_email_is_refused_with_the_reason(client, db, sso, caplog):
    username, email = newcomer(sso, email_verified=False)

    response = log_in(client, username)

    text = refused(response, "unverified", 403)
    assert f"Lab ID has not verified your e-mail address {email}." in text
    assert "SSO log-in refused (unverified)" in caplog.text
    assert not User.objects.exists()


def test_sso_two_subjects_one_address_is_refused_with_the_reason(client, researcher, sso):
    SsoIdentity.objects.create(person=researcher, issuer=sso.issuer, subject="someone-before")
    username, _email = newcomer(sso, email=researcher.email)

    response = log_in(client, username)

    refused(response, "taken", 403)
    assert SsoIdentity.objects.get().subject == "someone-before"


def test_sso_only_admitted_domains_get_in(client, db, sso):
    SignOnPolicy(allowed_domains="lab.example.org").save()
    outsider, _ = newcomer(sso, email=f"x-{uuid.uuid4().hex[:6]}@gmail.example.com")
    member, member_email = newcomer(sso)

    refusal = log_in(client, outsider)
    welcome = log_in(client, member)

    assert "is not among them" in refused(refusal, "not_admitted", 403)
    assert welcome.status_code == 302 and User.objects.get().email == member_email


def test_sso_a_provider_group_admits_an_address_outside_the_domains(client, db, sso):
    SignOnPolicy(allowed_domains="lab.example.org", allowed_groups="lab-members").save()
    guest, guest_email = newcomer(
        sso, email=f"g-{uuid.uuid4().hex[:6]}@uni.example.edu", groups=["lab-members"]
    )

    response = log_in(client, guest)

    assert response.status_code == 302
    assert User.objects.get().email == guest_email


def test_sso_new_accounts_wait_for_approval_and_admins_are_told(client, db, sso, make_person, smtp):
    admin = make_person("boss", role=User.Role.ADMIN)
    SignOnPolicy(approve_new_accounts=True).save()
    username, email = newcomer(sso)

    first = log_in(client, username)
    person = User.objects.get(email=email)
    told = Delivery.objects.filter(channel__person=admin, dedupe_key=f"signup:{person.pk}")
    second = log_in(client, username)

    assert "waiting for an administrator" in refused(first, "awaiting_approval", 403)
    refused(second, "awaiting_approval", 403)
    assert (person.is_active, person.awaiting_approval) == (False, True)
    assert told.count() == 1 and email in told.get().payload["text"]


def test_sso_an_approved_account_logs_in_and_its_owner_is_told(client, admin_client, db, sso, smtp):
    SignOnPolicy(approve_new_accounts=True).save()
    username, email = newcomer(sso)
    log_in(client, username)
    person = User.objects.get(email=email)

    admin_client.post("/admin/lab_portal/user/", {"action": "approve", "_selected_action": [person.pk]})
    response = log_in(client, username)

    person.refresh_from_db()
    assert (person.is_active, person.awaiting_approval) == (True, False)
    assert Delivery.objects.filter(channel__person=person, dedupe_key=f"approved:{person.pk}").exists()
    assert response.status_code == 302 and signed_in(client) == str(person.pk)


# The provider misbehaving: a clear page, never a 500 or a held worker.


def test_sso_wrong_client_secret_is_named_as_the_portal_setup(client, db, sso, settings, caplog):
    settings.OIDC_RP_CLIENT_SECRET = "not-the-registered-secret"
    username, _email = newcomer(sso)

    response = log_in(client, username)

    assert "refused the portal's own credentials" in refused(response, "misconfigured", 502)
    assert "the token endpoint answered invalid_client" in caplog.text


def test_sso_provider_down_at_the_code_exchange(client, db, sso, settings, tmp_path):
    from lab_portal.tests.oidc_provider.testing import start_provider

    # A provider of its own, stopped between the person's consent and the portal's exchange.
    own = start_provider(tmp_path)
    own.register_portal("http://testserver")
    username, _email = newcomer(own)
    settings.OIDC_DISCOVERY_URL = own.discovery_url
    start = client.get("/oidc/authenticate/")
    back = urlsplit(ProviderBrowser().authorize(start["Location"], username=username))
    own.stop()

    response = client.get(f"{back.path}?{back.query}")

    assert "Lab ID cannot be reached right now." in refused(response, "down", 503)
    assert signed_in(client) is None


def test_sso_provider_hanging_at_the_code_exchange_times_out(client, db, sso, settings, caplog):
    settings.OIDC_TIMEOUT = 0.5
    username, _email = newcomer(sso)
    start = client.get("/oidc/authenticate/")
    back = urlsplit(ProviderBrowser().authorize(start["Location"], username=username))
    sso.hang("/o/token/", seconds=10)

    response = client.get(f"{back.path}?{back.query}")

    assert "Lab ID did not answer within 0.5 seconds." in refused(response, "timeout", 504)
    assert "no answer in 0.5 s" in caplog.text


def test_sso_provider_down_before_log_in_starts(client, db, sso, settings):
    settings.OIDC_DISCOVERY_URL = "http://127.0.0.1:9/o/.well-known/openid-configuration"

    response = client.get("/oidc/authenticate/")

    refused(response, "down", 503)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?state=forged&code=abc",
        "?code=abc",
        "?error=access_denied",
        "?state=x&error=%3Cscript%3E",
        "?state=" + "x" * 5000,
    ],
)
def test_sso_callback_answers_malformed_input_with_a_4xx(client, db, sso, query):
    response = client.get(f"/oidc/callback/{query}")

    assert response.status_code == 400
    assert "<script>" not in response.text
    assert signed_in(client) is None


def test_sso_provider_error_codes_are_shown_escaped(client, db, sso):
    start = client.get("/oidc/authenticate/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    response = client.get("/oidc/callback/", {"state": state, "error": "temporarily_unavailable"})

    assert "it answered “temporarily_unavailable”" in refused(response, "provider_error", 502)


# The password lockout is for passwords.


def test_sso_failures_never_pause_anyone_s_password_log_in(client, researcher, sso, settings):
    username, _email = newcomer(sso)
    for _attempt in range(settings.AXES_FAILURE_LIMIT + 2):
        log_in(client, username, allow=False)
        client.get("/oidc/callback/?state=forged&code=x")

    response = client.post("/accounts/login/", {"username": researcher.username, "password": PASSWORD})
    sso_again = log_in(client, username)

    assert response.status_code == 302 and signed_in(client) is not None
    assert sso_again.status_code == 302


def test_sso_password_lockout_page_points_to_the_provider(client, researcher, sso, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": researcher.username, "password": "wrong"})

    response = client.post("/accounts/login/", {"username": researcher.username, "password": "wrong"})

    assert response.status_code == 429
    assert "Logging in with Lab ID is not affected." in response.text
    assert "Reset your password" not in response.text


def test_sso_wrong_password_message_points_people_without_one_to_the_provider(client, researcher, sso):
    response = client.post("/accounts/login/", {"username": researcher.username, "password": "wrong"})

    assert "If you log in with Lab ID, use its button above" in response.text


# Password log-in turned off, with break-glass administrators.


@pytest.fixture
def passwords_off(db, make_person):
    admin = make_person("root", role=User.Role.ADMIN)
    policy = SignOnPolicy(password_login=False)
    policy.save()
    policy.break_glass.add(admin)
    return admin


def test_password_log_in_off_refuses_researchers_and_says_why(client, researcher, sso, passwords_off):
    page = client.get("/accounts/login/")

    response = client.post(
        "/accounts/login/?password", {"username": researcher.username, "password": PASSWORD}
    )

    assert 'name="password"' not in page.text and "Administrator log-in with a password" in page.text
    assert "Password log-in is turned off: log in with Lab ID." in response.text
    assert signed_in(client) is None


def test_password_log_in_off_keeps_break_glass_admins(client, sso, passwords_off):
    response = client.post(
        "/accounts/login/?password", {"username": passwords_off.username, "password": PASSWORD}
    )

    assert response.status_code == 302 and signed_in(client) == str(passwords_off.pk)


def test_password_log_in_off_closes_the_admin_site_but_to_break_glass(
    client, make_person, sso, passwords_off
):
    other_admin = make_person("helper", role=User.Role.ADMIN)

    refused = client.post("/admin/login/", {"username": other_admin.username, "password": PASSWORD})
    allowed = client.post("/admin/login/", {"username": passwords_off.username, "password": PASSWORD})

    assert refused.status_code == 200 and "Please enter the correct" in refused.text
    assert allowed.status_code == 302 and signed_in(client) == str(passwords_off.pk)


def test_password_session_ends_when_password_log_in_is_turned_off(client, researcher, sso):
    client.post("/accounts/login/", {"username": researcher.username, "password": PASSWORD})
    assert client.get("/").status_code == 200

    SignOnPolicy(password_login=False).save()
    response = client.get("/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_password_log_in_off_sends_no_reset_mail_but_to_break_glass(client, researcher, sso, passwords_off):
    client.post("/accounts/password_reset/", {"email": researcher.email})
    client.post("/accounts/password_reset/", {"email": passwords_off.email})

    assert [message.to for message in mail.outbox] == [[passwords_off.email]]


def test_sso_people_without_a_password_are_not_offered_to_change_it(client, db, sso):
    username, _email = newcomer(sso)
    log_in(client, username)

    profile = client.get("/me/")
    change = client.get("/accounts/password_change/")

    assert "Change password" not in profile.text
    assert change.status_code == 404


def test_password_people_are_still_offered_to_change_it(login, researcher, sso):
    client = login(researcher)

    assert "Change password" in client.get("/me/").text
    assert client.get("/accounts/password_change/").status_code == 200


# Sessions re-checked with the provider.


def test_sso_person_deactivated_at_the_provider_is_out_within_the_interval(client, db, sso):
    SignOnPolicy(recheck_minutes=10).save()
    username, email = newcomer(sso)
    log_in(client, username)
    sso.add_person(username, email=email, is_active=False)

    within = client.get("/me/")
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        after = client.get("/me/")
        login_page = client.get(after["Location"])

    assert within.status_code == 200
    assert after.status_code == 302 and after["Location"].startswith("/accounts/login/")
    assert "Your session ended: Lab ID no longer confirms your account." in login_page.text
    assert signed_in(client) is None


def test_sso_active_person_stays_and_is_checked_again_later(client, db, sso, caplog):
    SignOnPolicy(recheck_minutes=5).save()
    username, _email = newcomer(sso)
    log_in(client, username)
    first_refresh = client.session["sso"]["refresh_token"]

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = client.get("/me/")

    assert response.status_code == 200
    assert client.session["sso"]["refresh_token"] != first_refresh


def test_sso_session_check_with_the_provider_down_keeps_the_session(client, db, sso, settings, caplog):
    SignOnPolicy(recheck_minutes=5).save()
    username, _email = newcomer(sso)
    log_in(client, username)
    settings.OIDC_TIMEOUT = 0.5
    sso.hang("/o/token/", seconds=5)

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = client.get("/me/")

    assert response.status_code == 200
    assert "could not re-check" in caplog.text


def test_sso_session_check_of_an_htmx_request_redirects_the_whole_page(client, db, sso):
    SignOnPolicy(recheck_minutes=1).save()
    username, email = newcomer(sso)
    log_in(client, username)
    sso.add_person(username, email=email, is_active=False)

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        response = client.get("/me/channels/", headers={"HX-Request": "true"})

    assert response.status_code == 204 and response["HX-Redirect"] == "/accounts/login/"


# Logging out.


def test_sso_log_out_offers_log_out_at_the_provider(client, db, sso):
    username, _email = newcomer(sso)
    browser = ProviderBrowser()
    log_in(client, username, browser=browser)
    id_token = client.session["sso"]["id_token"]

    client.post("/accounts/logout/")
    page = client.get("/accounts/login/")
    link = page.context["end_session_url"]
    at_provider = browser.get(link)
    again = browser.get(client.get("/oidc/authenticate/")["Location"])

    query = parse_qs(urlsplit(link).query)
    assert signed_in(client) is None
    assert "Log out of Lab ID too" in page.text
    assert link.startswith(f"{sso.issuer}/logout/?")
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert at_provider.status_code == 302
    assert at_provider.headers["Location"] == "http://testserver/accounts/login/"
    # Logged out there too: the next log-in asks for the provider's password again.
    assert "/accounts/login/" in again.headers["Location"]


def test_password_log_out_offers_nothing_at_the_provider(login, researcher, sso):
    client = login(researcher)

    client.post("/accounts/logout/")
    page = client.get("/accounts/login/")

    assert "Log out of Lab ID too" not in page.text


# Codes and tokens never reach the logs.


def test_sso_codes_and_tokens_stay_out_of_the_logs(client, db, sso, caplog):
    caplog.set_level(logging.DEBUG)
    username, _email = newcomer(sso)
    start = client.get("/oidc/authenticate/")
    back = urlsplit(ProviderBrowser().authorize(start["Location"], username=username))
    code = parse_qs(back.query)["code"][0]

    client.get(f"{back.path}?{back.query}")

    tokens = client.session["sso"]
    assert code not in caplog.text
    assert tokens["access_token"] not in caplog.text and tokens["refresh_token"] not in caplog.text


def test_development_server_request_lines_hide_the_callback_query():
    from lab_portal.sso import HideSignOnCodes

    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        "",
        0,
        '"%s" %s %s',
        ("GET /oidc/callback/?code=secret&state=s HTTP/1.1", 302, 0),
        None,
    )

    HideSignOnCodes().filter(record)

    assert "secret" not in record.getMessage()
    assert "/oidc/callback/?…" in record.getMessage()
