"""Behind reverse proxies the log-in pause is per person and real client address, read from
X-Forwarded-For with only the trusted proxies' entries believed."""

import pytest

from conftest import PASSWORD
from lab_portal.tests.test_settings import run_django

PROXY = "10.0.0.2"  # every request reaches gunicorn from the proxy


def log_in(client, username, password, *, forwarded_for):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        headers={"X-Forwarded-For": forwarded_for},
    )


@pytest.fixture
def one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


def test_a_stranger_s_failures_do_not_lock_the_person_out_behind_the_proxy(
    client, researcher, one_proxy, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        paused = log_in(client, "minji", "wrong", forwarded_for="203.0.113.66")

    from_the_lab = log_in(client, "minji", PASSWORD, forwarded_for="198.51.100.7")

    assert paused.status_code == 429
    assert from_the_lab.status_code == 302


def test_forging_the_left_of_the_header_does_not_escape_the_pause(client, researcher, one_proxy, settings):
    # The proxy appends the address it saw; whatever the client wrote before it is ignored.
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        paused = log_in(client, "minji", "wrong", forwarded_for=f"192.0.2.{attempt}, 203.0.113.66")

    assert paused.status_code == 429


def test_two_proxies_read_the_address_the_outer_one_saw(client, researcher, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    outer = "10.0.0.1"
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        paused = log_in(client, "minji", "wrong", forwarded_for=f"192.0.2.{attempt}, 203.0.113.66, {outer}")

    other_client = log_in(client, "minji", PASSWORD, forwarded_for=f"198.51.100.7, {outer}")

    assert paused.status_code == 429
    assert other_client.status_code == 302


def test_without_trusted_proxies_the_header_is_ignored(client, researcher, settings):
    assert settings.TRUSTED_PROXY_COUNT == 0
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        paused = log_in(client, "minji", "wrong", forwarded_for=f"192.0.2.{attempt}")

    assert paused.status_code == 429


@pytest.mark.parametrize("forwarded_for", ["", "not-an-address", "203.0.113.66:443"])
def test_a_missing_or_malformed_header_falls_back_to_the_connection(
    client, researcher, one_proxy, settings, forwarded_for
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        paused = log_in(client, "minji", "wrong", forwarded_for=forwarded_for)

    elsewhere = log_in(client, "minji", PASSWORD, forwarded_for="198.51.100.7")

    assert paused.status_code == 429  # counted against the proxy's own address
    assert elsewhere.status_code == 302


@pytest.mark.parametrize("value", ["-1", "11", "two"])
def test_settings_refuse_a_trusted_proxy_count_that_is_not_a_small_number(value):
    result = run_django("pass", TRUSTED_PROXY_COUNT=value)

    assert result.returncode != 0
    assert f"TRUSTED_PROXY_COUNT={value}" in result.stderr.replace("'", "")
