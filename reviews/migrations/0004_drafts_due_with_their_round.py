from django.db import migrations


def drafts_follow_their_rounds(apps, schema_editor):
    # A draft's reviews are due when its latest round says (reviews.rounds._drafts_follow): drafts
    # already in rounds take that date now, so each draft shows one due date everywhere.
    ReviewRound = apps.get_model("reviews", "ReviewRound")
    Draft = apps.get_model("reviews", "Draft")
    for round in ReviewRound.objects.order_by("created_at", "pk"):
        Draft.objects.filter(review_rounds=round).update(review_by=round.due)


class Migration(migrations.Migration):

    dependencies = [
        ("reviews", "0003_reviews_discussion_reminders"),
    ]

    operations = [
        migrations.RunPython(drafts_follow_their_rounds, migrations.RunPython.noop),
    ]
