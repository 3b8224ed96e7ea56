from django.db import migrations
from django.db.models import Q

FIELDS = ["title", "speaker_name", "speaker_affiliation"]


def one_line_names(apps, schema_editor):
    # A line break typed into a talk's title or speaker (forms now turn them into spaces) broke
    # its calendar file; those stored before are mended the same way.
    Talk = apps.get_model("seminars", "Talk")
    broken = Q()
    for field in FIELDS:
        broken |= Q(**{f"{field}__regex": r"[\r\n\t\v\f]"})
    for talk in Talk.objects.filter(broken).only("pk", *FIELDS):
        for field in FIELDS:
            setattr(talk, field, " ".join(getattr(talk, field).split()))
        talk.save(update_fields=FIELDS)


class Migration(migrations.Migration):
    dependencies = [
        ("seminars", "0006_talks_and_requests_in_projects"),
    ]

    operations = [migrations.RunPython(one_line_names, migrations.RunPython.noop)]
