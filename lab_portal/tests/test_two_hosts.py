"""Two web hosts on one PostgreSQL, one Redis and one bucket: two gunicorn processes, each with its
own working directory and scratch space as two machines would have, behind no shared disk."""

import os
import re
import socket
import subprocess
import sys
import time

import pytest
import requests
from django.contrib.auth.hashers import make_password
from django.core.cache import cache

from conftest import PASSWORD, ROOT, database_url
from lab_portal.models import Heartbeat
from reviews.models import Draft
from reviews.tests.factories import make_deadline, pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def people(settings, researcher, other_researcher):
    """Minji and Taeho with passwords the hosts can check: theirs use Django's real hasher, not
    the fast one the in-process tests use."""
    settings.PASSWORD_HASHERS = [
        *settings.PASSWORD_HASHERS,
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    for person in (researcher, other_researcher):
        person.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
        person.save(update_fields=["password"])
    return researcher, other_researcher


@pytest.fixture
def hosts(redis_url, s3_files, tmp_path):
    """Two web hosts, `hosts[0]` and `hosts[1]`: the base URL of each."""
    started, urls = [], []
    for name in ("web-1", "web-2"):
        home = tmp_path / name
        (home / "tmp").mkdir(parents=True)
        port = _free_port()
        env = {
            **os.environ,
            **s3_files.env,
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "PYTHONPATH": str(ROOT),
            "TMPDIR": str(home / "tmp"),
            "DEBUG": "1",
            "LOGIN_FAILURE_LIMIT": "3",
            # A local directory each, which must never be where a file is looked for.
            "FILES_ROOT": str(home / "files"),
        }
        log = (home / "gunicorn.log").open("w")
        started.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "lab_portal.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--worker-tmp-dir",
                    str(home / "tmp"),
                ],
                cwd=home,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    for url, process in zip(urls, started, strict=True):
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/accounts/login/", timeout=20)
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start: see {tmp_path}")
                time.sleep(0.3)
    yield urls
    for process in started:
        process.terminate()
    for process in started:
        process.wait(timeout=30)
    cache.clear()


def _log_in(session: requests.Session, base: str, username: str, password: str) -> requests.Response:
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = CSRF.search(page.text).group(1)
    return session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )


def _on(session: requests.Session, base: str) -> requests.Session:
    """The same browser cookies, sent to another host behind the same name."""
    other = requests.Session()
    other.cookies.update(session.cookies)
    return other


def test_logged_in_on_one_host_is_logged_in_on_the_other(hosts, people):
    first = requests.Session()

    answer = _log_in(first, hosts[0], "minji", PASSWORD)
    page = _on(first, hosts[1]).get(f"{hosts[1]}/", timeout=10, allow_redirects=False)

    assert answer.status_code == 302
    assert page.status_code == 200
    assert "Minji Kim" in page.text


def test_a_draft_uploaded_through_one_host_is_read_through_the_other(hosts, people, s3_files):
    first = requests.Session()
    _log_in(first, hosts[0], "minji", PASSWORD)
    deadline = make_deadline()
    form = first.get(f"{hosts[0]}/reviews/drafts/new/", timeout=10)
    content = pdf_bytes(b"% uploaded through web-1\n")

    answer = first.post(
        f"{hosts[0]}/reviews/drafts/new/",
        data={
            "csrfmiddlewaretoken": CSRF.search(form.text).group(1),
            "title": "Sparse attention at scale",
            "abstract": "We make attention sparse.",
            "deadline": deadline.pk,
            "note": "First version",
        },
        files={"pdf": ("draft.pdf", content, "application/pdf")},
        headers={"Referer": f"{hosts[0]}/reviews/drafts/new/"},
        timeout=30,
        allow_redirects=False,
    )
    draft = Draft.objects.get()
    second = _on(first, hosts[1])
    download = second.get(f"{hosts[1]}/reviews/drafts/{draft.pk}/versions/1.pdf", timeout=30)
    stranger = requests.Session()
    _log_in(stranger, hosts[1], "taeho", PASSWORD)

    assert answer.status_code == 302
    assert download.status_code == 200 and download.content == content
    assert s3_files.keys() == [f"portal/drafts/{draft.pk}/v1.pdf"]
    assert stranger.get(f"{hosts[1]}/reviews/drafts/{draft.pk}/versions/1.pdf", timeout=10).status_code == 404


def test_the_log_in_limit_holds_across_hosts(hosts, people):
    # Three failures, spread over both hosts, reach the limit of three for this name and address.
    answers = [
        _log_in(requests.Session(), hosts[n % 2], "minji", "wrong password").status_code for n in range(3)
    ]

    locked = [_log_in(requests.Session(), host, "minji", PASSWORD) for host in hosts]

    assert answers == [200, 200, 429]
    assert [answer.status_code for answer in locked] == [429, 429]


def test_healthz_on_either_host_reads_the_same_heartbeats(hosts, db):
    Heartbeat.record("worker:celery@worker-1")
    Heartbeat.record("beat")

    bodies = [requests.get(f"{host}/healthz", timeout=10).json() for host in hosts]

    assert [body["status"] for body in bodies] == ["ok", "ok"]
    assert bodies[0]["worker"]["last_seen"] == bodies[1]["worker"]["last_seen"]
