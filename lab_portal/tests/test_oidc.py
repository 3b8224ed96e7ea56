"""Single sign-on, end to end, against a small but real OpenID Provider on 127.0.0.1.

The provider runs in a thread and speaks HTTP, so mozilla-django-oidc's real `requests` calls,
the HS256 signature check and the nonce check are all exercised; nothing in the library is mocked.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from lab_portal.models import SsoIdentity, User

CLIENT_ID = "lab-portal"
# HS256 keys shorter than 32 bytes make PyJWT warn, so both secrets are long enough.
CLIENT_SECRET = "shared-secret-between-portal-and-provider-0123"
WRONG_SECRET = "a-secret-the-portal-has-never-been-told-456789"
CODE = "code-from-the-provider"
ACCESS_TOKEN = "access-token-from-the-provider"


class FakeProvider:
    """What the provider will answer next; each test arranges it before signing in."""

    def __init__(self, url: str):
        self.url = url
        self.nonce = None
        self.signing_secret = CLIENT_SECRET
        self.claims = {}
        # What the ID token says beyond the user info's claims (None: leave the claim out).
        self.token_claims = {}
        self.token_requests = []

    def id_token(self) -> str:
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "sub": self.claims.get("sub", "subject-1"),
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce,
            # Like most providers, the token repeats the address and whether it was verified.
            **{name: self.claims[name] for name in ("email", "email_verified") if name in self.claims},
            **self.token_claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, self.signing_secret, algorithm="HS256")


class ProviderHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/token":
            return self._json(404, {"error": "not_found"})
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = {key: values[0] for key, values in parse_qs(body).items()}
        provider = self.server.provider
        provider.token_requests.append(form)
        # Like a real provider, refuse the exchange unless the portal proves who it is.
        if (form.get("client_id"), form.get("client_secret"), form.get("code")) != (
            CLIENT_ID,
            CLIENT_SECRET,
            CODE,
        ):
            return self._json(400, {"error": "invalid_grant"})
        self._json(
            200,
            {
                "access_token": ACCESS_TOKEN,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": provider.id_token(),
            },
        )

    def do_GET(self):
        if self.path != "/userinfo":
            return self._json(404, {"error": "not_found"})
        if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return self._json(401, {"error": "invalid_token"})
        self._json(200, {"sub": "subject-1", **self.server.provider.claims})

    def _json(self, status: int, data: dict):
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        # Keep pytest's captured output about the portal, not the provider's access log.
        pass


@pytest.fixture
def provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProviderHandler)
    server.provider = FakeProvider(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.provider
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def oidc(settings, provider):
    """Turns SSO on the way settings.py does when OIDC_RP_CLIENT_ID is set."""
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SIGN_ALGO = "HS256"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.url}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.url}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider.url}/userinfo"
    settings.OIDC_RP_SCOPES = "openid email profile"
    settings.OIDC_PROVIDER_NAME = "Lab ID"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "lab_portal.auth.LabOIDCBackend"]
    return provider


def start_sign_in(client, provider) -> str:
    """Follows the portal to the provider's door, returning the state it chose.

    The nonce only travels in the redirect, so the provider learns it here, as it would from
    the browser's authorization request.
    """
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.url}/authorize"
    query = parse_qs(location.query)
    provider.nonce = query["nonce"][0]
    return query["state"][0]


def sign_in(client, provider):
    state = start_sign_in(client, provider)
    return client.get("/oidc/callback/", {"code": CODE, "state": state})


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_sso_off_authenticate_answers_404(client, db):
    response = client.get("/oidc/authenticate/")

    assert response.status_code == 404


def test_sso_off_login_page_has_no_sso_button(client, db):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert response.context["oidc_enabled"] is False
    assert b"/oidc/authenticate/" not in response.content
    assert b"Log in with" not in response.content


def test_sso_on_login_page_shows_provider_button(client, db, oidc):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert "Log in with Lab ID" in response.content.decode()
    assert b'href="/oidc/authenticate/"' in response.content


@pytest.mark.parametrize(
    ("claims", "username"),
    [
        ({"preferred_username": "hana", "email": "hana.lee@lab.example.org"}, "hana"),
        # Without preferred_username the e-mail's local part names the person, slugified.
        ({"email": "hana.lee@lab.example.org"}, "hanalee"),
        # A Hangul preferred_username slugifies to nothing: the mailbox name is used instead.
        ({"preferred_username": "이하나", "email": "hana.lee@lab.example.org"}, "hanalee"),
    ],
)
def test_sso_callback_creates_and_logs_in_new_person(client, db, oidc, claims, username):
    oidc.claims = {
        **claims,
        "email_verified": True,
        "name": "Hana Lee",
        "given_name": "Hana",
        "family_name": "Lee",
    }

    response = sign_in(client, oidc)
    home = client.get("/")

    person = User.objects.get(email="hana.lee@lab.example.org")
    assert response.status_code == 302
    # A first log-in asks the welcome questions before the dashboard.
    assert response["Location"] == "/welcome/?next=%2F"
    assert person.username == username
    assert person.display_name == "Hana Lee"
    assert not person.has_usable_password()
    assert signed_in_user_id(client) == str(person.pk)
    assert home.status_code == 200
    assert "Today for Hana Lee" in home.content.decode()
    # The code went back to the provider with the portal's own credentials, callback address
    # and PKCE verifier.
    [sent] = oidc.token_requests
    assert len(sent.pop("code_verifier")) == 64
    assert sent == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "authorization_code",
        "code": CODE,
        "redirect_uri": "http://testserver/oidc/callback/",
    }


def test_sso_callback_matches_existing_person_by_email(client, researcher, oidc):
    # Different username and name at the provider, and the e-mail in another case: the e-mail
    # alone decides who this is, and the portal keeps the name the person chose.
    oidc.claims = {
        "preferred_username": "mkim",
        "email": researcher.email.upper(),
        "email_verified": True,
        "name": "Kim Minji",
    }

    response = sign_in(client, oidc)
    home = client.get("/")

    researcher.refresh_from_db()
    assert response.status_code == 302
    assert User.objects.count() == 1
    assert signed_in_user_id(client) == str(researcher.pk)
    assert researcher.display_name == "Minji Kim"
    assert "Today for Minji Kim" in home.content.decode()


def test_sso_callback_with_wrong_state_logs_nobody_in(client, db, oidc):
    oidc.claims = {
        "preferred_username": "hana",
        "email": "hana@lab.example.org",
        "email_verified": True,
        "name": "Hana",
    }
    start_sign_in(client, oidc)

    response = client.get("/oidc/callback/", {"code": CODE, "state": "forged-state"})

    assert response.status_code == 400
    assert signed_in_user_id(client) is None
    assert not User.objects.exists()
    # A forged state must be refused before the code is ever spent at the provider.
    assert oidc.token_requests == []


def test_sso_callback_with_id_token_signed_by_wrong_secret_logs_nobody_in(client, db, oidc):
    oidc.claims = {
        "preferred_username": "hana",
        "email": "hana@lab.example.org",
        "email_verified": True,
        "name": "Hana",
    }
    oidc.signing_secret = WRONG_SECRET

    response = sign_in(client, oidc)
    home = client.get("/")

    assert response.status_code == 502
    assert "could not verify Lab ID" in response.text
    assert len(oidc.token_requests) == 1
    assert signed_in_user_id(client) is None
    assert not User.objects.exists()
    assert home.status_code == 302
    assert home["Location"].startswith("/accounts/login/")


def test_sso_refuses_an_unverified_email(client, researcher, oidc):
    oidc.claims = {"email": researcher.email, "email_verified": False, "name": "Impostor"}

    sign_in(client, oidc)

    assert signed_in_user_id(client) is None


def test_sso_session_ends_when_the_person_is_deactivated(client, researcher, oidc):
    oidc.claims = {"email": researcher.email, "email_verified": True, "name": "Minji Kim"}
    sign_in(client, oidc)
    assert client.get("/").status_code == 200

    researcher.is_active = False
    researcher.save()
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# The provider's subject names a person for good; e-mail only finds them the first time.


def verified(email: str, **claims) -> dict:
    return {"email": email, "email_verified": True, **claims}


def test_sso_first_sign_on_links_the_provider_subject(client, researcher, oidc):
    oidc.claims = verified(researcher.email, sub="abc-123")

    sign_in(client, oidc)

    assert signed_in_user_id(client) == str(researcher.pk)
    identity = SsoIdentity.objects.get()
    assert (identity.person, identity.issuer, identity.subject) == (researcher, oidc.url, "abc-123")


def test_sso_after_the_first_sign_on_the_subject_decides_and_the_address_follows(
    client, researcher, other_researcher, oidc
):
    SsoIdentity.objects.create(person=researcher, issuer=oidc.url, subject="abc-123")
    oidc.claims = verified("minji.kim@new.example.org", sub="abc-123")

    sign_in(client, oidc)

    researcher.refresh_from_db()
    assert signed_in_user_id(client) == str(researcher.pk)
    assert researcher.email == "minji.kim@new.example.org"
    assert User.objects.count() == 2


def test_sso_another_subject_with_a_linked_account_address_is_refused(client, researcher, oidc):
    SsoIdentity.objects.create(person=researcher, issuer=oidc.url, subject="abc-123")
    oidc.claims = verified(researcher.email, sub="someone-else")

    sign_in(client, oidc)

    assert signed_in_user_id(client) is None
    assert User.objects.count() == 1 and SsoIdentity.objects.get().subject == "abc-123"


def test_sso_an_address_typed_on_someone_else_profile_never_opens_their_account(
    client, login, other_researcher, oidc, smtp
):
    # Taeho types the address a future member will have; it waits, unconfirmed, on his profile.
    profile = {"display_name": "Taeho", "timezone": "Asia/Seoul", "language": "en"}
    login(other_researcher).post("/me/", {**profile, "email": "hana@lab.example.org"})
    client.logout()
    oidc.claims = verified("hana@lab.example.org", sub="hana-1", preferred_username="hana")

    sign_in(client, oidc)

    hana = User.objects.get(username="hana")
    other_researcher.refresh_from_db()
    assert signed_in_user_id(client) == str(hana.pk) != str(other_researcher.pk)
    assert (hana.email, other_researcher.email) == ("hana@lab.example.org", "taeho@lab.example.org")
    assert SsoIdentity.objects.get().person == hana


def test_sso_a_colleague_address_on_a_profile_does_not_block_its_owner(
    client, researcher, other_researcher, oidc
):
    # What the profile now refuses, and what a pending address is at most: neither blocks anyone.
    other_researcher.pending_email = researcher.email
    other_researcher.save()
    oidc.claims = verified(researcher.email.upper(), sub="minji-1")

    sign_in(client, oidc)

    assert signed_in_user_id(client) == str(researcher.pk)


@pytest.mark.parametrize(
    ("claims", "token_claims"),
    [
        ({"email_verified": False}, {}),
        ({}, {}),  # no claim at all
        ({"email_verified": "false"}, {}),
        ({"email_verified": True}, {"email_verified": False}),  # the ID token says otherwise
        ({"email_verified": True}, {"email": "someone.else@lab.example.org"}),
        ({"email_verified": True}, {"aud": "another-client"}),
    ],
    ids=["false", "missing", "string-false", "token-false", "token-other-address", "other-audience"],
)
def test_sso_refuses_what_the_provider_did_not_verify_for_us(client, researcher, oidc, claims, token_claims):
    oidc.claims = {"email": researcher.email, "name": "Impostor", **claims}
    oidc.token_claims = token_claims

    sign_in(client, oidc)

    assert signed_in_user_id(client) is None
    assert not SsoIdentity.objects.exists() and User.objects.count() == 1


def test_sso_accepts_a_verified_claim_sent_as_a_string(client, researcher, oidc):
    oidc.claims = {"email": researcher.email, "email_verified": "true"}

    sign_in(client, oidc)

    assert signed_in_user_id(client) == str(researcher.pk)


def test_sso_refuses_user_info_about_another_subject(client, researcher, oidc):
    oidc.claims = verified(researcher.email, sub="abc-123")
    oidc.token_claims = {"sub": "xyz-789"}

    sign_in(client, oidc)

    assert signed_in_user_id(client) is None


def test_sso_profile_address_comes_from_the_provider(login, researcher, oidc, smtp):
    client = login(researcher)
    profile = {"display_name": "Minji", "timezone": "Asia/Seoul", "language": "en"}

    page = client.get("/me/")
    client.post("/me/", {**profile, "email": "minji@elsewhere.example.org"})
    link = client.get("/me/email/confirm/anything/")

    researcher.refresh_from_db()
    assert 'name="email"' in page.text and "disabled" in page.text.split('name="email"')[1].split(">")[0]
    assert "Your address comes from Lab ID." in page.text
    assert (researcher.email, researcher.pending_email) == ("minji@lab.example.org", "")
    assert smtp.messages == []
    assert link.status_code == 404
