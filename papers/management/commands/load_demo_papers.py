import json
from itertools import batched
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from papers.demo import live_rows, redate
from papers.services import record_from_corpus, upsert_papers

DEMO_FILE = Path(__file__).resolve().parents[2] / "data" / "demo_papers.jsonl"


class Command(BaseCommand):
    help = "Store real arXiv records from a JSON-lines file (the demo sample by default); idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", default=str(DEMO_FILE), help="a .jsonl file of the corpus format"
        )
        parser.add_argument(
            "--recent",
            action="store_true",
            help="move the announcement days so the latest is today's listing (the latest weekday), "
            "as the demo does; papers stored by an earlier run move with them",
        )

    def handle(self, *args, path: str, recent: bool = False, **options):
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
            rows = [json.loads(line) for line in lines if line.strip()]
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read papers from {path}: {exc}") from exc
        if recent:
            rows = live_rows(rows)
        new = updated = unchanged = moved = 0
        for page in batched(rows, 200):
            records = [record_from_corpus(row) for row in page]
            counts = upsert_papers(records)
            new, updated, unchanged = new + counts.new, updated + counts.updated, unchanged + counts.unchanged
            if recent:
                moved += redate(records)
        self.stdout.write(f"Papers: {len(rows)} read, {new} new, {updated} updated, {unchanged} unchanged.")
        if recent and rows:
            latest = max(day for row in rows for day in row["announced"])
            self.stdout.write(f"Announced up to {latest}: {moved} papers stored before were moved.")
