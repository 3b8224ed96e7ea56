"""A channel remembers its latest test message (a worker sends it now, not the web request), and
Slack channels whose stored URL the stricter rule refuses are turned off.

The rule is lab_portal.slack's, against SLACK_WEBHOOK_HOSTS as set when the migration runs. A
refused channel is kept (its owner sees it and what to do) but disabled, with a fixed error on
it (in its owner's language); nothing is sent there again until its owner saves a URL that
passes. Sending checks the rule too, so a channel this misses still never posts anywhere else.
Each one is listed on the output.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from lab_portal import slack

REFUSED = gettext_noop(
    "This Slack webhook URL is not one the portal may post to (https:// on Slack's own host, then "
    "/services/…, with no port or user name), so the channel was turned off: edit it with the URL "
    "Slack gave you, then turn it on."
)


def turn_off_refused_slack_channels(apps, schema_editor):
    Channel = apps.get_model("lab_portal", "Channel")
    now = timezone.now()
    for channel in Channel.objects.filter(kind="slack").select_related("person"):
        if slack.webhook_url(channel.target, settings.SLACK_WEBHOOK_HOSTS) is not None:
            continue
        print(f"\n  Slack channel {channel.pk}: URL refused, turned off", end="")
        with translation.override(channel.person.language if channel.person else settings.LANGUAGE_CODE):
            error = gettext(REFUSED)
        Channel.objects.filter(pk=channel.pk).update(enabled=False, last_error=error, last_error_at=now)


class Migration(migrations.Migration):
    dependencies = [
        ('lab_portal', '0005_user_expand_abstracts'),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="last_test",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="lab_portal.delivery",
                verbose_name="last test message",
            ),
        ),
        migrations.RunPython(turn_off_refused_slack_channels, migrations.RunPython.noop),
    ]
