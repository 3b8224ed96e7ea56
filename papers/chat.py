"""Papers in the lab's chats: the morning post of each announcement's matches, and what the lab
bot's buttons, replies and commands do with papers.

After a daily run is matched, `post_run_matches` gives every owner of rules (a person, a team)
one post on each of their chat channels: each paper once, with every reason it matched, best
first, the top CHAT_POST_PAPERS of them and "and N more" linking to the portal
(lab_portal.notify.post_to_chats splits it where Telegram needs). Urgent rules push at once
(papers.watch) and the post leaves their papers out on the channels that got them.

The bot's side (lab_portal.chat) calls the handlers below, registered by `register()` from
PapersConfig.ready: Save, Share, Not for me and Discuss under each paper; a reply to a paper's or a
comment's message in a linked group becomes a comment; /today and /search.
"""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lab_portal import chat
from lab_portal.models import Team, User
from lab_portal.notify import Item, Message, post_to_chats

from . import comments, queries, sharing
from .items import paper_item
from .models import Bookmark, Comment, Notification, Paper, Recommendation
from .services import mark_not_for_me

SEARCH_RESULTS = 5
# /today reads the person's matches of this many days back: the latest announcement is within.
TODAY_WINDOW = timedelta(days=7)


def _paper(ref: str) -> Paper | None:
    kind, _colon, arxiv_id = ref.partition(":")
    return Paper.objects.filter(arxiv_id=arxiv_id).first() if kind == "paper" else None


def _comment(ref: str) -> Comment | None:
    kind, _colon, pk = ref.partition(":")
    if kind != "comment" or not pk.isdigit():
        return None
    return Comment.objects.visible().select_related("paper").filter(pk=int(pk)).first()


# The morning post ------------------------------------------------------------------------------


@dataclass
class _Found:
    paper: Paper
    reasons: dict[int, str] = field(default_factory=dict)  # rule id → "Rule: why"
    since: datetime | None = None
    score: float = 0.0


def matches_url(day: date) -> str:
    return f"{reverse('papers:watch-rules')}?{urlencode({'day': day.isoformat()})}"


def post_run_matches(run, *, batch: str = "") -> int:
    """Queue the chat post of what `run` matched, for every owner of a rule that goes to chat.
    Keyed by the announcement day, the run and the `batch` (the matching that asks). Each match
    is taken into one post only, shown or counted in its "and N more": a later matching of the
    run (the overlap, "like my library" after training) posts just the matches it added."""
    from .watch import papers_of_run  # the watch module imports this one

    with transaction.atomic():
        rows = list(
            Notification.objects.filter(
                kind=Notification.Kind.MATCH,
                rule__in_chat=True,
                rule__active=True,
                chat_post_at__isnull=True,
                paper__in=papers_of_run(run),
            )
            .select_related("paper", "rule__person", "rule__team")
            .order_by("pk")
            .select_for_update(of=("self",))
        )
        owners: dict[tuple[str, int], dict[int, _Found]] = defaultdict(dict)
        owner_of: dict[tuple[str, int], User | Team] = {}
        for row in rows:
            rule = row.rule
            slot = ("team", rule.team_id) if rule.team_id else ("person", rule.person_id)
            owner_of[slot] = rule.owner
            found = owners[slot].setdefault(row.paper_id, _Found(row.paper))
            found.reasons[rule.pk] = f"{rule.name}: {row.reason}" if row.reason else rule.name
            found.since = min(found.since or row.created_at, row.created_at)
        queued = 0
        for slot, papers in owners.items():
            owner = owner_of[slot]
            if isinstance(owner, User) and not owner.is_active:
                continue
            queued += len(_post(owner, list(papers.values()), run=run, batch=batch))
        Notification.objects.filter(pk__in=[row.pk for row in rows]).update(chat_post_at=timezone.now())
    return queued


