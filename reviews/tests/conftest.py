import pytest


@pytest.fixture(autouse=True)
def review_files(settings, tmp_path):
    """Draft PDFs go to a fresh directory per test, never the project's."""
    settings.REVIEW_FILES_ROOT = tmp_path / "private"
    return settings.REVIEW_FILES_ROOT


@pytest.fixture
def reviewer(make_person):
    return make_person("sora", display_name="Sora Han")
