"""Signing up for a talk, and the host's attendee list.

Who may see what: everyone logged in (LoginRequiredMiddleware) may sign up for a scheduled talk
that has not started, and give up their own sign-up. The attendee list and its CSV are for the
talk's host and leads; anyone else gets 403 (every talk is visible to the whole lab, so its
existence is no secret). Every change is a POST with CSRF; with htmx it answers with the sign-up
panel, without it redirects back to the talk with a message.
"""

import csv

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from .. import registration as signups
from ..models import Registration, Talk

PANEL = "seminars/includes/signup_panel.html#signup-panel"
# A spreadsheet runs a cell starting with one of these as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _get_talk(pk: int) -> Talk:
    return get_object_or_404(Talk.objects.select_related("room"), pk=pk)


def _get_talk_for_host(request: HttpRequest, pk: int) -> Talk:
    talk = _get_talk(pk)
    if not talk.can_edit(request.user):
        raise PermissionDenied
    return talk


@require_POST
@vary_on_headers("HX-Request")
def sign_up(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk(pk)
    try:
        registration = signups.sign_up(talk, request.user)
    except signups.SignupError as exc:
        return _answer(request, talk, error=str(exc))
    if request.htmx:
        return _answer(request, talk)  # the panel itself now says where the person stands
    if registration.status == Registration.Status.CONFIRMED:
        notice = _("You have a seat at this talk.")
    else:
        notice = _(
            "The talk is full: you are number %(position)s on the waiting list. "
            "You will get an e-mail if a seat frees up for you."
        ) % {"position": signups.queue_position(registration)}
    return _answer(request, talk, notice=notice)


@require_POST
@vary_on_headers("HX-Request")
def cancel_sign_up(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk(pk)
    try:
        given_up = signups.cancel(talk, request.user)
    except signups.SignupError as exc:
        return _answer(request, talk, error=str(exc))
    if given_up == Registration.Status.CONFIRMED:
        notice = _("You gave up your seat.")
    else:
        notice = _("You left the waiting list.")
    return _answer(request, talk, notice=notice)


def _answer(request: HttpRequest, talk: Talk, *, notice: str = "", error: str = "") -> HttpResponse:
    """The refreshed panel for htmx; otherwise back to the talk, the outcome as a message."""
    if request.htmx:
        context = {"talk": talk, "can_edit": talk.can_edit(request.user), "notice": notice, "error": error}
        return render(request, PANEL, context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(talk)


def attendees(request: HttpRequest, pk: int) -> HttpResponse:
    """For the host and leads: who has a seat and who waits, in order."""
    talk = _get_talk_for_host(request, pk)
    confirmed, waiting = signups.attendees(talk)
    return render(
        request, "seminars/attendees.html", {"talk": talk, "confirmed": confirmed, "waiting": waiting}
    )


def attendees_csv(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk_for_host(request, pk)
    confirmed, waiting = signups.attendees(talk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="talk-{talk.pk}-attendees.csv"'
    # The byte order mark makes Excel read UTF-8, so Korean names arrive intact.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        [_("Status"), _("Place in line"), _("Name"), _("Username"), _("E-mail"), _("Team"), _("Signed up")]
    )
    for registration in [*confirmed, *waiting]:
        person = registration.user
        writer.writerow(
            _csv_cell(value)
            for value in (
                registration.get_status_display(),
                getattr(registration, "position", ""),
                person.name,
                person.username,
                person.email,
                person.team.name if person.team else "",
                timezone.localtime(registration.created_at).isoformat(timespec="seconds"),
            )
        )
    return response


def _csv_cell(value):
    """A cell a spreadsheet shows as text: anything that would start a formula gets a quote first."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value
