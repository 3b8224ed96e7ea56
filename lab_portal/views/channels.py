"""Notification channels.

Who may see what: a person manages their own channels, and a lead those of the teams an admin
made them lead; anyone else's channel answers 404, as if it did not exist. The lab's group
channels are edited in the admin site."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from .. import telegram
from ..forms import ChannelForm, DigestForm
from ..models import Channel, Delivery, Team, User
from ..notify import send_test_message

# Messages of unknown outcome stay listed under their channel this long, the latest few of them.
UNKNOWN_SHOWN_FOR = timedelta(days=14)
UNKNOWN_SHOWN = 5


def _managed_channels(user: User):
    """The channels `user` manages, each with `unknown_deliveries`: what may not have arrived."""
    unknown = Delivery.objects.outcome_unknown().filter(created_at__gte=timezone.now() - UNKNOWN_SHOWN_FOR)
    return (
        Channel.objects.managed_by(user)
        .select_related("person", "team", "last_test")
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=unknown.order_by("-created_at", "-pk")[:UNKNOWN_SHOWN],
                to_attr="unknown_deliveries",
            )
        )
    )


def _get_channel_for_user(request: HttpRequest, pk: int) -> Channel:
    return get_object_or_404(_managed_channels(request.user), pk=pk)


def _channel_row(request: HttpRequest, channel: Channel, **context) -> HttpResponse:
    return render(request, "lab_portal/channels.html#channel-row", {"channel": channel, **context})


def channels(request: HttpRequest) -> HttpResponse:
    """A person's channels (and those of the teams they lead), with a form to add one."""
    form = ChannelForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        channel = form.save()
        messages.success(request, _("Channel added: %(channel)s.") % {"channel": channel.get_kind_display()})
        return redirect("channels")
    return render(request, "lab_portal/channels.html", _channels_context(request, form=form))


def _channels_context(request: HttpRequest, **extra) -> dict:
    managed = list(_managed_channels(request.user))
    own = [channel for channel in managed if channel.person_id == request.user.pk]
    teams = list(Team.objects.filter(pk__in=request.user.led_team_ids))
    for team in teams:
        team.managed_channels = [channel for channel in managed if channel.team_id == team.pk]
    return {
        "own": own,
        "teams": teams,
        "form": ChannelForm(user=request.user),
        **_digest_context(request.user, own),
        "telegram_bot": telegram.configured(),
        **extra,
    }


def _digest_context(user: User, own: list[Channel]) -> dict:
    email = [channel for channel in own if channel.kind == Channel.Kind.EMAIL]
    return {
        # No e-mail channel yet: the digest makes the one at the profile's address.
        "digest_reaches": not email or any(channel.enabled for channel in email),
        "digest_hour": settings.DIGEST_HOUR,
    }


@require_POST
@vary_on_headers("HX-Request")
def digest_setting(request: HttpRequest) -> HttpResponse:
    """Turn one's own morning e-mail digest on or off (nobody else's: there is no one to name)."""
    form = DigestForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Say on or off."))
    request.user.morning_digest = form.cleaned_data["morning_digest"]
    request.user.save(update_fields=["morning_digest"])
    if request.htmx:
        own = list(Channel.objects.filter(person=request.user))
        return render(request, "lab_portal/channels.html#digest-setting", _digest_context(request.user, own))
    if request.user.morning_digest:
        messages.success(request, _("The morning e-mail digest is on."))
    else:
        messages.success(request, _("The morning e-mail digest is off."))
    return redirect("channels")


@vary_on_headers("HX-Request")
def edit_channel(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel_for_user(request, pk)
    form = ChannelForm(request.POST or None, instance=channel, user=request.user, prefix=f"c{channel.pk}")
    if request.method == "POST" and form.is_valid():
        channel = form.save(commit=False)
        try:
            # An UPDATE only: a channel deleted meanwhile (in another tab) must stay deleted.
            with transaction.atomic():
                channel.save(force_update=True)
        except Channel.NotUpdated:
            messages.error(request, _("This channel was deleted meanwhile: nothing was saved."))
            return HttpResponseClientRedirect(reverse("channels")) if request.htmx else redirect("channels")
        if request.htmx:
            return _channel_row(request, channel)
        messages.success(request, _("Channel saved."))
        return redirect("channels")
    if request.htmx:
        return _channel_row(request, channel, editing=channel, edit_form=form)
    return render(
        request, "lab_portal/channels.html", _channels_context(request, editing=channel, edit_form=form)
    )


@require_POST
def toggle_channel(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel_for_user(request, pk)
    channel.enabled = not channel.enabled
    channel.save(update_fields=["enabled"])
    if request.htmx:
        return _channel_row(request, channel)
    messages.success(request, _("Channel turned on.") if channel.enabled else _("Channel turned off."))
    return redirect("channels")


@require_POST
def delete_channel(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel_for_user(request, pk)
    channel.delete()
    if request.htmx:
        return HttpResponse("")  # the row swaps itself out for nothing
    messages.success(request, _("Channel deleted."))
    return redirect("channels")


@require_POST
def test_channel(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a test message; the channel's row shows its state until it is sent or has failed."""
    send_test_message(_get_channel_for_user(request, pk))
    channel = _get_channel_for_user(request, pk)  # without a worker the task ran on commit
    if request.htmx:
        return _channel_row(request, channel)
    messages.info(request, _("Test message queued: its channel below shows how it goes."))
    return redirect(f"{reverse('channels')}#channel-{channel.pk}")


@require_GET
@vary_on_headers("HX-Request")
def channel_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The channel's row as it stands now, which a test message in progress asks for again; the
    channels page at that row without htmx. Same people as every channel view."""
    channel = _get_channel_for_user(request, pk)
    if request.htmx:
        return _channel_row(request, channel)
    return redirect(f"{reverse('channels')}#channel-{channel.pk}")
