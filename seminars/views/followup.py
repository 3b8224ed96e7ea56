"""After the talk: materials, feedback and action items.

Who may see what: everyone logged in sees a talk's slides, recording and action items;
materials and new action items are for the host, the leads and a speaker from the lab (403 for
others); feedback is given by any lab member but the speaker once the talk has started (403
otherwise) and read only by the speaker, the host and the leads (403 for others); an action
item is ticked off by its owner, or by the host of a later talk of its project (403 for
others). Unknown talks and items are 404.
"""

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lab_portal import files
from lab_portal.forms import form_errors
from lab_portal.navigation import back

from .. import followup
from ..forms import ActionItemForm, FeedbackForm, MaterialsForm
from ..models import ActionItem, Talk

logger = logging.getLogger(__name__)

PANEL = "seminars/includes/followup_panel.html"


def _get_talk(pk: int) -> Talk:
    return get_object_or_404(Talk.objects.select_related("host", "speaker_user"), pk=pk)


def _get_talk_for_manager(request: HttpRequest, pk: int) -> Talk:
    talk = _get_talk(pk)
    if not followup.can_manage(talk, request.user):
        raise PermissionDenied
    return talk


def _get_action_item_for_ticker(request: HttpRequest, pk: int) -> ActionItem:
    item = get_object_or_404(ActionItem.objects.select_related("talk", "owner"), pk=pk)
    if not followup.can_tick(item, request.user):
        raise PermissionDenied
    return item


def edit_materials(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk_for_manager(request, pk)
    form = MaterialsForm(request.POST or None, request.FILES or None, instance=talk)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            followup.save_materials(
                talk,
                slides=data["slides"],
                remove_slides=data.get("remove_slides", False),
                slides_url=data["slides_url"],
                recording_url=data["recording_url"],
                papers=data["papers"],
            )
        except files.store_errors():
            # The storage failed, not the host: the talk rolled back whole, so they may try again.
            logger.exception("Slides for talk %s could not be stored", talk.pk)
            talk.refresh_from_db()
            form.add_error("slides", files.NOT_STORED)
            status = 503
        else:
            messages.success(request, _("The talk's materials are saved."))
            return redirect(talk)
    return render(request, "seminars/materials.html", {"talk": talk, "form": form}, status=status)


def slides(request: HttpRequest, pk: int) -> FileResponse:
    talk = _get_talk(pk)
    if not talk.slides:
        raise Http404
    try:
        handle = talk.slides.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    name = f"{slugify(talk.title)[:80] or 'slides'}.pdf"
    # An attachment: a PDF opened in the portal's own origin could carry scripts.
    return FileResponse(handle, as_attachment=True, filename=name, content_type="application/pdf")


@require_POST
def give_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk(pk)
    reason = followup.feedback_closed_reason(talk, request.user)
    if reason:
        raise PermissionDenied(reason)
    form = FeedbackForm(request.POST)
    saved = form.is_valid()
    if saved:
        followup.give_feedback(
            talk,
            user=request.user,
            rating=form.cleaned_data["rating"],
            comments=form.cleaned_data["comments"],
        )
    if request.htmx:
        state = followup.followup_for(talk, request.user, feedback_form=None if saved else form)
        context = {"talk": talk, "followup": state, "feedback_saved": saved}
        return render(request, f"{PANEL}#feedback-box", context)
    if saved:
        messages.success(request, _("Thank you: your feedback is saved."))
    else:
        messages.error(request, _("Feedback not saved: %(errors)s") % {"errors": form_errors(form)})
    return redirect(talk)


def feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """Every answer about a talk, for its speaker (without names), its host and the leads."""
    talk = _get_talk(pk)
    if not followup.can_read_feedback(talk, request.user):
        raise PermissionDenied
    answers = list(followup.feedback_list(talk))
    context = {
        "talk": talk,
        "answers": answers,
        "average": sum(a.rating for a in answers) / len(answers) if answers else None,
        "show_names": followup.feedback_shows_names(talk, request.user),
    }
    return render(request, "seminars/feedback.html", context)


@require_POST
def add_action_item(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk_for_manager(request, pk)
    if talk.kind != Talk.Kind.SEMINAR:
        raise PermissionDenied(_("Action items belong to internal seminars."))
    form = ActionItemForm(request.POST)
    added = form.is_valid()
    if added:
        data = form.cleaned_data
        followup.add_action_item(
            talk, owner=data["owner"], text=data["text"], due_date=data["due_date"], by=request.user
        )
    if request.htmx:
        state = followup.followup_for(talk, request.user, action_item_form=None if added else form)
        return render(request, f"{PANEL}#action-items", {"talk": talk, "followup": state})
    if added:
        messages.success(request, _("Action item noted."))
    else:
        messages.error(request, _("Action item not noted: %(errors)s") % {"errors": form_errors(form)})
    return redirect(talk)


@require_POST
def action_item_done(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner, the talk's host or the host of a later talk of its project ticks an item off
    (done=1) or opens it again (done=0)."""
    item = _get_action_item_for_ticker(request, pk)
    done = request.POST.get("done", "1") != "0"
    followup.set_action_item_done(item, done=done)
    if request.htmx:
        context = {"item": item, "show_talk": request.POST.get("show_talk") == "1"}
        return render(request, f"{PANEL}#action-item", context)
    messages.success(request, _("Marked done.") if done else _("Open again."))
    return back(request, item.talk.get_absolute_url())
