"""People and teams, and the signed-in person's own profile and e-mail change.

Who may see what: everyone logged in (LoginRequiredMiddleware) sees the lab's people and teams
(inactive people are 404); the profile and the e-mail change are the person's own, nobody
else's can be reached here."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .. import addresses, telegram
from ..forms import ProfileForm
from ..models import Channel, Team, User


def people(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.prefetch_related("members")
    unassigned = User.objects.active().filter(team__isnull=True)
    return render(request, "lab_portal/people.html", {"teams": teams, "unassigned": unassigned})


def team(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    context = {"team": team, "members": team.members.active(), "leads": team.leads.active()}
    return render(request, "lab_portal/team.html", context)


def person(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User.objects.active().select_related("team"), username=username)
    return render(request, "lab_portal/person.html", {"person": person})


def profile(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own profile; nobody else's can be reached here."""
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        person = form.save()
        # Said in the language just chosen: the next page is already in it.
        with translation.override(person.language):
            messages.success(request, _("Your profile is saved."))
            if address := form.new_email:
                addresses.request_change(request.user, address=address)
                if old := request.user.email:
                    text = _("To use %(new)s, open the link we sent there. Until then mail goes to %(old)s.")
                else:
                    text = _("To use %(new)s, open the link we sent there.")
                messages.info(request, text % {"new": address, "old": old})
        return redirect("profile")
    context = {
        "form": form,
        "telegram_chats": Channel.objects.linked_account_of(request.user),
        "telegram_bot": telegram.configured(),
        "led_teams": Team.objects.filter(pk__in=request.user.led_team_ids),
        # An address shared by two accounts before addresses were unique waits, unconfirmable,
        # on all but one of them (see the migration); its owner is asked for one of their own.
        "pending_taken": bool(request.user.pending_email)
        and addresses.is_taken(request.user.pending_email, by_other_than=request.user),
    }
    return render(request, "lab_portal/profile.html", context)


@require_POST
def cancel_email_change(request: HttpRequest) -> HttpResponse:
    """The signed-in person drops their own pending address; the link sent to it stops working."""
    addresses.cancel_change(request.user)
    messages.success(request, _("The change of address is cancelled."))
    return redirect("profile")


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed to a new address. Only the signed-in person it was made for may use it
    (others are sent to log in first); any other account, an expired, replaced or forged link
    gets the same 400 page. GET shows a button, so a mail scanner that follows links confirms
    nothing; POST confirms. Under single sign-on addresses come from the provider: 404."""
    if settings.OIDC_ENABLED:
        raise Http404
    try:
        address = addresses.check_link(request.user, token)
    except addresses.LinkNotValid:
        return render(request, "lab_portal/confirm_email.html", {"invalid": True}, status=400)
    if request.method == "POST":
        try:
            addresses.confirm_change(request.user, token=token)
        except addresses.LinkNotValid:
            return render(request, "lab_portal/confirm_email.html", {"invalid": True}, status=400)
        except addresses.AddressTaken:
            return render(request, "lab_portal/confirm_email.html", {"taken": address}, status=409)
        messages.success(request, _("%(address)s is now your e-mail address.") % {"address": address})
        return redirect("profile")
    return render(request, "lab_portal/confirm_email.html", {"address": address})
