"""Linking Telegram chats, and the bot's webhook.

Who may see what: a person links their own private chat; a lead links their team's group and
an admin the lab's (anyone else gets 403). The webhook needs no login: Telegram proves itself
with the secret `manage.py telegram_webhook set` gave it (403 without it)."""

import hmac
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import chat, telegram
from ..channels import DeliveryError
from ..forms import ConnectTelegramForm
from ..models import ChatLinkCode, Team
from ..tasks import handle_telegram_update


@require_POST
@never_cache
def connect_telegram(request: HttpRequest) -> HttpResponse:
    """A one-time link (and code) that connects a Telegram chat: shown once, never stored."""
    form = ConnectTelegramForm(request.POST)
    if not telegram.configured():
        messages.error(request, _("The portal has no Telegram bot yet; ask the portal's admin."))
        return redirect("profile")
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose which chat to connect."))
    scope = form.cleaned_data["chat"]
    team = None
    if scope == ChatLinkCode.Scope.TEAM:
        team = Team.objects.filter(pk=form.cleaned_data["team"], pk__in=request.user.led_team_ids).first()
        if team is None:
            raise PermissionDenied(_("Only a lead links their team's group."))
    elif scope == ChatLinkCode.Scope.LAB and not request.user.is_portal_admin:
        raise PermissionDenied(_("Only the portal's admin links the lab's group."))
    try:
        bot = telegram.bot_username()
    except DeliveryError as error:
        messages.error(request, _("Telegram could not be reached: %(error)s") % {"error": error})
        return redirect("profile" if scope == ChatLinkCode.Scope.PERSON else "channels")
    row, code = ChatLinkCode.issue(person=request.user, scope=scope, team=team)
    context = {
        "scope": scope,
        "team": team,
        "bot": bot,
        "code": code,
        "link": telegram.deep_link(code, group=scope != ChatLinkCode.Scope.PERSON),
        "expires_at": row.expires_at,
        "minutes": settings.TELEGRAM_LINK_MINUTES,
    }
    return render(request, "lab_portal/telegram_connect.html", context)


@csrf_exempt
@login_not_required
@require_POST
@never_cache
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    """Where Telegram posts the bot's updates. Stored at once and handled by a task, once."""
    if not telegram.configured():
        raise Http404
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), telegram.webhook_secret().encode()):
        return HttpResponse(status=403)
    try:
        stored = chat.receive(json.loads(request.body))
    except (ValueError, UnicodeDecodeError):
        return HttpResponseBadRequest("Not a Telegram update.")
    if stored is not None:
        handle_telegram_update.delay_on_commit(update_id=stored.update_id)
    return JsonResponse({"ok": True})
