"""Every given name of each author reading in the author index, so the index alone says whether a
name agrees. The papers already indexed have their rows written again, with the lookup index
built afterwards; a store without index rows yet (filled later by COPY) has nothing to rewrite."""

from django.db import connection, migrations, models
from django.db.models import Exists, OuterRef

BATCH = 5000


def fill_given_names(apps, schema_editor):
    from papers.names import index_entries

    Paper = apps.get_model("papers", "Paper")
    PaperAuthor = apps.get_model("papers", "PaperAuthor")
    indexed = Paper.objects.filter(Exists(PaperAuthor.objects.filter(paper=OuterRef("pk"))))
    papers, rows = [], []

    def rewrite():
        PaperAuthor.objects.filter(paper_id__in=papers).delete()
        PaperAuthor.objects.bulk_create(rows, batch_size=BATCH)
        papers.clear()
        rows.clear()

    for pk, authors in indexed.order_by("pk").values_list("pk", "authors").iterator(chunk_size=BATCH):
        papers.append(pk)
        for position, author in enumerate((authors or [])[:32767]):
            for surname, initial, first, given in index_entries(str(author)):
                rows.append(
                    PaperAuthor(
                        paper_id=pk, position=position, surname=surname, initial=initial, first=first,
                        given=given,
                    )
                )  # fmt: skip
        if len(papers) >= BATCH:
            rewrite()
    rewrite()
    if connection.vendor == "postgresql":
        # The rows' links to their papers are checked at commit; checked now, the lookup index
        # can be built in the same transaction.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0014_fetch_run_lease"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="paperauthor",
            name="paper_author_lookup",
        ),
        migrations.AddField(
            model_name="paperauthor",
            name="given",
            field=models.CharField(blank=True, default="", max_length=128),
        ),
        migrations.RunPython(fill_given_names, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="paperauthor",
            index=models.Index(fields=["surname", "initial", "first", "paper", "given"], name="paper_author_lookup"),
        ),
    ]
