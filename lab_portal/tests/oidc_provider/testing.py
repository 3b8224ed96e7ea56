"""Starting the test provider, arranging it, and a person's browser at it (through requests)."""

import html
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[3]
CLIENT_ID = "lab-portal"
CLIENT_SECRET = "portal-secret-registered-at-the-provider"
PASSWORD = "provider password 123"


class Provider:
    def __init__(self, url: str, process: subprocess.Popen):
        self.url, self.process = url, process
        self.issuer = f"{url}/o"
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"

    def control(self, what: str, **data) -> dict:
        response = requests.post(f"{self.url}/control/{what}", json=data, timeout=10)
        response.raise_for_status()
        return response.json()

    def add_person(self, username: str, *, email: str, name: str = "", **account) -> str:
        """Creates or updates a person at the provider; returns their subject."""
        return self.control("user", username=username, email=email, name=name, password=PASSWORD, **account)[
            "sub"
        ]

    def register_portal(self, *portal_urls: str, skip_authorization: bool = False) -> None:
        self.control(
            "client",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uris=[f"{url}/oidc/callback/" for url in portal_urls],
            post_logout_redirect_uris=[f"{url}/accounts/login/" for url in portal_urls],
            skip_authorization=skip_authorization,
        )

    def hang(self, *paths: str, seconds: float = 0) -> None:
        """The provider answers these paths only after `seconds` (none: it behaves)."""
        self.control("behaviour", hang_paths=list(paths), hang_seconds=seconds)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_provider(directory: Path) -> Provider:
    port = free_port()
    log = (directory / "provider.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lab_portal.tests.oidc_provider",
            str(port),
            str(directory / "provider.sqlite3"),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    provider = Provider(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(provider.discovery_url, timeout=1).status_code == 200:
                return provider
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"The test provider did not start:\n{(directory / 'provider.log').read_text()}")


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class ProviderBrowser:
    """A person's browser at the provider: logs in there and answers the consent form."""

    def __init__(self):
        self.http = requests.Session()

    def authorize(self, url: str, *, username: str | None = None, allow: bool = True) -> str:
        """Follows an authorization request to where the provider sends the browser back."""
        response = self.http.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 302 and "/accounts/login/" in response.headers["Location"]:
            login = urljoin(url, response.headers["Location"])
            page = self.http.get(login, timeout=10)
            fields = dict(_HIDDEN.findall(page.text))
            response = self.http.post(
                login,
                data={**fields, "username": username, "password": PASSWORD, "next": _next(login)},
                allow_redirects=False,
                timeout=10,
            )
            assert response.status_code == 302, "the provider refused the person's password"
            response = self.http.get(
                urljoin(url, response.headers["Location"]), allow_redirects=False, timeout=10
            )
        if response.status_code == 200:  # the consent form
            fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(response.text)}
            if allow:
                fields["allow"] = "Authorize"
            response = self.http.post(url.split("?")[0], data=fields, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]

    def get(self, url: str) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=10)


def _next(login_url: str) -> str:
    from urllib.parse import parse_qs

    return parse_qs(urlsplit(login_url).query)["next"][0]
