from django.db import migrations
from django.db.models import Exists, OuterRef


def forget_unused_tags(apps, schema_editor):
    # Tags left on no paper had no page and no way to be removed; from now on they go with their
    # last paper.
    Tag = apps.get_model("papers", "Tag")
    Bookmark = apps.get_model("papers", "Bookmark")
    used = Bookmark.tags.through.objects.filter(tag=OuterRef("pk"))
    Tag.objects.filter(~Exists(used)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0010_notification_chat_post_at"),
    ]

    operations = [migrations.RunPython(forget_unused_tags, migrations.RunPython.noop)]
