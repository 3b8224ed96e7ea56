"""The Lab page: the papers shared with the whole lab, ranked by the lab's interest in them."""

from datetime import datetime, timedelta

from django.db.models import Count, Max, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Bookmark, Comment, Paper, Share

# The Lab page ranks the papers shared in this window, at most this many.
LAB_WINDOW = timedelta(days=90)
LAB_CANDIDATES = 200
LAB_PAGE_SIZE = 50


def interest_score(
    *, shares: int, comments: int, bookmarks: int, last_shared: datetime, now: datetime
) -> float:
    """Lab interest decaying with age, as Hacker News ranks stories.

    interest = 1 + 3·shares + 2·comments + bookmarks (a share is a recommendation to everyone, a
    comment is discussion, a bookmark is quiet interest); score = interest / (hours + 2)^1.5 where
    `hours` is the time since the latest share. A paper shared today outranks a week-old one unless
    the older paper drew far more of the lab.
    """
    hours = max(0.0, (now - last_shared).total_seconds() / 3600)
    return (1 + 3 * shares + 2 * comments + bookmarks) / (hours + 2) ** 1.5


def lab_papers(*, now: datetime | None = None, limit: int = LAB_PAGE_SIZE) -> list[Paper]:
    """The papers shared with the lab, most interesting first, each with its shares (newest first)
    and `share_count`, `comment_count`, `bookmark_count`, `last_shared`, `score`. Two queries."""
    now = now or timezone.now()

    def count_of(model, **filters):
        rows = model.objects.filter(paper=OuterRef("pk"), **filters).order_by().values("paper")
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)

    papers = list(
        # Shares with chosen people or teams are theirs: the Lab page shows what the lab was told.
        Paper.objects.filter(shares__created_at__gte=now - LAB_WINDOW, shares__to_lab=True)
        .annotate(last_shared=Max("shares__created_at"))
        .annotate(
            share_count=count_of(Share, to_lab=True),
            comment_count=count_of(Comment, deleted_at__isnull=True),
            bookmark_count=count_of(Bookmark),
        )
        .order_by("-last_shared", "-pk")
        .prefetch_related(
            Prefetch(
                "shares",
                queryset=Share.objects.with_lab().select_related("person").order_by("-created_at", "-pk"),
            )
        )[:LAB_CANDIDATES]
    )
    for paper in papers:
        paper.score = interest_score(
            shares=paper.share_count,
            comments=paper.comment_count,
            bookmarks=paper.bookmark_count,
            last_shared=paper.last_shared,
            now=now,
        )
    papers.sort(key=lambda p: (p.score, p.last_shared), reverse=True)
    return papers[:limit]
