"""Personas, isolation and real Celery workers shared by every test in the project."""

import os
import subprocess
import sys
import time
import uuid
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery.result import _set_task_join_will_block
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection

from lab_portal.celery import app as celery_app
from lab_portal.models import Team, User
from lab_portal.tests.stand_ins import SlackServer, SmtpServer, TelegramServer

PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    # Each test starts with an empty cache (log-in attempts live there) and runs tasks in-process;
    # the tests that need the real worker switch this off themselves.
    cache.clear()
    # A fast hasher: the real one is slow on purpose, and tests create many people.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Sessions in the database whatever REDIS_URL says (with Redis the portal reads them from the
    # cache), so the query-count tests count the same on every setup.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    # Uploads (the demo's drafts too) go to a fresh directory per test, never the project's.
    use_local_files(settings, tmp_path / "files")
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager
    # An eager task marks "inside a task" in one process-wide flag while it runs; two threads
    # running eager tasks at once (the concurrency tests) can leave it set, and every later
    # `.get()` in this process would then refuse. Real workers never run eager tasks in threads.
    _set_task_join_will_block(False)


def use_local_files(settings, root: Path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "lab_portal.files.PrivateFileSystemStorage", "OPTIONS": {"location": root}},
    }
    return root


@pytest.fixture
def files_root(settings) -> Path:
    """The directory this test's uploads go to."""
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


@pytest.fixture(scope="session")
def s3_server() -> str:
    """A real S3-compatible server (moto's) on 127.0.0.1, for the whole run; its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_files(settings, s3_server):
    """This test's uploads go to a fresh bucket on the S3 server, as FILE_STORAGE=s3 would send
    them; `s3_files.env` configures another process the same way, `s3_files.client` reads it."""
    import boto3

    bucket = f"lab-{uuid.uuid4().hex[:12]}"
    env = {
        "FILE_STORAGE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_server,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "lab-portal-test",
        "S3_SECRET_ACCESS_KEY": "lab-portal-test-secret",
        "S3_PREFIX": "portal",
        "S3_ADDRESSING_STYLE": "path",
    }
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=env["S3_REGION"],
        aws_access_key_id=env["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["S3_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "lab_portal.s3.PrivateS3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server,
                "region_name": env["S3_REGION"],
                "access_key": env["S3_ACCESS_KEY_ID"],
                "secret_key": env["S3_SECRET_ACCESS_KEY"],
                "location": env["S3_PREFIX"],
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
                "addressing_style": "path",
            },
        },
    }

    def keys() -> list[str]:
        listing = client.list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    return SimpleNamespace(bucket=bucket, env=env, client=client, keys=keys)


@pytest.fixture
def redis_url(settings) -> str:
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: this test needs a real Redis (see the README)")
    return settings.REDIS_URL


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{port}/{db['NAME']}"


@pytest.fixture(scope="session")
def start_celery_worker(django_db_setup, tmp_path_factory):
    """Start real `celery worker` processes on Redis, sharing the test database, each on a queue of
    its own: `start(env={...}, include=[...])` returns the queue and the worker's log file."""
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the real Celery worker needs Redis")
    workers = []

    def start(*, env: dict[str, str] | None = None, include: list[str] | None = None) -> tuple[str, Path]:
        queue = f"test-{uuid.uuid4().hex[:8]}"
        hostname = f"{queue}@localhost"
        log = tmp_path_factory.mktemp("worker") / "worker.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "lab_portal.settings",
            # Read by lab_portal/tests/celery_tasks.py, when included: the worker's follow-up tasks.
            "TEST_WORKER_QUEUE": queue,
            **(env or {}),
        }
        includes = ["--include", ",".join(include)] if include else []
        with log.open("w") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "lab_portal", "worker", "--pool=solo", "-Q", queue,
                 "-n", hostname, *includes, "--without-gossip", "--without-mingle", "--loglevel=INFO"],
                cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        workers.append(worker)
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[hostname], timeout=1):
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not start:\n{log.read_text()}")
        return queue, log

    yield start
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)


