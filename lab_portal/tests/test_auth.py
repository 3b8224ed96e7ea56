"""Logging in and out, changing and resetting a password, and the log-in rate limit."""

import re

from django.core import mail

from conftest import PASSWORD


def log_in(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def without_csrf_token(html: str) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


def test_login_page_is_open_to_anonymous_visitors(client, db):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b"csrfmiddlewaretoken" in response.content


def test_login_with_the_right_password_opens_the_dashboard(client, researcher):
    response = log_in(client, "minji", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "Today for Minji Kim" in client.get("/").text


def test_login_keeps_the_page_asked_for(client, researcher):
    response = client.post(
        "/accounts/login/?next=/people/", {"username": "minji", "password": PASSWORD, "next": "/people/"}
    )

    assert response["Location"] == "/people/"


def test_login_with_a_wrong_password_says_so_and_logs_nobody_in(client, researcher):
    response = log_in(client, "minji", "wrong")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text
    assert "_auth_user_id" not in client.session


def test_login_is_paused_after_repeated_failures(client, researcher, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "minji", "wrong").status_code == 200

    paused = log_in(client, "minji", "wrong")
    still_paused = log_in(client, "minji", PASSWORD)

    assert paused.status_code == 429
    assert "Too many failed log-in attempts" in paused.text
    assert "Try again in 15 minutes" in paused.text
    assert still_paused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_login_pause_gives_no_hint_whether_the_user_exists(client, researcher, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        known = log_in(client, "minji", "wrong")
        unknown = log_in(client, "nobody-here", "wrong")

    assert known.status_code == unknown.status_code == 429
    assert without_csrf_token(known.text) == without_csrf_token(unknown.text)


def test_login_pause_is_per_username_so_colleagues_can_still_log_in(
    client, researcher, other_researcher, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "minji", "wrong")

    response = log_in(client, "taeho", PASSWORD)

    assert response.status_code == 302


def test_logout_needs_a_post_and_ends_the_session(login, researcher):
    client = login(researcher)

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_password_change_sets_the_new_password(login, researcher):
    client = login(researcher)

    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a new long passphrase",
            "new_password2": "a new long passphrase",
        },
    )

    assert response.status_code == 302
    researcher.refresh_from_db()
    assert researcher.check_password("a new long passphrase")


def test_password_reset_mails_a_link_that_sets_a_new_password(client, researcher):
    client.post("/accounts/password_reset/", {"email": "minji@lab.example.org"})

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["minji@lab.example.org"]
    assert "Minji Kim" in message.body
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)
    form_url = client.get(link)["Location"]
    done = client.post(
        form_url, {"new_password1": "fresh passphrase 42", "new_password2": "fresh passphrase 42"}
    )
    assert done.status_code == 302
    researcher.refresh_from_db()
    assert researcher.check_password("fresh passphrase 42")
    assert "no longer works" in client.get(link, follow=True).text


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, researcher):
    response = client.post("/accounts/password_reset/", {"email": "stranger@example.org"}, follow=True)

    assert "Check your mail" in response.text
    assert mail.outbox == []
