"""Settings come from the environment and fail loudly on bad or missing values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "x7Qp9zLm2Rt8Vw4Yb6Nc1Hd5Fg0Js3Ka" * 2,
    "ALLOWED_HOSTS": "portal.lab.example.org",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "EMAIL_URL": "smtp+tls://portal:secret@mail.lab.example.org",
}


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    # Only the variables the test names: nothing inherited from the shell or other tests.
    ours = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "TIME_ZONE"}
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ours and not k.startswith(("DJANGO_", "OIDC_", "SLACK_"))
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "lab_portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return run_django(
        f"from django.core.management import call_command; call_command(*{list(args)!r})", **env
    )


def test_settings_reject_a_debug_value_that_is_not_yes_or_no():
    result = run_django("pass", DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG='maybe' is not a yes/no value" in result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "EMAIL_URL"])
def test_settings_without_debug_name_the_missing_variable(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}

    result = run_django("pass", **env)

    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_settings_reject_an_unknown_time_zone():
    result = run_django("pass", TIME_ZONE="Mars/Olympus_Mons")

    assert result.returncode != 0
    assert "TIME_ZONE='Mars/Olympus_Mons' is not an IANA time zone name" in result.stderr


def test_settings_reject_an_email_url_of_unknown_kind():
    result = run_django("pass", EMAIL_URL="smtps-ish://mail.example.org")

    assert result.returncode != 0
    assert "EMAIL_URL must start with smtp://" in result.stderr


@pytest.mark.parametrize(
    ("env", "error"),
    [
        (
            {"SLACK_WEBHOOK_HOSTS": "hooks.slack.com:8114"},
            "SLACK_WEBHOOK_HOSTS: 'hooks.slack.com:8114' is not",
        ),
        (
            {"SLACK_WEBHOOK_HOSTS": "https://hooks.slack.com"},
            "SLACK_WEBHOOK_HOSTS: 'https://hooks.slack.com'",
        ),
        (
            {"SLACK_LAB_WEBHOOK_URL": "https://127.0.0.1:6379\\@hooks.slack.com/services/T0/B0/x"},
            "SLACK_LAB_WEBHOOK_URL must be https://",
        ),
        (
            {"SLACK_LAB_WEBHOOK_URL": "http://hooks.slack.com/services/T0/B0/x"},
            "SLACK_LAB_WEBHOOK_URL must be",
        ),
    ],
)
def test_settings_refuse_slack_webhooks_that_could_reach_elsewhere(env, error):
    result = run_django("pass", **env)

    assert result.returncode != 0
    assert error in result.stderr


def test_settings_take_a_lab_webhook_on_the_allowed_hosts():
    result = run_django(
        "from django.conf import settings as s; print(s.SLACK_WEBHOOK_HOSTS, s.SLACK_LAB_WEBHOOK_URL)",
        SLACK_WEBHOOK_HOSTS="Hooks.Slack.com, hooks.slack-gov.com",
        SLACK_LAB_WEBHOOK_URL="https://hooks.slack-gov.com/services/T0/B0/x",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("]")[0] == "['hooks.slack.com', 'hooks.slack-gov.com'"


def test_deploy_check_reports_nothing_in_production():
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_defaults_are_sqlite_and_eager_tasks():
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], "
        "s.SESSION_ENGINE)"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.contrib.sessions.backends.db",  # a memory cache is per process: log-outs must reach all
    ]


def test_database_and_redis_urls_configure_postgres_celery_and_cache():
    result = run_django(
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['ENGINE'], d['NAME'], d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], "
        "s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], "
        "s.SESSION_ENGINE, d['OPTIONS']['options'])",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/lab",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "lab",
        "600",
        "True",
        "redis://127.0.0.1:6379/3",
        "False",
        "django.core.cache.backends.redis.RedisCache",
        "django.contrib.sessions.backends.cached_db",
        "-c",
        "jit=off",
    ]


def test_email_url_configures_smtp():
    result = run_django(
        "from django.conf import settings as s; "
        "m = s.MAILERS['default']; o = m['OPTIONS']; "
        "print(m['BACKEND'], o['host'], o['port'], o['username'], o['password'], o['use_tls'])",
        EMAIL_URL="smtp+tls://portal%40lab:s%3Acret@mail.lab.example.org",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.lab.example.org",
        "587",
        "portal@lab",
        "s:cret",
        "True",
    ]


def test_oidc_settings_name_a_missing_endpoint():
    result = run_django("pass", OIDC_RP_CLIENT_ID="portal", OIDC_RP_CLIENT_SECRET="s3cret")

    assert result.returncode != 0
    assert "OIDC_OP_AUTHORIZATION_ENDPOINT is not set" in result.stderr
    assert "without OIDC_DISCOVERY_URL" in result.stderr


SECONDS = ["ARXIV_REQUEST_SPACING", "ARXIV_TIMEOUT", "ARXIV_RETRY_BACKOFF", "ARXIV_RUN_RETRY_BACKOFF",
           "NOTIFY_HTTP_TIMEOUT", "NOTIFY_RETRY_BACKOFF"]  # fmt: skip
TIMEOUTS = {"ARXIV_TIMEOUT", "NOTIFY_HTTP_TIMEOUT"}
NOT_SECONDS = ["soon", "nan", "inf", "-1", "1e999", "3 s"]


@pytest.mark.parametrize(("name", "value"), list(zip(SECONDS, NOT_SECONDS, strict=True)))
def test_settings_refuse_a_number_of_seconds_that_is_none(name, value):
    result = run_django("pass", **{name: value})

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name}={value!r} is not a number of seconds" in result.stderr


@pytest.mark.parametrize("name", SECONDS)
def test_settings_take_zero_seconds_only_where_zero_means_none(name):
    result = run_django(f"from django.conf import settings; print(settings.{name})", **{name: " 0 "})

    if name in TIMEOUTS:
        assert result.returncode != 0
        assert f"{name}='0' is not a number of seconds more than 0." in result.stderr
    else:
        assert (result.returncode, result.stdout) == (0, "0.0\n")


def test_settings_read_seconds_with_fractions():
    names = ", ".join(f"settings.{name}" for name in SECONDS)
    code = f"from django.conf import settings; print({names})"

    result = run_django(code, **dict.fromkeys(SECONDS, "2.5"))

    assert (result.returncode, result.stdout, result.stderr) == (0, "2.5 2.5 2.5 2.5 2.5 2.5\n", "")


def test_oidc_settings_with_a_discovery_url_need_no_endpoints():
    result = run_django(
        "from django.conf import settings; print(settings.OIDC_ENABLED, settings.OIDC_TIMEOUT)",
        OIDC_RP_CLIENT_ID="portal",
        OIDC_RP_CLIENT_SECRET="s3cret",
        OIDC_DISCOVERY_URL="https://id.lab.example.org/.well-known/openid-configuration",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "5.0"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OIDC_TIMEOUT": "0"}, "OIDC_TIMEOUT='0' is not a number of seconds more than 0"),
        ({"OIDC_TIMEOUT": "soon"}, "OIDC_TIMEOUT='soon' is not a number of seconds"),
        ({"OIDC_RP_SCOPES": "profile"}, "OIDC_RP_SCOPES='profile' must include openid and email"),
    ],
)
def test_oidc_settings_refuse_a_bad_timeout_or_scopes(env, message):
    result = run_django("pass", **env)

    assert result.returncode != 0
    assert message in result.stderr
