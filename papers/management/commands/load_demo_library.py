"""Give each demo person a small library from the earlier demo days, then rank the latest day."""

from django.core.management.base import BaseCommand
from django.db import transaction

from lab_portal.models import User
from papers.models import Bookmark, Paper
from papers.recommend import recommend_day

PER_PERSON = 6


class Command(BaseCommand):
    help = "Bookmark papers matching each demo person's interests and train their recommendations."

    def handle(self, *args, **options):
        latest = Paper.objects.latest_day()
        if latest is None:
            self.stdout.write("No papers yet: run load_demo_papers first.")
            return
        saved = 0
        with transaction.atomic():
            for person in User.objects.active().exclude(research_interests=""):
                if person.bookmarks.exists():
                    continue  # someone's real library is theirs: the demo adds to nobody's
                # Earlier days only, so the latest day's papers are left for "For you" to rank.
                earlier = Paper.objects.filter(first_announced__lt=latest).for_person(person)
                papers = list(earlier.order_by("-first_announced", "arxiv_id")[:PER_PERSON])
                Bookmark.objects.bulk_create([Bookmark(user=person, paper=paper) for paper in papers])
                saved += len(papers)
        result = recommend_day(latest)
        self.stdout.write(
            f"Demo libraries: {saved} new bookmarks; {result['recommendations']} recommendations "
            f"for {result['people']} people on {result['day']}."
        )
