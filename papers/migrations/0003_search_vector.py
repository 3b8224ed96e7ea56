"""Full-text search on PostgreSQL: a stored, weighted tsvector and its GIN index.

Title weighs most (A), then authors (B, not stemmed), then the abstract (C). The column is
computed by PostgreSQL on every write, so no code path can forget it; SQLite has no such column
and searches with a simpler query instead.
"""

from django.db import migrations

FORWARDS = [
    """
    ALTER TABLE papers_paper ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('simple'::regconfig, coalesce(authors, '[]'::jsonb)), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(abstract, '')), 'C')
    ) STORED
    """,
    "CREATE INDEX paper_search_gin ON papers_paper USING gin (search)",
]
BACKWARDS = ["DROP INDEX IF EXISTS paper_search_gin", "ALTER TABLE papers_paper DROP COLUMN IF EXISTS search"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARDS:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARDS:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("papers", "0002_feed_visit")]

    operations = [migrations.RunPython(forwards, backwards)]
