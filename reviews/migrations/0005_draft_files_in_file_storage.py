# Draft PDFs moved from REVIEW_FILES_ROOT to the file storage (FILE_STORAGE): copied, under the
# same names, so every version stays readable. Nothing is deleted from the old directory.
from django.db import migrations

from lab_portal.files import import_legacy_files


def copy_drafts(apps, schema_editor):
    import_legacy_files(apps.get_model("reviews", "DraftVersion"), ["file"])


class Migration(migrations.Migration):
    dependencies = [("reviews", "0004_drafts_due_with_their_round")]

    operations = [migrations.RunPython(copy_drafts, migrations.RunPython.noop, elidable=True)]