def _post(owner: User | Team, found: list[_Found], *, run, batch: str) -> list:
    day = max(_announced(f.paper) for f in found)
    found = best_first(found, person=owner if isinstance(owner, User) else None)
    language = owner.language if isinstance(owner, User) else settings.LANGUAGE_CODE
    with translation.override(language):
        if isinstance(owner, User):
            subject = _("Your papers for %(day)s") % {"day": date_format(day, "DATE_FORMAT")}
        else:
            subject = _("Papers for %(team)s, %(day)s") % {
                "team": owner.name,
                "day": date_format(day, "DATE_FORMAT"),
            }
        items = [paper_item(f.paper, why="; ".join(f.reasons.values())) for f in found]
    message = Message(
        subject=subject,
        dedupe_key=f"morning:{day.isoformat()}:{run.pk}:{batch}",
        items=items,
        url=matches_url(day),
    )
    since = min(f.since for f in found)
    return post_to_chats(owner, message, limit=settings.CHAT_POST_PAPERS, since=since)


def best_first(found: list[_Found], *, person: User | None) -> list[_Found]:
    """Matched by more rules, then liked more by the person's recommender, then newest: the
    morning post and /today rank alike."""
    if person is not None:
        scores = dict(
            Recommendation.objects.filter(person=person, paper__in=[f.paper.pk for f in found])
            .order_by("score")
            .values_list("paper_id", "score")
        )
        for f in found:
            f.score = scores.get(f.paper.pk, 0.0)
    return sorted(found, key=lambda f: (len(f.reasons), f.score, f.paper.arxiv_id), reverse=True)


def _announced(paper: Paper) -> date:
    return paper.last_announced if paper.version > 1 else paper.first_announced


# Buttons ----------------------------------------------------------------------------------------


def save(person: User, ref: str, *, group: bool) -> chat.Outcome:
    paper = _paper(ref)
    if paper is None:
        return chat.Outcome(_("This paper is no longer in the portal."))
    _bookmark, created = Bookmark.objects.get_or_create(user=person, paper=paper)
    return chat.Outcome(_("Saved to your library.") if created else _("Already in your library."))


def share(person: User, ref: str, *, group: bool) -> chat.Outcome:
    """Share with whom the person chose last time (the whole lab the first time), without a
    note: choosing others, or writing one, is the paper page's Share."""
    paper = _paper(ref)
    if paper is None:
        return chat.Outcome(_("This paper is no longer in the portal."))
    recipients = sharing.last_recipients(person)
    before = timezone.now()
    done = sharing.share_paper(paper, sharer=person, note="", recipients=recipients)
    if done.created_at < before:  # the same share moments ago: nobody is told twice
        return chat.Outcome(_("Already shared with %(recipients)s.") % {"recipients": recipients.label})
    return chat.Outcome(
        _("Shared with %(recipients)s. To choose others or add a note, share from the paper's page.")
        % {"recipients": recipients.label}
    )


def not_for_me(person: User, ref: str, *, group: bool) -> chat.Outcome:
    paper = _paper(ref)
    if paper is None:
        return chat.Outcome(_("This paper is no longer in the portal."))
    if mark_not_for_me(paper, person=person):
        return chat.Outcome(_("Noted: fewer papers like this one. Undo on the paper's page."))
    return chat.Outcome(_("Already marked “not for me”."))


def discuss(person: User, ref: str, *, group: bool) -> chat.Outcome:
    """In a group: the paper's own message, which replies attach to. In a private chat the
    same message carries the link to the paper's thread."""
    paper = _paper(ref)
    if paper is None:
        return chat.Outcome(_("This paper is no longer in the portal."))
    if group:
        why = _("Reply to this message: your reply becomes a comment in the portal's thread.")
        answer = _("Reply to the paper's own message to discuss it here and in the portal.")
    else:
        why = _("Its title opens the paper's thread in the portal.")
        answer = _("The paper's title opens its thread in the portal.")
    post = Message(
        subject=_("Discuss"),
        dedupe_key="",
        items=[paper_item(paper, why=why, portal_url=f"{paper.get_absolute_url()}#thread")],
    )
    return chat.Outcome(answer, post=post)


# Replies and edits ------------------------------------------------------------------------------


