import json
from itertools import batched
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from papers.services import record_from_corpus, upsert_papers

DEMO_FILE = Path(__file__).resolve().parents[2] / "data" / "demo_papers.jsonl"


class Command(BaseCommand):
    help = "Store real arXiv records from a JSON-lines file (the demo sample by default); idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", default=str(DEMO_FILE), help="a .jsonl file of the corpus format"
        )

    def handle(self, *args, path: str, **options):
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
            rows = [json.loads(line) for line in lines if line.strip()]
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read papers from {path}: {exc}") from exc
        new = updated = unchanged = 0
        for page in batched(rows, 200):
            counts = upsert_papers([record_from_corpus(row) for row in page])
            new, updated, unchanged = new + counts.new, updated + counts.updated, unchanged + counts.unchanged
        self.stdout.write(f"Papers: {len(rows)} read, {new} new, {updated} updated, {unchanged} unchanged.")
