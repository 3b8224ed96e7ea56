from django.db import migrations
from django.db.models import Exists, OuterRef


def turn_on_channels_made_off_for_a_confirmation(apps, schema_editor):
    """A person with chat channels who asked for a new address had their own e-mail channel made
    turned off, only to carry the confirmation link; the morning digest then stopped. Such a
    channel carried nothing but mail to other addresses: turn it on. One its owner turned off
    after any mail of its own is left as they chose."""
    Channel = apps.get_model("lab_portal", "Channel")
    Delivery = apps.get_model("lab_portal", "Delivery")
    to_other = Delivery.objects.filter(channel=OuterRef("pk"), payload__has_key="to")
    own = Delivery.objects.filter(channel=OuterRef("pk")).exclude(payload__has_key="to")
    Channel.objects.filter(kind="email", target="", enabled=False, person__isnull=False).filter(
        Exists(to_other)
    ).exclude(Exists(own)).update(enabled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("lab_portal", "0010_chat_two_way"),
    ]

    operations = [
        migrations.RunPython(turn_on_channels_made_off_for_a_confirmation, migrations.RunPython.noop),
    ]
