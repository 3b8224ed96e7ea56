"""Venues and their deadlines, and the deadlines as a calendar.

Who may see what: venues and deadlines are listed to everyone logged in (LoginRequiredMiddleware)
and added by leads (403 for others). Every change is a POST.
"""

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from ..calendars import deadlines_calendar
from ..forms import DeadlineForm, VenueForm
from ..models import Deadline, Venue
from .drafts import _require_lead


def _venues_page(request: HttpRequest, *, venue_form=None, deadline_form=None, status=200) -> HttpResponse:
    is_lead = request.user.is_lead
    now = timezone.now()
    context = {
        "venues": Venue.objects.all(),
        "upcoming": Deadline.objects.upcoming(now).select_related("venue"),
        "past": Deadline.objects.filter(paper_deadline__lt=now)
        .select_related("venue")
        .order_by("-paper_deadline")[:20],
        "venue_form": (venue_form or VenueForm()) if is_lead else None,
        "deadline_form": (deadline_form or DeadlineForm()) if is_lead else None,
    }
    return render(request, "reviews/venues.html", context, status=status)


@require_safe
def venues(request: HttpRequest) -> HttpResponse:
    return _venues_page(request)


@require_POST
def add_venue(request: HttpRequest) -> HttpResponse:
    _require_lead(request)
    form = VenueForm(request.POST)
    if not form.is_valid():
        return _venues_page(request, venue_form=form, status=400)
    venue = form.save()
    messages.success(request, _("%(venue)s is added; now add its deadlines.") % {"venue": venue})
    return redirect("reviews:venues")


@require_POST
def add_deadline(request: HttpRequest) -> HttpResponse:
    _require_lead(request)
    form = DeadlineForm(request.POST)
    if not form.is_valid():
        return _venues_page(request, deadline_form=form, status=400)
    deadline = form.save()
    messages.success(request, _("The %(deadline)s deadline is added.") % {"deadline": deadline})
    return redirect("reviews:venues")


@require_safe
def deadlines_ics(request: HttpRequest) -> HttpResponse:
    deadlines = Deadline.objects.filter(paper_deadline__gte=timezone.now() - timedelta(days=365))
    body = deadlines_calendar(deadlines.select_related("venue"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="deadlines.ics"'
    return response
