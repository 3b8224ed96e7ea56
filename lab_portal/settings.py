"""Lab Portal settings: every deployment value comes from an environment variable.

Nothing configured means a development machine: SQLite in the project, tasks run eagerly
in-process, a local-memory cache and DEBUG on. Production sets DEBUG=0 and then must name
SECRET_KEY and ALLOWED_HOSTS, or start-up stops with the variable's name.
"""

import math
import os
import tempfile
import zoneinfo
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from lab_portal import slack

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a yes/no value; use 1 or 0, true or false.")


def env_int(name: str, default: int) -> int:
    value = env(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def env_seconds(name: str, default: float, *, zero: bool = True) -> float:
    """A length of time in seconds, fractions allowed; zero only where it means "none" (a spacing or
    a backoff), never for a timeout."""
    value = env(name)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number of seconds.") from None
    # float() also reads "nan", "inf" and "-1", none of which is a wait anything could keep.
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not zero):
        least = "0 or more" if zero else "more than 0"
        raise ImproperlyConfigured(f"{name}={value!r} is not a number of seconds {least}.")
    return seconds


def env_list(name: str, default: str = "") -> list[str]:
    return env(name, default).replace(",", " ").split()


def env_required(name: str, why: str = "With DEBUG off the portal needs it") -> str:
    value = env(name)
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. {why}; see the README's table of environment variables."
        )
    return value


DEBUG = env_bool("DEBUG", True)

if DEBUG:
    # A development key: never used with DEBUG off, where SECRET_KEY is required.
    SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-lab-portal-never-use-in-production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1 localhost [::1] testserver")
else:
    SECRET_KEY = env_required("SECRET_KEY")
    ALLOWED_HOSTS = env_required("ALLOWED_HOSTS").replace(",", " ").split()

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "lab_portal",
    "papers",
    "seminars",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "lab_portal.middleware.permissions_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "lab_portal.middleware.refuse_nul_bytes",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lab_portal.middleware.SignOnSessionCheck",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "lab_portal.middleware.PersonPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks, so it sees the login views' responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lab_portal.urls"
WSGI_APPLICATION = "lab_portal.wsgi.application"
ASGI_APPLICATION = "lab_portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lab_portal.context_processors.portal",
            ],
        },
    },
]

# Database: SQLite in the project unless DATABASE_URL names another (PostgreSQL in production).
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a Celery worker in another process can share the test database.
    # (one file per test run, so two runs on one machine never share it).
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"lab-portal-test-{os.getpid()}.sqlite3")
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Writers take the lock when their transaction begins, so two sign-ups at one moment on the
    # development server queue up instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
else:
    # No JIT: the portal's queries are short, and compiling one whose estimate crosses the JIT
    # threshold took a second (a search over a million papers in bench/scale.py) to save nothing.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: Celery's broker and result store and Django's cache when REDIS_URL is set.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "lab_portal",
        }
    }
    # Sessions read from Redis, written through to the database: one query less on every page.
    # (Not with the per-process memory cache: a log-out there would not reach other processes.)
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Without a broker every task runs in-process, so the quick start needs no Redis.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600)
CELERY_RESULT_EXPIRES = 86400
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Heartbeats for /healthz (lab_portal/heartbeats.py): each worker records one this often, and
# /healthz fails when no worker's is younger than WORKER_HEARTBEAT_MAX_AGE or beat's (recorded
# whenever it sends a task, at least every 30 seconds) is older than BEAT_HEARTBEAT_MAX_AGE.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 30)
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 180)
BEAT_HEARTBEAT_MAX_AGE = env_int("BEAT_HEARTBEAT_MAX_AGE", 180)
if WORKER_HEARTBEAT_SECONDS < 1 or WORKER_HEARTBEAT_MAX_AGE <= WORKER_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "WORKER_HEARTBEAT_MAX_AGE must be longer than WORKER_HEARTBEAT_SECONDS (at least 1), or a "
        "running worker would look stopped."
    )
