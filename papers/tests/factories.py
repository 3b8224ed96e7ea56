"""Papers for tests, stored through the same upsert as every real source."""

from datetime import UTC, date, datetime, timedelta
from itertools import count

from papers.models import Paper
from papers.services import PaperRecord, upsert_papers

_numbers = count(1)


def record(**fields) -> PaperRecord:
    number = next(_numbers)
    day = fields.pop("day", date(2026, 6, 30))
    moment = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=23)
    defaults = {
        "arxiv_id": f"2606.{number:05d}",
        "version": 1,
        "title": f"A study of things number {number}",
        "abstract": "We study things and find results.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.CV"],
        "published": moment,
        "updated": moment,
    }
    # Listing days follow the timestamps unless the test gives its own timestamps or days.
    if "published" not in fields:
        defaults["first_announced"] = day
    if "updated" not in fields:
        defaults["last_announced"] = day
    return PaperRecord(**{**defaults, **fields})


def make_paper(*, run=None, **fields) -> Paper:
    rec = record(**fields)
    upsert_papers([rec], run=run)
    return Paper.objects.get(arxiv_id=rec.arxiv_id)
