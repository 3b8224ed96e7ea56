"""The lab's publication record: accepted drafts, linked to their arXiv paper once it is fetched.

A paper is a draft's when its title is the draft's title (folded, lower case, punctuation and
spacing ignored) and one of its authors is one of the draft's lab authors, by any of the names
they gave (User.arxiv_names) or their display name, read as watch rules read names. Candidates
are the lab authors' papers announced since shortly before the draft was written, found through
the author index, so a lookup reads a handful of rows among a million.
"""

import logging
import re
from datetime import timedelta

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from lab_portal.notify import Message, notify
from papers.models import Paper, authored
from papers.names import fold

from .models import Draft, DraftAuthor

logger = logging.getLogger(__name__)

# People put a paper on arXiv before (or without) opening its draft in the portal, too.
SLACK = timedelta(days=120)
_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise_title(title: str) -> str:
    return _NOT_ALNUM.sub(" ", fold(title).lower()).strip()


def author_names(draft: Draft) -> set[str]:
    """The names the draft's lab authors publish under (reads `draft.authors` with their people)."""
    names = set()
    for author in draft.authors.all():
        if author.person_id:
            person = author.person
            names.update(str(name) for name in [*person.arxiv_names, person.name] if str(name).strip())
    return names


def find_paper(draft: Draft) -> Paper | None:
    """The earliest paper in the store that is this draft's, if any."""
    names = author_names(draft)
    title = normalise_title(draft.title)
    if not names or not title:
        return None
    since = (draft.created_at - SLACK).date()
    recent = Paper.objects.filter(first_announced__gte=since, withdrawn=False)
    theirs = authored({draft.pk: names}, recent).get(draft.pk, set())
    for paper in Paper.objects.filter(pk__in=theirs).order_by("first_announced", "arxiv_id"):
        if normalise_title(paper.title) == title:
            return paper
    return None


def link(draft: Draft, paper: Paper, *, by=None) -> None:
    """Record `paper` as the draft's and tell its lab authors (but the one who linked it) once."""
    with transaction.atomic():
        Draft.objects.filter(pk=draft.pk).update(paper=paper)
        draft.paper = paper
        _announce(draft, exclude=by)


def _announce(draft: Draft, *, exclude=None) -> None:
    paper = draft.paper
    text = _("“%(title)s” is on arXiv as %(id)s; it is now linked in the lab's publication record.") % {
        "title": draft.title,
        "id": paper.arxiv_id,
    }
    for author in draft.authors.filter(person__isnull=False).select_related("person"):
        if exclude is not None and author.person_id == exclude.pk:
            continue
        notify(
            author.person,
            Message(
                subject=_("On arXiv: %(title)s") % {"title": draft.title},
                dedupe_key=f"draft-published:{draft.pk}",
                text=text,
                url=paper.get_absolute_url(),
            ),
        )


def link_accepted_drafts() -> list[Draft]:
    """Link every accepted draft that has no paper yet to its paper, once that is in the store.

    Safe to run twice: a linked draft is not looked at again, and the notice is keyed by draft."""
    lab_authors = DraftAuthor.objects.filter(person__isnull=False).select_related("person")
    waiting = Draft.objects.filter(status=Draft.Status.ACCEPTED, paper__isnull=True).prefetch_related(
        Prefetch("authors", queryset=lab_authors)
    )
    linked = []
    for draft in waiting:
        paper = find_paper(draft)
        if paper is None:
            continue
        with transaction.atomic():
            # Someone may have linked it by hand meanwhile: theirs stands.
            if not Draft.objects.filter(pk=draft.pk, paper__isnull=True).update(paper=paper):
                continue
            draft.paper = paper
            _announce(draft)
        logger.info("Linked draft %s to arXiv:%s", draft.pk, paper.arxiv_id)
        linked.append(draft)
    return linked