CELERY_BEAT_SCHEDULE = {
    # arXiv announces at 20:00 US Eastern, Sunday to Thursday: the watcher starts the daily fetch
    # as soon as the new papers are visible, and retries a failed one (papers/announcement.py).
    # Outside the announcement window a round is a few small queries.
    "watch-arxiv-announcement": {
        "task": "papers.watch_announcement",
        "schedule": 30,
    },
    # Uploaded files whose row never committed or was deleted (lab_portal/files.py).
    "sweep-orphan-files": {
        "task": "lab_portal.sweep_orphan_files",
        "schedule": 60 * 60,
    },
    "clear-expired-sessions": {
        "task": "lab_portal.clear_expired_sessions",
        "schedule": 24 * 60 * 60,
    },
    # The safety net of notification delivery: sends what a lost retry message left pending and
    # closes what a dead worker left half-sent (see lab_portal/notify.py).
    "dispatch-deliveries": {
        "task": "lab_portal.dispatch_deliveries",
        "schedule": 60,
    },
    # Telegram updates whose task was lost are handled here; each is handled once (lab_portal/chat.py).
    "telegram-updates": {
        "task": "lab_portal.handle_waiting_updates",
        "schedule": 60,
    },
    # Seminar reminders are rows claimed by this task, so it is safe to run twice (seminars/reminders.py).
    "seminar-reminders": {
        "task": "seminars.send_reminders",
        "schedule": 60,
    },
    # Active seminar series stay scheduled twelve weeks ahead (seminars/services.py).
    "extend-seminar-series": {
        "task": "seminars.extend_series",
        "schedule": 24 * 60 * 60,
    },
    # The Monday post of the week's talks and action-item reminders; both keyed by their day, so
    # an hourly run sends each once (seminars/announcements.py).
    "seminar-announcements": {
        "task": "seminars.announce",
        "schedule": 60 * 60,
    },
    # Hosts of talks still titled TBA a week ahead are told once (seminars/invitations.py).
    "flag-tba-talks": {
        "task": "seminars.flag_tba_talks",
        "schedule": 60 * 60,
    },
    # Each person's morning e-mail goes out at DIGEST_HOUR in their own zone: a quarter-hourly
    # check finds whose morning has come; the mail is keyed by local day (papers/digest.py).
    "send-paper-digests": {
        "task": "papers.send_digests",
        "schedule": 15 * 60,
    },
    # Which papers a fetch run stored is kept two weeks, for its matching (papers/services.py).
    "forget-run-papers": {
        "task": "papers.forget_run_papers",
        "schedule": 24 * 60 * 60,
    },
    # Review reminders, like seminar ones, are rows claimed by this task (reviews/reminders.py).
    "review-reminders": {
        "task": "reviews.send_reminders",
        "schedule": 5 * 60,
    },
    # Accepted drafts find their arXiv paper once it is in the feed (reviews/publications.py).
    "link-publications": {
        "task": "reviews.link_publications",
        "schedule": 60 * 60,
    },
}

# People
AUTH_USER_MODEL = "lab_portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "lab_portal.auth.PasswordBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login rate limit: failures are counted per username and address together, so one person's
# typos never lock out the whole lab behind its NAT, and the answer is the same whether or not
# the username exists.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Behind reverse proxies the connection comes from the nearest one: the client's address is read
# from X-Forwarded-For, trusting only the entries those proxies wrote (lab_portal/proxies.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if not 0 <= TRUSTED_PROXY_COUNT <= 10:
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT} must be the number of reverse proxies in front of "
        "the portal, from 0 (none) to 10."
    )
AXES_CLIENT_IP_CALLABLE = "lab_portal.proxies.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "lab_portal.views.accounts.login_locked_out"
AXES_VERBOSE = False
# Attempts live in the cache, so the database-backed admin pages of django-axes stay off.
AXES_ENABLE_ADMIN = False

# Single sign-on through OpenID Connect, on when OIDC_RP_CLIENT_ID is set. The provider's
# endpoints come from its discovery document (OIDC_DISCOVERY_URL); the OIDC_OP_* variables
# name them by hand for a provider without one. Who gets in, password log-in and how often
# sessions are re-checked are the admins' to set, on the admin site (SignOnPolicy).
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_DISCOVERY_URL = env("OIDC_DISCOVERY_URL")
if OIDC_ENABLED:
    _oidc = "Single sign-on (OIDC_RP_CLIENT_ID is set) needs it"
    OIDC_RP_CLIENT_SECRET = env_required("OIDC_RP_CLIENT_SECRET", _oidc)
    OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", "RS256")
    if not OIDC_DISCOVERY_URL:
        _oidc = "Single sign-on without OIDC_DISCOVERY_URL needs it"
        OIDC_OP_AUTHORIZATION_ENDPOINT = env_required("OIDC_OP_AUTHORIZATION_ENDPOINT", _oidc)
        OIDC_OP_TOKEN_ENDPOINT = env_required("OIDC_OP_TOKEN_ENDPOINT", _oidc)
        OIDC_OP_USER_ENDPOINT = env_required("OIDC_OP_USER_ENDPOINT", _oidc)
        if OIDC_RP_SIGN_ALGO.startswith("RS") or OIDC_RP_SIGN_ALGO.startswith("ES"):
            OIDC_OP_JWKS_ENDPOINT = env_required("OIDC_OP_JWKS_ENDPOINT", _oidc)
        OIDC_OP_LOGOUT_ENDPOINT = env("OIDC_OP_LOGOUT_ENDPOINT")
    AUTHENTICATION_BACKENDS.append("lab_portal.auth.LabOIDCBackend")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", "openid email profile")
