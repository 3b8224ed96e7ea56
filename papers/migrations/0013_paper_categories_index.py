"""A GIN index on the categories, for a category watch rule's preview.

`categories @> '["cs.CV"]'` finds a category's papers among a million without reading the others'
lists; PostgreSQL only (SQLite has no containment and no such index).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS paper_categories ON papers_paper USING gin (categories jsonb_path_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS paper_categories")


class Migration(migrations.Migration):
    dependencies = [("papers", "0012_author_index_and_run_papers")]

    operations = [migrations.RunPython(forwards, backwards)]
