"""The full-text index also holds each paper's first announcement day.

Search looks for the most recent matches in widening windows of days (papers/queries.py). With
the day and the text in one GIN index (btree_gin supplies the day's operators), PostgreSQL
finds a window's matches inside the index and rechecks only those, where two separate indexes
left it to guess, and a wrong guess read the text of every match in the store (over a second
for a phrase of common words among a million papers; bench/scale.py). A GIN index with several
columns serves a query on any of them, so it replaces the text-only one.
"""

from django.db import migrations

FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX paper_search_by_day ON papers_paper USING gin (first_announced, search)",
    "DROP INDEX IF EXISTS paper_search_gin",
]
BACKWARDS = [
    "CREATE INDEX paper_search_gin ON papers_paper USING gin (search)",
    "DROP INDEX IF EXISTS paper_search_by_day",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARDS:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARDS:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("papers", "0003_search_vector")]

    operations = [migrations.RunPython(forwards, backwards)]
