"""Personas and isolation shared by every test in the project."""

import pytest
from django.core.cache import cache

from lab_portal.celery import app as celery_app
from lab_portal.models import Team, User

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _isolated(settings):
    # Each test starts with an empty cache (log-in attempts live there) and runs tasks in-process;
    # the tests that need the real worker switch this off themselves.
    cache.clear()
    # A fast hasher: the real one is slow on purpose, and tests create many people.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def redis_url(settings) -> str:
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: this test needs a real Redis (make test-services runs them)")
    return settings.REDIS_URL


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
            user.is_staff = user.is_superuser = True
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
    return make_person("jiwoo", role=User.Role.LEAD, display_name="Jiwoo Park", team=team)


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
