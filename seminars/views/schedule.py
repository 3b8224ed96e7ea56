"""Rooms, series and talks: the schedule, and requests for a slot.

Who may see what: every page needs a logged-in person (LoginRequiredMiddleware) and shows the
whole lab's schedule, cancelled talks included. Creating talks and series and deciding requests
is for leads (403 for others); a talk's host may also edit or cancel their own talk. Anyone may
request a slot; a researcher sees their own requests, a lead everyone's. Every change is a POST.
"""

import calendar
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ..forms import (
    DecisionForm,
    GenerateForm,
    ProjectQueryForm,
    ProposeQueryForm,
    SeriesForm,
    TalkForm,
    TalkRequestForm,
    room_taken_message,
)
from ..models import Room, Series, Talk, TalkRequest, week_start
from ..services import (
    AlreadyDecided,
    RoomTaken,
    accept_request,
    cancel_talk,
    create_talk,
    decline_request,
    generate_series_talks,
    update_talk,
)

LIST_RELATED = ("room", "series", "host", "speaker_user")
PAGE_RELATED = (*LIST_RELATED, "project")


def _require_lead(request: HttpRequest) -> None:
    if not request.user.is_lead:
        raise PermissionDenied


def _get_talk(pk: int) -> Talk:
    return get_object_or_404(Talk.objects.select_related(*PAGE_RELATED), pk=pk)


def _get_talk_for_editor(request: HttpRequest, pk: int) -> Talk:
    talk = _get_talk(pk)
    if not talk.can_edit(request.user):
        raise PermissionDenied
    return talk


def _get_series(slug: str) -> Series:
    return get_object_or_404(Series.objects.select_related("room", "host"), slug=slug)


def _get_request_for_lead(request: HttpRequest, pk: int) -> TalkRequest:
    _require_lead(request)
    return get_object_or_404(TalkRequest.objects.select_related("requester", "paper"), pk=pk)


def _listed(talks):
    return talks.select_related(*LIST_RELATED).with_seat_counts()


def _by_local_day(talks) -> dict[date, list[Talk]]:
    days = defaultdict(list)
    for talk in talks:
        days[timezone.localtime(talk.starts_at).date()].append(talk)
    return days


