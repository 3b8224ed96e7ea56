# Speakers' photos and slides moved from MEDIA_ROOT to the file storage (FILE_STORAGE): copied,
# under the same names, so every talk's files stay readable. Nothing is deleted from MEDIA_ROOT.
from django.db import migrations

from lab_portal.files import import_legacy_files


def copy_talk_files(apps, schema_editor):
    import_legacy_files(apps.get_model("seminars", "Talk"), ["speaker_photo", "slides"])


class Migration(migrations.Migration):
    dependencies = [("seminars", "0004_speaker_link_salt")]

    operations = [migrations.RunPython(copy_talk_files, migrations.RunPython.noop, elidable=True)]
