"""Ranked search that stays fast at a million papers: a RUM index where PostgreSQL has it.

A GIN index finds matches but ranking them means reading every match's tsvector: for a common
word that is hundreds of thousands of rows. RUM keeps lexeme positions in the index and returns
matches already ordered by rank (`search <=> query`), so a search reads a bounded number of rows.
RUM is an extension (Debian: postgresql-NN-rum); where it cannot be created the GIN index stays
and search ranks a bounded set of recent matches instead (see papers/queries.py).
"""

import logging

from django.db import migrations, transaction
from django.db.utils import DatabaseError

logger = logging.getLogger(__name__)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS rum")
    except DatabaseError as exc:
        logger.warning("RUM is not available (%s); search keeps its GIN index and ranks fewer matches.", exc)
        return
    schema_editor.execute("CREATE INDEX paper_search_rum ON papers_paper USING rum (search rum_tsvector_ops)")
    # RUM answers @@ as well; two full-text indexes would only slow every write.
    schema_editor.execute("DROP INDEX IF EXISTS paper_search_gin")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS paper_search_rum")
    schema_editor.execute("CREATE INDEX IF NOT EXISTS paper_search_gin ON papers_paper USING gin (search)")


class Migration(migrations.Migration):
    # Not one migration-wide transaction: a refused CREATE EXTENSION must not abort the rest.

    dependencies = [("papers", "0003_search_vector")]

    operations = [migrations.RunPython(forwards, backwards)]
