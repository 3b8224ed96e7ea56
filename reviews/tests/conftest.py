import pytest


@pytest.fixture
def review_files(files_root):
    """Where this test's draft PDFs are stored (a fresh directory, never the project's)."""
    return files_root


@pytest.fixture
def reviewer(make_person):
    return make_person("sora", display_name="Sora Han")