if "openid" not in OIDC_RP_SCOPES.split() or "email" not in OIDC_RP_SCOPES.split():
    raise ImproperlyConfigured(f"OIDC_RP_SCOPES={OIDC_RP_SCOPES!r} must include openid and email.")
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "single sign-on")
# The claim listing a person's groups at the provider (for admitting by group).
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", "groups")
# Seconds to wait for the provider (connect, then each read): a provider that hangs costs a
# log-in this long, never a web worker's whole life.
OIDC_TIMEOUT = env_seconds("OIDC_TIMEOUT", 5.0, zero=False)
if not 0 < OIDC_TIMEOUT <= 60:
    raise ImproperlyConfigured(f"OIDC_TIMEOUT={OIDC_TIMEOUT} must be more than 0 and at most 60 seconds.")
# How long the provider's discovery document and keys are kept before they are read again.
OIDC_DISCOVERY_CACHE_SECONDS = env_int("OIDC_DISCOVERY_CACHE_SECONDS", 3600)

# Mail (Django 6.1's MAILERS): EMAIL_URL such as smtp+tls://user:password@mail.example.org:587;
# printed to the console when unset in development, required in production (password resets).
EMAIL_URL = env("EMAIL_URL") if DEBUG else env_required("EMAIL_URL")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Lab Portal <portal@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if EMAIL_URL:
    from urllib.parse import unquote, urlsplit

    _mail = urlsplit(EMAIL_URL)
    _ports = {"smtp": 25, "smtp+tls": 587, "smtp+ssl": 465}
    if _mail.scheme not in _ports:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtp+tls:// or smtp+ssl://, not {_mail.scheme}://."
        )
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _mail.hostname or "localhost",
                "port": _mail.port or _ports[_mail.scheme],
                "username": unquote(_mail.username or ""),
                "password": unquote(_mail.password or ""),
                "use_tls": _mail.scheme == "smtp+tls",
                "use_ssl": _mail.scheme == "smtp+ssl",
                "timeout": env_int("EMAIL_TIMEOUT", 20),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# Language and time
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and times in each language's own order, by name (lab_portal/formats/).
FORMAT_MODULE_PATH = ["lab_portal.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("TIME_ZONE", "Asia/Seoul")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r} is not an IANA time zone name.") from None

# Static files, served by WhiteNoise so a single gunicorn needs no separate file server.
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (draft PDFs, speakers' photos, slides) go through Django's storage API to a
# local directory (one machine) or an S3-compatible bucket every host shares. Either way they are
# private: only views that check who is asking stream them (lab_portal/files.py).
FILE_STORAGE = env("FILE_STORAGE", "local").lower()
FILES_ROOT = Path(env("FILES_ROOT", str(BASE_DIR / "files")))
if FILE_STORAGE == "local":
    _files = {"BACKEND": "lab_portal.files.PrivateFileSystemStorage", "OPTIONS": {"location": FILES_ROOT}}
elif FILE_STORAGE == "s3":
    _s3 = "FILE_STORAGE=s3 needs it"
    _files = {
        "BACKEND": "lab_portal.s3.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": env_required("S3_BUCKET", _s3),
            # Unset: AWS itself; set for MinIO, Ceph, R2 and other S3-compatible servers.
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "region_name": env("S3_REGION") or None,
            # Unset: boto3's own chain (AWS_ACCESS_KEY_ID, an instance role, ~/.aws).
            "access_key": env("S3_ACCESS_KEY_ID") or None,
            "secret_key": env("S3_SECRET_ACCESS_KEY") or None,
            "location": env("S3_PREFIX").strip("/"),
            # No ACL on the objects: the bucket's own policy (private) decides, never public-read.
            "default_acl": None,
            "querystring_auth": True,
            # Two uploads never overwrite each other (a draft's version names are its own anyway).
            "file_overwrite": False,
            "addressing_style": env("S3_ADDRESSING_STYLE") or None,
        },
    }
else:
    raise ImproperlyConfigured(f"FILE_STORAGE={FILE_STORAGE!r}: use local (the default) or s3.")
