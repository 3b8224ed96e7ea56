import pytest
from django.core.management import CommandError, call_command
from django.db import models

from lab_portal.models import Team, User


def test_seed_demo_creates_a_lab_and_is_safe_to_run_twice(db, capsys, settings):
    settings.DEBUG = True  # as under `make run`; the test runner turns DEBUG off

    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out

    assert User.objects.count() == 20
    assert Team.objects.count() == 4
    assert User.objects.filter(role=User.Role.LEAD).count() == 1
    admin = User.objects.get(role=User.Role.ADMIN)
    assert admin.is_staff and admin.is_superuser
    assert User.objects.get(username="minji").check_password("labportal-demo")
    assert "20 new this run" in first
    assert "0 new this run" in second
    assert first.count("Demo logins") == 1
    assert "researcher minji, lead jiwoo, admin admin" in second
    minji = User.objects.get(username="minji")
    assert minji.bookmarks.exists()  # a small library from the earlier demo days
    assert minji.recommendations.exists()  # so "For you" has the latest day ranked
    assert "0 new bookmarks" in second
    # Reviews: every named venue with a deadline ahead, drafts with real PDFs, a published round
    # planned by the solver (nobody reviews their own draft), one submitted review; once.
    from reviews.models import Draft, Review, ReviewAssignment, ReviewRound, Venue
    from reviews.uploads import check_pdf

    assert Venue.objects.count() == 11
    assert all(venue.deadlines.upcoming().exists() for venue in Venue.objects.all())
    assert Draft.objects.count() == 4
    assert Draft.objects.filter(status=Draft.Status.ACCEPTED).count() == 1  # the publication record
    for version in Draft.objects.get(title="Self-verifying chains of thought").versions.all():
        with version.file.open("rb") as handle:
            check_pdf(handle)
    assert ReviewRound.objects.get().status == ReviewRound.Status.PUBLISHED
    assert not ReviewAssignment.objects.filter(draft__authors__person=models.F("reviewer")).exists()
    assert ReviewAssignment.objects.filter(reviewer=minji).exists()
    assert Review.objects.submitted().count() == 1


def test_seed_demo_refuses_without_debug(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="published password"):
        call_command("seed_demo")

    assert not User.objects.exists()


def test_demo_paper_sample_is_real_arxiv_metadata():
    import json
    from pathlib import Path

    from django.conf import settings

    lines = (Path(settings.BASE_DIR) / "papers" / "data" / "demo_papers.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]

    assert len(records) == 300
    assert len({r["id"] for r in records}) == 300
    assert all(r["title"] and r["authors"] and r["abstract"] and r["categories"] for r in records)
