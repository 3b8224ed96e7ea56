"""PostgreSQL refuses two scheduled talks in one room at overlapping times.

An exclusion constraint over (room =, tstzrange(starts_at, ends_at) &&) for scheduled talks,
with btree_gist for the equality on the room. It lives here rather than in Talk.Meta because
SQLite has no such constraint: there the same check runs in the application only
(TalkQuerySet.overlapping), which PostgreSQL also runs first to name the talk in the way.
Ranges are half-open, so a talk may start the minute the previous one ends.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import migrations
from django.db.models import Func, Q


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


CONSTRAINT = ExclusionConstraint(
    name="talk_room_no_overlap",
    expressions=[
        ("room", RangeOperators.EQUAL),
        (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
    ],
    condition=Q(status="scheduled"),
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        schema_editor.add_constraint(apps.get_model("seminars", "Talk"), CONSTRAINT)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_constraint(apps.get_model("seminars", "Talk"), CONSTRAINT)


class Migration(migrations.Migration):
    dependencies = [("seminars", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