def wait_until_idle(queue: str, timeout: float = 30) -> None:
    """Wait until the worker on `queue` runs and holds no task: one a test's task queued after it
    finished (its follow-up) must not hold database locks while the test's tables are emptied."""
    inspector = celery_app.control.inspect(destination=[f"{queue}@localhost"], timeout=1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [*(inspector.active() or {}).values(), *(inspector.reserved() or {}).values()]
        if not any(busy):
            return
        time.sleep(0.2)
    pytest.fail(f"The Celery worker on {queue} was still busy after {timeout} s")


def eventually(check, what: str, timeout: float = 30):
    """Wait for a worker to have done something: `check()` true (its value is returned), or fail
    saying what is missing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    pytest.fail(f"Still waiting after {timeout} s for {what}")


@pytest.fixture(scope="session")
def celery_worker_queue(start_celery_worker):
    """A real worker that also knows the test-only tasks."""
    return start_celery_worker(include=["lab_portal.tests.celery_tasks"])


@pytest.fixture
def real_worker(celery_worker_queue):
    celery_app.conf.task_always_eager = False
    yield celery_worker_queue
    celery_app.conf.task_always_eager = True
    wait_until_idle(celery_worker_queue[0])


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(name="Vision", slug="vision")


@pytest.fixture
def make_person(db):
    def make(username: str, *, role: str = User.Role.RESEARCHER, **fields) -> User:
        fields.setdefault("display_name", username.title())
        fields.setdefault("email", f"{username}@lab.example.org")
        user = User.objects.create_user(username=username, password=PASSWORD, role=role, **fields)
        if role == User.Role.ADMIN:
            user.apply_role()
            user.save()
        return user

    return make


@pytest.fixture
def researcher(make_person, team) -> User:
    return make_person("minji", display_name="Minji Kim", team=team)


@pytest.fixture
def other_researcher(make_person) -> User:
    return make_person("taeho", display_name="Taeho Yoon")


@pytest.fixture
def lead(make_person, team) -> User:
    """A lead in the Vision team who leads it too (an admin sets both)."""
    person = make_person("jiwoo", role=User.Role.LEAD, display_name="Jiwoo Park", team=team)
    team.leads.add(person)
    return person


@pytest.fixture
def portal_admin(make_person) -> User:
    return make_person("root", role=User.Role.ADMIN, display_name="Portal Admin")


@pytest.fixture
def login(client):
    """A test client logged in as the given person."""

    def as_person(user: User):
        client.force_login(user)
        return client

    return as_person


# Stand-ins on 127.0.0.1 for the services the portal delivers to (lab_portal/tests/stand_ins.py).


@pytest.fixture
def telegram(settings):
    with TelegramServer() as server:
        server.configure(settings)
        yield server


@pytest.fixture
def bot(telegram, django_capture_on_commit_callbacks):
    """The Telegram stand-in, and `bot.poll()`: the portal's poller takes what the people in the
    chats did (telegram.say, press, edit) and handles it, sending what that queues in-process."""

    def poll() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            call_command("telegram_poll", "--once", stdout=StringIO())

    telegram.poll = poll
    return telegram


@pytest.fixture
def slack(settings):
    with SlackServer() as server:
        server.configure(settings)
        yield server


@pytest.fixture
def smtp(settings):
    with SmtpServer() as server:
        server.configure(settings)
        yield server


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """A real OpenID Connect provider (django-oauth-toolkit) on 127.0.0.1, for the session."""
    from lab_portal.tests.oidc_provider.testing import start_provider

    provider = start_provider(tmp_path_factory.mktemp("provider"))
    yield provider
    provider.stop()


@pytest.fixture
def sso(settings, oidc_provider):
    """Single sign-on turned on against the test provider, the way settings.py does it from the
    environment; the provider behaves and knows the portal at http://testserver."""
    from lab_portal.tests.oidc_provider.testing import CLIENT_ID, CLIENT_SECRET

    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_DISCOVERY_URL = oidc_provider.discovery_url
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_RP_SCOPES = "openid email profile"
    settings.OIDC_PROVIDER_NAME = "Lab ID"
    settings.OIDC_GROUPS_CLAIM = "groups"
    settings.OIDC_TIMEOUT = 2
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "lab_portal.auth.LabOIDCBackend"]
    oidc_provider.register_portal("http://testserver")
    oidc_provider.hang()
    return oidc_provider