# A file no row names (an upload whose row failed, a row deleted) is removed by the hourly sweep
# once it is this old, so an upload still being committed is never taken.
FILE_ORPHAN_GRACE_MINUTES = env_int("FILE_ORPHAN_GRACE_MINUTES", 60)
# Where uploads were kept before FILE_STORAGE: the migration that moved them copies files from
# here, and README's upgrade note tells when the directories may go.
LEGACY_FILE_ROOTS = [
    Path(env("REVIEW_FILES_ROOT", str(BASE_DIR / "private" / "reviews"))),
    Path(env("MEDIA_ROOT", str(BASE_DIR / "media"))),
]
STORAGES = {
    "default": _files,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: strict by default whenever DEBUG is off, so `check --deploy` has nothing to report.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", not DEBUG) else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_AGE = 14 * 24 * 60 * 60
X_FRAME_OPTIONS = "DENY"
# Every script, style and font is the portal's own (htmx, KaTeX and its fonts are served from
# static/, and no template holds an inline script or style), so nothing else may run or load.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "img-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # The provider's answer to a log-in carries a one-time code in the callback's query string:
    # the development server's request lines leave it out.
    "filters": {"hide_sign_on_codes": {"()": "lab_portal.sso.HideSignOnCodes"}},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django.server": {"filters": ["hide_sign_on_codes"]},
    },
}

if DEBUG and not REDIS_URL:
    # One development process shares its local-memory cache with itself, which is all the login
    # rate limit needs there; in production the warning stays until REDIS_URL is set.
    SILENCED_SYSTEM_CHECKS = ["axes.W001"]

# arXiv
ARXIV_API_URL = env("ARXIV_API_URL", "https://export.arxiv.org/api/query")
ARXIV_OAI_URL = env("ARXIV_OAI_URL", "https://oaipmh.arxiv.org/oai")
ARXIV_CATEGORIES = env_list("ARXIV_CATEGORIES", "cs.CV cs.CL cs.LG cs.AI cs.IR cs.SD eess.AS stat.ML")
# arXiv asks for one request every three seconds from the whole lab, enforced through Redis.
ARXIV_REQUEST_SPACING = env_seconds("ARXIV_REQUEST_SPACING", 3)
ARXIV_TIMEOUT = env_seconds("ARXIV_TIMEOUT", 30, zero=False)
ARXIV_RETRIES = env_int("ARXIV_RETRIES", 4)
ARXIV_RETRY_BACKOFF = env_seconds("ARXIV_RETRY_BACKOFF", 3)  # seconds, doubled on each retry
# A failed daily run is followed by another after this many seconds, doubled for each failure
# in a row (up to an hour), until one succeeds.
ARXIV_RUN_RETRY_BACKOFF = env_seconds("ARXIV_RUN_RETRY_BACKOFF", 60)
# A daily run whose worker has not shown it alive for this long (killed, or its task message lost
# with Redis) is closed by the announcement watcher, and the next run resumes from it.
FETCH_RUN_LEASE_SECONDS = env_int("FETCH_RUN_LEASE_SECONDS", 300)
if FETCH_RUN_LEASE_SECONDS < 4:
    raise ImproperlyConfigured("FETCH_RUN_LEASE_SECONDS must be at least 4 (seconds).")
# Results per request (arXiv serves up to 2,000). 1,000 takes a day's ~1,500 papers in two requests
# instead of eight under the three-second rule, and each page is one bulk write: 1,000-row pages
# stored at 0.90x COPY's rate and 3.1x a save() loop, 200-row pages 0.74x and 2.3x (bench/ingest.py).
ARXIV_PAGE_SIZE = env_int("ARXIV_PAGE_SIZE", 1000)
# Papers held in moderation are announced days late with older timestamps: windows overlap.
ARXIV_OVERLAP_DAYS = env_int("ARXIV_OVERLAP_DAYS", 4)

# Local hour (in each person's zone) of the morning paper digest (papers/digest.py).
DIGEST_HOUR = env_int("DIGEST_HOUR", 8)

# Seminars: an outside speaker's link works from its sending until this many days after the talk
# (after the talk it is for uploading slides and reading the feedback), and upload limits (every
# upload is also checked by its content).
SEMINAR_SPEAKER_LINK_DAYS_AFTER = env_int("SEMINAR_SPEAKER_LINK_DAYS_AFTER", 14)
SEMINAR_PHOTO_MAX_BYTES = env_int("SEMINAR_PHOTO_MAX_BYTES", 2 * 1024 * 1024)
SEMINAR_SLIDES_MAX_BYTES = env_int("SEMINAR_SLIDES_MAX_BYTES", 50 * 1024 * 1024)
# The lab's channels get the week's talks on Monday from this hour, in the lab's zone.
WEEKLY_TALKS_HOUR = env_int("WEEKLY_TALKS_HOUR", 9)
if not 0 <= WEEKLY_TALKS_HOUR <= 23:
    raise ImproperlyConfigured(f"WEEKLY_TALKS_HOUR={WEEKLY_TALKS_HOUR} must be an hour from 0 to 23.")