def _calendar_page(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    response = render(request, f"{template}#{partial}" if request.htmx else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def index(request: HttpRequest) -> HttpResponse:
    context = {
        "talks": _listed(Talk.objects.upcoming())[:50],
        "series_list": Series.objects.active(),
        "pending_requests": TalkRequest.objects.filter(status=TalkRequest.Status.PENDING).count()
        if request.user.is_lead
        else None,
    }
    return render(request, "seminars/index.html", context)


def week(
    request: HttpRequest, year: int | None = None, month: int | None = None, day: int | None = None
) -> HttpResponse:
    """Monday to Sunday in the viewer's zone."""
    try:
        shown = date(year, month, day) if year else timezone.localdate()
    except (ValueError, OverflowError):
        raise Http404 from None
    if not 1970 <= shown.year <= 9998:  # the same range as the month view; its neighbours must exist
        raise Http404
    monday = week_start(shown)
    by_day = _by_local_day(_listed(Talk.objects.in_week(monday)))
    context = {
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "days": [(monday + timedelta(days=n), by_day[monday + timedelta(days=n)]) for n in range(7)],
        "previous": monday - timedelta(weeks=1),
        "next": monday + timedelta(weeks=1),
        "today": timezone.localdate(),
    }
    return _calendar_page(request, "seminars/week.html", "week-grid", context)


def month(request: HttpRequest, year: int | None = None, month: int | None = None) -> HttpResponse:
    """A month's grid of weeks in the viewer's zone."""
    today = timezone.localdate()
    year, month = (year, month) if year else (today.year, today.month)
    if not (1 <= month <= 12 and 1970 <= year <= 9998):
        raise Http404
    first = date(year, month, 1)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    # The whole grid, so the days of the neighbouring months that it shows have their talks too.
    zone = timezone.get_current_timezone()
    grid = Talk.objects.between(
        datetime.combine(weeks[0][0], time.min, tzinfo=zone),
        datetime.combine(weeks[-1][-1] + timedelta(days=1), time.min, tzinfo=zone),
    )
    by_day = _by_local_day(_listed(grid))
    context = {
        "first": first,
        "weeks": [[(day, by_day.get(day, []), day.month == month) for day in days] for days in weeks],
        "weekdays": weeks[0],
        "previous": (first - timedelta(days=1)).replace(day=1),
        "next": (first + timedelta(days=31)).replace(day=1),
        "today": today,
    }
    return _calendar_page(request, "seminars/month.html", "month-grid", context)


def talk(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk(pk)
    context = {
        "talk": talk,
        "can_edit": talk.can_edit(request.user),
        "related_papers": talk.related_papers.all(),
    }
    return render(request, "seminars/talk.html", context)


def _save_talk_form(form: TalkForm, save) -> Talk | None:
    """Run `save(talk, papers)`; a room booked in the meantime becomes the form's room error."""
    talk = form.save(commit=False)
    try:
        save(talk, form.cleaned_data["papers"])
    except RoomTaken as taken:
        form.add_error("room", room_taken_message(taken.clash))
        return None
    return talk


def new_talk(request: HttpRequest) -> HttpResponse:
    _require_lead(request)
    form = TalkForm(request.POST or None, initial={"host": request.user}, user=request.user)
    if request.method == "POST" and form.is_valid():
        talk = _save_talk_form(form, lambda talk, papers: create_talk(talk, papers=papers))
        if talk:
            messages.success(request, _("The talk is on the schedule."))
            return redirect(talk)
    return render(request, "seminars/talk_form.html", {"form": form, "title": _("New talk")})


def edit_talk(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk_for_editor(request, pk)
    old = talk.schedule_snapshot()
    form = TalkForm(request.POST or None, instance=talk, user=request.user)
    # A host edits their talk but does not hand it to someone else; leads do that.
    form.fields["host"].disabled = not request.user.is_lead
    if request.method == "POST" and form.is_valid():
        saved = _save_talk_form(form, lambda talk, papers: update_talk(talk, old=old, papers=papers))
        if saved:
            messages.success(request, _("The talk is saved."))
            return redirect(saved)
    return render(request, "seminars/talk_form.html", {"form": form, "talk": talk, "title": _("Edit talk")})


def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST cancels."""
    talk = _get_talk_for_editor(request, pk)
    if request.method == "POST":
        if cancel_talk(talk):
            messages.success(request, _("The talk is cancelled; it stays on the schedule, marked."))
        else:
            messages.info(request, _("The talk was already cancelled."))
        return redirect(talk)
    return render(request, "seminars/talk_cancel.html", {"talk": talk})


def series_list(request: HttpRequest) -> HttpResponse:
    series = Series.objects.select_related("room", "host").order_by("-active", "name")
    return render(request, "seminars/series_list.html", {"series_list": series})


def series(request: HttpRequest, slug: str) -> HttpResponse:
    series = _get_series(slug)
    context = {
        "series": series,
        "upcoming": _listed(series.talks.upcoming()),
        "past": _listed(series.talks.past())[:20],
        "generate_form": GenerateForm(initial={"until": timezone.localdate() + timedelta(weeks=12)})
        if request.user.is_lead
        else None,
    }
    return render(request, "seminars/series.html", context)


def _report_generated(request: HttpRequest, generated) -> None:
    count = len(generated.created)
    messages.success(
        request, ngettext("%(count)d talk scheduled.", "%(count)d talks scheduled.", count) % {"count": count}
    )
    for day, clash in generated.clashes:
        # The day in the reader's own date format, as on every page (never an ISO date).
        messages.warning(
            request,
            _("Not scheduled on %(day)s: %(reason)s")
            % {"day": date_format(day, "SHORT_WEEKDAY_DATE_FORMAT"), "reason": room_taken_message(clash)},
        )


def new_series(request: HttpRequest) -> HttpResponse:
    _require_lead(request)
    form = SeriesForm(request.POST or None, initial={"host": request.user})
    if request.method == "POST" and form.is_valid():
        series = form.save()
        _report_generated(request, generate_series_talks(series, until=form.cleaned_data["generate_until"]))
        return redirect(series)
    return render(request, "seminars/series_form.html", {"form": form})


@require_POST
def generate_series(request: HttpRequest, slug: str) -> HttpResponse:
    _require_lead(request)
    series = _get_series(slug)
    form = GenerateForm(request.POST)
    if form.is_valid():
        _report_generated(request, generate_series_talks(series, until=form.cleaned_data["until"]))
    else:
        messages.error(request, " ".join(form.errors.get("until", [_("Give a day to schedule until.")])))
    return redirect(series)


def rooms(request: HttpRequest) -> HttpResponse:
    upcoming = Q(talks__ends_at__gt=timezone.now(), talks__status=Talk.Status.SCHEDULED)
    rooms = Room.objects.annotate(upcoming_count=Count("talks", filter=upcoming))
    return render(request, "seminars/rooms.html", {"rooms": rooms})


def propose(request: HttpRequest) -> HttpResponse:
    """Request a seminar slot for one's work, or propose a paper (`?paper=<arxiv_id>`) to discuss."""
    query = ProposeQueryForm(request.GET)
    paper = query.cleaned_data["paper"] if query.is_valid() else None
    initial = {"kind": TalkRequest.Kind.PAPER, "paper_id": paper.arxiv_id} if paper else {}
    if project := _project_from_query(request):
        initial["project"] = project.pk
    form = TalkRequestForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.instance.requester = request.user
        form.save()
        messages.success(request, _("Your request is with the leads; you will see their answer here."))
        return redirect("seminars:requests")
    return render(request, "seminars/propose.html", {"form": form, "paper": paper})


def _project_from_query(request: HttpRequest):
    """`?project=<pk>` from a project's "request a seminar" link; ignored when malformed."""
    query = ProjectQueryForm(request.GET)
    return query.cleaned_data["project"] if query.is_valid() else None


def requests(request: HttpRequest) -> HttpResponse:
    shown = TalkRequest.objects.select_related("requester", "paper", "talk", "decided_by", "project")
    if not request.user.is_lead:
        shown = shown.filter(requester=request.user)
    context = {
        "pending": shown.filter(status=TalkRequest.Status.PENDING),
        "decided": shown.exclude(status=TalkRequest.Status.PENDING).order_by("-decided_at", "-pk")[:30],
        "decision_form": DecisionForm(auto_id=False) if request.user.is_lead else None,
    }
    return render(request, "seminars/requests.html", context)


def _talk_from_request(talk_request: TalkRequest, lead) -> dict:
    own_work = talk_request.kind == TalkRequest.Kind.OWN_WORK
    return {
        "kind": Talk.Kind.SEMINAR,
        "title": talk_request.title,
        "abstract": talk_request.notes,
        "host": lead,
        "speaker_user": talk_request.requester if own_work else None,
        "speaker_name": "" if own_work else talk_request.requester.name,
        "papers": talk_request.paper.arxiv_id if talk_request.paper else "",
        "project": talk_request.project_id,
        "stage": talk_request.stage,
        "draft": talk_request.draft_id,
        "date": max(talk_request.preferred_after or timezone.localdate(), timezone.localdate()),
    }


def accept(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the talk form filled from the request; POST: schedule it and mark the request accepted."""
    talk_request = _get_request_for_lead(request, pk)
    if not talk_request.is_pending:
        messages.info(request, _("This request is already decided."))
        return redirect("seminars:requests")
    form = TalkForm(
        request.POST or None, initial=_talk_from_request(talk_request, request.user), user=request.user
    )
    if request.method == "POST" and form.is_valid():

        def save(talk, papers):
            accept_request(talk_request, talk=talk, papers=papers, by=request.user)

        try:
            talk = _save_talk_form(form, save)
        except AlreadyDecided:
            messages.info(request, _("This request is already decided."))
            return redirect("seminars:requests")
        if talk:
            messages.success(request, _("Accepted: the talk is on the schedule."))
            return redirect(talk)
    context = {"form": form, "talk_request": talk_request, "title": _("Schedule a requested talk")}
    return render(request, "seminars/talk_form.html", context)


@require_POST
def decline(request: HttpRequest, pk: int) -> HttpResponse:
    talk_request = _get_request_for_lead(request, pk)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    if decline_request(talk_request, note=note, by=request.user):
        messages.success(request, _("Declined “%(title)s”.") % {"title": talk_request.title})
    else:
        messages.info(request, _("This request is already decided."))
    return redirect("seminars:requests")
