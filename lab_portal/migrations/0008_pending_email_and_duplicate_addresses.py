"""Before e-mail addresses become unique (ignoring case, in the next migration): a new address now
waits in `pending_email` until its owner confirms it, and addresses shared by several accounts are
settled here.

Of the accounts sharing an address, the longest-standing active one keeps it (inactive ones only if
none is active); each other account's address moves to `pending_email`, unconfirmed, and its
`email` is left blank. Nothing is deleted: the address stays on the account for its owner and the
admins to see, but it no longer receives mail or matches a single sign-on until the owner confirms
an address of their own. Each move is listed on the output.
"""

from django.db import migrations, models
from django.db.models.functions import Lower


def settle_shared_addresses(apps, schema_editor):
    User = apps.get_model("lab_portal", "User")
    shared = (
        User.objects.exclude(email="")
        .annotate(address=Lower("email"))
        .values("address")
        .annotate(accounts=models.Count("pk"))
        .filter(accounts__gt=1)
        .values_list("address", flat=True)
    )
    for address in list(shared):
        keeper, *others = User.objects.filter(email__iexact=address).order_by("-is_active", "date_joined", "pk")
        for person in others:
            print(
                f"\n  {person.username}: {person.email} is also {keeper.username}'s; moved to the "
                "unconfirmed address",
                end="",
            )
            User.objects.filter(pk=person.pk).update(pending_email=person.email, email="")


class Migration(migrations.Migration):
    dependencies = [
        ('lab_portal', '0007_team_leads_set_by_admins'),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="pending_email",
            field=models.EmailField(blank=True, max_length=254, verbose_name="new e-mail address, not yet confirmed"),
        ),
        migrations.RunPython(settle_shared_addresses, migrations.RunPython.noop),
    ]
