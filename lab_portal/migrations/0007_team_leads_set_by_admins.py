"""Who leads which team becomes a record admins keep (Team.leads), instead of following the team a
lead picked on their own profile. Every lead (and admin) in a team now leads that team, so nobody
loses the powers they had on the day of the change; from then on only admins change either."""

from django.conf import settings
from django.db import migrations, models


def leads_lead_their_team(apps, schema_editor):
    User = apps.get_model("lab_portal", "User")
    Team = apps.get_model("lab_portal", "Team")
    leads = User.objects.filter(team__isnull=False).filter(
        models.Q(role__in=["lead", "admin"]) | models.Q(is_superuser=True)
    )
    Team.leads.through.objects.bulk_create(
        [Team.leads.through(team_id=team_id, user_id=pk) for pk, team_id in leads.values_list("pk", "team_id")],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ('lab_portal', '0006_channel_last_test_and_checked_slack_urls'),
    ]

    operations = [
        migrations.AddField(
            model_name="team",
            name="leads",
            field=models.ManyToManyField(
                blank=True,
                limit_choices_to=models.Q(("role__in", ["lead", "admin"]), ("is_superuser", True), _connector="OR"),
                related_name="led_teams",
                to=settings.AUTH_USER_MODEL,
                verbose_name="leads",
            ),
        ),
        migrations.RunPython(leads_lead_their_team, migrations.RunPython.noop),
    ]
