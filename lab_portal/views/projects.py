"""Projects: a line of research from its first results to its paper, told on one page.

Who may see what: every page needs a logged-in person (LoginRequiredMiddleware). Projects, like
the seminar schedule, are the lab's own: everyone may see a project's page, but its drafts (and
their versions and reviews) appear only to those who may read them, by the drafts' own rules.
Anyone may start a project; its people and the leads edit it (403 for others). Unknown projects
are 404. Every change is a POST.

A project's page gathers from seminars and reviews, as the dashboard does: the one other place
this app reads the apps it hosts.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from ..forms import ProjectForm
from ..models import Project

# The statuses that mark a step of the story, worded for it (called inside the request's language).
STATUS_EVENTS = {
    "submitted": lambda: _("Submitted to %(venue)s"),
    "accepted": lambda: _("Accepted at %(venue)s"),
    "rejected": lambda: _("Not accepted at %(venue)s"),
}


@dataclass
class Event:
    """One moment of a project's story."""

    when: datetime
    kind: str  # a CSS-friendly word: request, talk, action, draft, version, review, status, paper
    text: str
    url: str = ""
    detail: str = ""


def _get_project(pk: int) -> Project:
    return get_object_or_404(Project.objects.select_related("team", "target_venue", "created_by"), pk=pk)


def _get_project_for_editor(request: HttpRequest, pk: int) -> Project:
    project = _get_project(pk)
    if not project.can_edit(request.user):
        raise PermissionDenied
    return project


@require_safe
def projects(request: HttpRequest) -> HttpResponse:
    listed = Project.objects.select_related("team", "target_venue").annotate(
        talk_count=Count("talks", distinct=True), draft_count=Count("drafts", distinct=True)
    )
    context = {
        "mine": listed.filter(people=request.user),
        "others": listed.exclude(people=request.user)[:100],
    }
    return render(request, "lab_portal/projects.html", context)


def new_project(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(
        request.POST or None, initial={"people": [request.user.pk], "team": request.user.team_id}
    )
    if request.method == "POST" and form.is_valid():
        form.instance.created_by = request.user
        project = form.save()
        messages.success(request, _("The project is started: attach its seminars and drafts to it."))
        return redirect(project)
    return render(request, "lab_portal/project_form.html", {"form": form, "title": _("New project")})


def edit_project(request: HttpRequest, pk: int) -> HttpResponse:
    project = _get_project_for_editor(request, pk)
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The project is saved."))
        return redirect(project)
    context = {"form": form, "project": project, "title": _("Edit project")}
    return render(request, "lab_portal/project_form.html", context)


@require_safe
def project(request: HttpRequest, pk: int) -> HttpResponse:
    from reviews.models import Draft
    from seminars.models import TalkRequest

    project = _get_project(pk)
    user = request.user
    talks = list(project.talks.select_related("speaker_user", "draft").order_by("starts_at", "pk"))
    requests = project.talk_requests.select_related("requester", "talk")
    if not user.is_lead:  # a request is its requester's and the leads' business until decided
        requests = requests.filter(Q(requester=user) | ~Q(status=TalkRequest.Status.PENDING))
    items = list(project.action_items())
    readable = Draft.objects.readable_by(user).filter(project=project)
    drafts = list(readable.select_related("deadline__venue", "paper").prefetch_related("versions"))
    full = set(Draft.objects.visible_to(user).filter(project=project).values_list("pk", flat=True))
    story = _story(project, talks=talks, requests=list(requests), items=items, drafts=drafts, full=full)
    context = {
        "project": project,
        "people": project.people.order_by("display_name", "username"),
        "can_edit": project.can_edit(user),
        "talks": talks,
        "open_items": [item for item in items if item.done_at is None],
        "drafts": drafts,
        "story": story,
    }
    return render(request, "lab_portal/project.html", context)


def _story(project: Project, *, talks, requests, items, drafts, full: set[int]) -> list[Event]:
    """Everything that happened in the project, oldest first. Drafts the viewer may only read show
    their current version; reviews and rounds only to those who may see the whole draft."""
    from reviews.models import Review, ReviewRound

    events = [Event(project.created_at, "start", _("Project started"))]
    for request in requests:
        stage = request.get_stage_display() if request.stage else ""
        events.append(
            Event(
                request.created_at,
                "request",
                _("%(person)s asked for a seminar: “%(title)s”")
                % {"person": request.requester, "title": request.title},
                detail=stage,
            )
        )
        if request.decided_at:
            decided = _("Request accepted") if request.talk_id else _("Request declined")
            events.append(
                Event(
                    request.decided_at,
                    "request",
                    decided,
                    request.talk.get_absolute_url() if request.talk else "",
                )
            )
    for talk in talks:
        events.append(
            Event(
                talk.starts_at,
                "talk",
                _("Seminar: “%(title)s” by %(speaker)s")
                % {"title": talk.title, "speaker": talk.speaker or "—"},
                talk.get_absolute_url(),
                talk.get_stage_display() if talk.stage else "",
            )
        )
    for item in items:
        events.append(
            Event(
                item.created_at,
                "action",
                _("Action item for %(owner)s: %(action)s") % {"owner": item.owner, "action": item.text},
                item.talk.get_absolute_url(),
            )
        )
        if item.done_at:
            events.append(Event(item.done_at, "action", _("Done: %(action)s") % {"action": item.text}))
    for draft in drafts:
        events.append(
            Event(
                draft.created_at,
                "draft",
                _("Draft: “%(title)s”") % {"title": draft.title},
                draft.get_absolute_url(),
                str(draft.deadline),
            )
        )
        versions = sorted(draft.versions.all(), key=lambda v: v.number)
        shown = versions if draft.pk in full else versions[-1:]
        for version in shown:
            events.append(
                Event(
                    version.uploaded_at,
                    "version",
                    _("Version %(number)d uploaded") % {"number": version.number},
                    version.get_absolute_url(),
                    version.note,
                )
            )
        if draft.status_changed_at and draft.status in STATUS_EVENTS:
            text = STATUS_EVENTS[draft.status]() % {"venue": draft.deadline.venue}
            events.append(Event(draft.status_changed_at, "status", text, draft.get_absolute_url()))
        if draft.paper_id:
            paper = draft.paper
            events.append(
                Event(
                    paper.published,
                    "paper",
                    _("Published: %(title)s") % {"title": paper.title},
                    paper.get_absolute_url(),
                    paper.arxiv_id,
                )
            )
    full_drafts = [draft for draft in drafts if draft.pk in full]
    for round in ReviewRound.objects.filter(drafts__in=full_drafts, published_at__isnull=False).distinct():
        events.append(
            Event(
                round.published_at,
                "review",
                _("Review round “%(name)s” assigned reviewers") % {"name": round.name},
            )
        )
    submitted = (
        Review.objects.submitted()
        .filter(assignment__draft__in=full_drafts)
        .select_related("assignment__draft")
    )
    for review in submitted:
        draft = review.assignment.draft
        events.append(
            Event(
                review.submitted_at,
                "review",
                _("A review of “%(title)s” submitted") % {"title": draft.title},
                draft.get_absolute_url(),
            )
        )
    return sorted(events, key=lambda event: event.when)