# Pre-submission reviews: the largest draft PDF accepted (every upload is also checked by its
# content), and how many days before a venue's deadline a draft's reviews are due by default.
REVIEW_PDF_MAX_BYTES = env_int("REVIEW_PDF_MAX_BYTES", 50 * 1024 * 1024)
REVIEW_DAYS_BEFORE_DEADLINE = env_int("REVIEW_DAYS_BEFORE_DEADLINE", 10)
# Reviewers are reminded this many days before a review is due, at REVIEW_REMINDER_HOUR in their
# own zone, and again every REVIEW_OVERDUE_EVERY_DAYS days once it is overdue (at most
# REVIEW_OVERDUE_REMINDERS times: after that the lead's board is the place to chase it).
REVIEW_REMINDER_DAYS_BEFORE = env_int("REVIEW_REMINDER_DAYS_BEFORE", 2)
REVIEW_REMINDER_HOUR = env_int("REVIEW_REMINDER_HOUR", 9)
REVIEW_OVERDUE_EVERY_DAYS = env_int("REVIEW_OVERDUE_EVERY_DAYS", 2)
REVIEW_OVERDUE_REMINDERS = env_int("REVIEW_OVERDUE_REMINDERS", 3)
# A round's plan can weigh the reviews each person submitted over this many months, so the
# same people do not carry every round (the lead chooses per round).
REVIEW_FAIRNESS_MONTHS = env_int("REVIEW_FAIRNESS_MONTHS", 12)

# Notification channels: Telegram's Bot API, Slack incoming webhooks, and e-mail through MAILERS.
TELEGRAM_API_BASE = env("TELEGRAM_API_BASE", "https://api.telegram.org").rstrip("/")
TELEGRAM_BOT_TOKEN = env("TELEGRAM_BOT_TOKEN")
TELEGRAM_LAB_CHAT_ID = env("TELEGRAM_LAB_CHAT_ID")
# The bot's @username, for the "Connect Telegram" deep link; asked of Telegram (getMe) when unset.
TELEGRAM_BOT_USERNAME = env("TELEGRAM_BOT_USERNAME").lstrip("@")
# How long a "Connect Telegram" link or a group's /link code stays good.
TELEGRAM_LINK_MINUTES = env_int("TELEGRAM_LINK_MINUTES", 30)
# Papers in one chat post before "and N more" links to the portal.
CHAT_POST_PAPERS = env_int("CHAT_POST_PAPERS", 10)
for _name in ("TELEGRAM_LINK_MINUTES", "CHAT_POST_PAPERS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]} must be at least 1.")
# People paste webhook URLs: only these hosts are posted to, so a URL cannot aim at internal services.
SLACK_WEBHOOK_HOSTS = [host.lower() for host in env_list("SLACK_WEBHOOK_HOSTS", "hooks.slack.com")]
for _host in SLACK_WEBHOOK_HOSTS:
    if not slack.is_host_name(_host):
        raise ImproperlyConfigured(
            f"SLACK_WEBHOOK_HOSTS: {_host!r} is not a bare host name such as hooks.slack.com "
            "(no scheme, port or path)."
        )
SLACK_LAB_WEBHOOK_URL = env("SLACK_LAB_WEBHOOK_URL")
if SLACK_LAB_WEBHOOK_URL and slack.webhook_url(SLACK_LAB_WEBHOOK_URL, SLACK_WEBHOOK_HOSTS) is None:
    raise ImproperlyConfigured(
        "SLACK_LAB_WEBHOOK_URL must be https://<a host in SLACK_WEBHOOK_HOSTS>/services/…, with no "
        "port, user or query."
    )
NOTIFY_HTTP_TIMEOUT = env_seconds("NOTIFY_HTTP_TIMEOUT", 10, zero=False)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 8)
NOTIFY_RETRY_BACKOFF = env_seconds("NOTIFY_RETRY_BACKOFF", 30)  # seconds, doubled on each retry
# How long one attempt may hold a delivery; longer than any timeout above, so only a dead worker
# outlives it.
NOTIFY_LEASE_SECONDS = env_int("NOTIFY_LEASE_SECONDS", 300)
# A pending delivery this long past its time lost its task message (Redis flushed or restarted):
# the beat's dispatch, every minute, queues it again.
NOTIFY_STUCK_AFTER_SECONDS = env_int("NOTIFY_STUCK_AFTER_SECONDS", 120)
