"""The demo's papers, dated as if arXiv had announced them lately.

The sample (papers/data/demo_papers.jsonl) is three real announcement days of the summer of 2026.
Stored with those dates, a demo seeded any other day would open on a feed months old, "Papers for
me today" from then, and watch-rule previews (the last 30 days) with nothing in them. So the demo
moves every announcement day of the sample by one number of arXiv weekdays, chosen so that its
latest day is the latest weekday listing as of now in the lab's zone: weekdays stay weekdays and the
days keep their order. Run again the next day, it moves the same papers again, from the sample's
own dates, so nothing is added twice.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ARXIV_TZ, Paper, Recommendation
from .queries import forget_feed_frame
from .services import PaperRecord

# What record_from_corpus dates a paper at: the evening of its first announcement, US Eastern.
CORPUS_ANNOUNCEMENT = time(20, 0)


def latest_listing_day(now: datetime | None = None) -> date:
    """Today in the lab's zone, or the Friday before on a weekend: arXiv lists Monday to Friday."""
    today = (now or timezone.now()).astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    return np.busday_offset(today, 0, roll="backward").item()


def live_rows(rows: list[dict], *, now: datetime | None = None) -> list[dict]:
    """The corpus rows with every announcement day moved so the latest is `latest_listing_day`."""
    days = [date.fromisoformat(day) for row in rows for day in row["announced"]]
    if not days:
        return rows
    latest = max(days)
    # Weekdays from the sample's latest day to the target one; a weekend day rolls back to Friday.
    by = int(np.busday_count(np.busday_offset(latest, 0, roll="backward"), latest_listing_day(now)))

    def moved(day: str) -> str:
        return np.busday_offset(date.fromisoformat(day), by, roll="backward").item().isoformat()

    return [{**row, "announced": [moved(day) for day in row["announced"]]} for row in rows]


def _as_loaded(paper: Paper) -> bool:
    """Still as the demo loader stored it: one version, dated at a corpus announcement. A paper a
    real fetch has touched since carries arXiv's own timestamps, which are never redated."""
    local = paper.published.astimezone(ARXIV_TZ)
    return paper.version == 1 and paper.published == paper.updated and local.time() == CORPUS_ANNOUNCEMENT


def redate(records: list[PaperRecord]) -> int:
    """Give the stored papers of `records` the records' days and stamps; returns how many moved.

    Their recommendations were ranked for the day they no longer have: those go, and the demo
    ranks the new latest day again (load_demo_library)."""
    by_id = {record.arxiv_id: record for record in records}
    fields = ["published", "updated", "first_announced", "last_announced", "versions"]
    moved = []
    with transaction.atomic():
        for paper in Paper.objects.filter(arxiv_id__in=by_id).only("arxiv_id", "version", *fields):
            fresh = by_id[paper.arxiv_id].as_paper()
            if all(getattr(paper, name) == getattr(fresh, name) for name in fields) or not _as_loaded(paper):
                continue
            for name in fields:
                setattr(paper, name, getattr(fresh, name))
            moved.append(paper)
        Paper.objects.bulk_update(moved, fields, batch_size=500)
        Recommendation.objects.filter(paper__in=moved).delete()
        if moved:
            transaction.on_commit(forget_feed_frame)
    return len(moved)
