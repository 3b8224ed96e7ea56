"""`make run PORT=…` serves on that port, and the links in the portal's mail and chat lead there
too: the quick start's SITE_URL follows its port unless SITE_URL is set."""

import os
import re
import shutil
import subprocess

import pytest
from django.core import mail

from lab_portal.tests.test_settings import ROOT, run_django
from seminars.invitations import invite_speaker
from seminars.models import Talk
from seminars.tests.factories import make_talk

COMMAND = re.compile(r"SITE_URL='([^']*)' \S+/(celery|python manage\.py runserver)(?: ([^\s;]+))?")


def planned_run(*args: str, **env: str) -> dict[str, tuple[str, str]]:
    """What `make run` would start, without starting it (`make -n`): for the web server and the
    Celery worker, the SITE_URL each is given (and the address the server binds)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    clean = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT", "MAKEFLAGS", "MAKELEVEL")}
    result = subprocess.run(
        ["make", "-n", "run", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    started = {}
    for match in COMMAND.finditer(result.stdout):
        site_url, program, rest = match.groups()
        started[program.split()[-1]] = (site_url, rest if program.endswith("runserver") else "")
    return started


def test_make_run_links_follow_the_port_it_serves():
    started = planned_run("PORT=8101")

    assert started == {
        "runserver": ("http://127.0.0.1:8101", "127.0.0.1:8101"),
        "celery": ("http://127.0.0.1:8101", ""),  # the worker sends the mail
    }


def test_make_run_keeps_a_site_url_that_is_set():
    started = planned_run("PORT=8101", SITE_URL="https://portal.lab.example.org")

    assert started["runserver"] == ("https://portal.lab.example.org", "127.0.0.1:8101")
    assert started["celery"][0] == "https://portal.lab.example.org"


def test_the_site_url_make_run_passes_is_the_portals():
    site_url, _bind = planned_run("PORT=8101")["runserver"]

    result = run_django("from django.conf import settings; print(settings.SITE_URL)", SITE_URL=site_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8101"


def test_mail_links_start_with_the_site_url(researcher, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "http://127.0.0.1:8101"
    talk = make_talk(kind=Talk.Kind.TECHTALK, host=researcher)

    with django_capture_on_commit_callbacks(execute=True):
        invite_speaker(talk, email="grace@navy.example.org", by=researcher)

    links = re.findall(r"https?://\S+", mail.outbox[-1].body)
    assert links and all(link.startswith("http://127.0.0.1:8101/") for link in links)