def comment_on_paper(person: User, ref: str, text: str, chat_id: str) -> str | None:
    paper = _paper(ref)
    if paper is None:
        return None
    comment = comments.post_comment(paper, author=person, body=text, from_chat=chat_id)
    return f"comment:{comment.pk}"


def reply_to_comment(person: User, ref: str, text: str, chat_id: str) -> str | None:
    parent = _comment(ref)
    if parent is None:
        return None
    comment = comments.post_comment(parent.paper, author=person, body=text, parent=parent, from_chat=chat_id)
    return f"comment:{comment.pk}"


def edit_from_chat(person: User, ref: str, text: str, chat_id: str) -> None:
    comment = _comment(ref)
    if comment is not None and comment.editable_by(person):
        comments.edit_comment(comment, body=text)


# Commands ---------------------------------------------------------------------------------------


def today(person: User, words: str) -> Message:
    """The person's matches of the latest announcement, best first."""
    day = Paper.objects.latest_day()
    if day is None:
        return Message(subject=_("No papers have been fetched yet."), dedupe_key="")
    rows = (
        Notification.objects.filter(
            person=person, kind=Notification.Kind.MATCH, created_at__gte=_start_of(day) - TODAY_WINDOW
        )
        .filter(Q(paper__first_announced=day) | Q(paper__last_announced=day, version__gt=1))
        .select_related("paper", "rule")
        .order_by("pk")
    )
    found: dict[int, _Found] = {}
    for row in rows:
        entry = found.setdefault(row.paper_id, _Found(row.paper))
        name = row.rule.name if row.rule else ""
        entry.reasons[row.rule_id or 0] = (
            f"{name}: {row.reason}" if name and row.reason else name or row.reason
        )
    if not found:
        return Message(
            subject=_("No matches for you on %(day)s.") % {"day": date_format(day, "DATE_FORMAT")},
            dedupe_key="",
            url=reverse("papers:watch-rules"),
        )
    ranked = best_first(list(found.values()), person=person)
    shown = ranked[: settings.CHAT_POST_PAPERS]
    items = [paper_item(f.paper, why="; ".join(f.reasons.values())) for f in shown]
    return Message(
        subject=_("Your papers for %(day)s") % {"day": date_format(day, "DATE_FORMAT")},
        dedupe_key="",
        items=_numbered(items),
        more=len(ranked) - len(shown),
        url=matches_url(day),
    )


def _numbered(items: list[Item]) -> list[Item]:
    return [replace(item, number=n) for n, item in enumerate(items, start=1)] if len(items) > 1 else items


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.get_current_timezone())


def search(person: User, words: str) -> Message:
    """The portal's search, its first few results."""
    terms = queries.parse_terms(words)
    if not terms:
        return Message(
            subject=_("Send /search with the words to look for, such as /search video diffusion."),
            dedupe_key="",
        )
    papers, _more = queries.search(terms)
    # The rest of the results are one tap away: the message's link opens the portal's search.
    url = f"{reverse('papers:search')}?{urlencode({'q': words})}"
    if not papers:
        return Message(subject=_("Nothing found for “%(words)s”.") % {"words": words}, dedupe_key="", url=url)
    items = [paper_item(paper) for paper in papers[:SEARCH_RESULTS]]
    return Message(
        subject=_("Search: %(words)s") % {"words": words}, dedupe_key="", items=_numbered(items), url=url
    )


def register() -> None:
    """Hand the bot what papers do (PapersConfig.ready)."""
    chat.register_action("save", label=gettext_lazy("Save"), run=save)
    chat.register_action("share", label=gettext_lazy("Share"), run=share)
    chat.register_action("skip", label=gettext_lazy("Not for me"), run=not_for_me)
    chat.register_action("discuss", label=gettext_lazy("Discuss"), run=discuss)
    chat.register_reply("paper", run=comment_on_paper)
    chat.register_reply("comment", run=reply_to_comment)
    chat.register_edit("comment", run=edit_from_chat)
    chat.register_command("today", help=gettext_lazy("your matches of the latest announcement"), run=today)
    chat.register_command(
        "search", help=gettext_lazy("search the lab's papers, as in /search video diffusion"), run=search
    )
