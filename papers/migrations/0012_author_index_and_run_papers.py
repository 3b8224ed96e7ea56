"""An index of authors' names, a run's own papers, and papers by first-version date.

The author index is filled here for the papers already stored; from now on `upsert_papers`
keeps it in the transaction that writes each paper. The name reading is papers/names.py's, the
one watch rules use (a pure function of the name, so running it here gives what the upsert writes).
Runs before this migration recorded no papers; matching only ever reads a run just fetched.
"""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 5000


def fill_author_index(apps, schema_editor):
    from papers.names import index_keys

    Paper = apps.get_model("papers", "Paper")
    PaperAuthor = apps.get_model("papers", "PaperAuthor")
    rows = []
    for pk, authors in Paper.objects.order_by("pk").values_list("pk", "authors").iterator(chunk_size=BATCH):
        for position, author in enumerate((authors or [])[:32767]):
            for surname, initial, first in sorted(index_keys(str(author))):
                rows.append(
                    PaperAuthor(paper_id=pk, position=position, surname=surname, initial=initial, first=first)
                )
        if len(rows) >= BATCH:
            PaperAuthor.objects.bulk_create(rows, batch_size=BATCH)
            rows = []
    PaperAuthor.objects.bulk_create(rows, batch_size=BATCH)


class Migration(migrations.Migration):

    dependencies = [
        ("papers", "0011_unused_tags"),
    ]

    operations = [
        migrations.CreateModel(
            name='PaperAuthor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveSmallIntegerField()),
                ('surname', models.CharField(max_length=64)),
                ('initial', models.CharField(blank=True, max_length=1)),
                ('first', models.CharField(blank=True, max_length=32)),
            ],
        ),
        migrations.AddField(
            model_name='fetchrun',
            name='papers',
            field=models.ManyToManyField(blank=True, related_name='fetch_runs', to='papers.paper', verbose_name='papers'),
        ),
        migrations.AddIndex(
            model_name='paper',
            index=models.Index(fields=['published'], name='paper_published'),
        ),
        migrations.AddField(
            model_name='paperauthor',
            name='paper',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='author_index', to='papers.paper'),
        ),
        migrations.AddIndex(
            model_name='paperauthor',
            index=models.Index(fields=['surname', 'initial', 'first', 'paper'], name='paper_author_lookup'),
        ),
        migrations.AddConstraint(
            model_name='paperauthor',
            constraint=models.UniqueConstraint(fields=('paper', 'position', 'surname', 'first'), name='paper_author_once'),
        ),
        migrations.RunPython(fill_author_index, migrations.RunPython.noop, elidable=True),
    ]
