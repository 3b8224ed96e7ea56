"""Speaker invitations: the host's forms on the talk page, and the speaker's page behind the link.

Who may see what: inviting, re-sending and revoking are for the talk's host and the leads (403
for others, 404 for an unknown talk), and so is the live link itself, shown to copy in the talk
page's speaker panel (rendered for them alone); the speaker's page needs no account, only a live link for
that very talk (404 for an unknown token or another talk's, 410 for a revoked or expired one),
and after the talk shows the speaker their slides upload and the feedback without names;
the speaker's photo is for logged-in people (the middleware), like the talk page it sits on.
"""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from lab_portal import files
from lab_portal.markdown import render_markdown

from .. import followup, invitations
from ..forms import InvitationForm, SpeakerForm, SpeakerSlidesForm
from ..models import Talk

PANEL = "seminars/includes/speaker_panel.html#speaker-invitation"

logger = logging.getLogger(__name__)


def _get_talk(pk: int) -> Talk:
    return get_object_or_404(Talk, pk=pk)


def _get_talk_for_editor(request: HttpRequest, pk: int) -> Talk:
    talk = _get_talk(pk)
    if not talk.can_edit(request.user):
        raise PermissionDenied
    return talk


def _invitation_answer(request: HttpRequest, talk: Talk, form: InvitationForm, done: str) -> HttpResponse:
    """The panel's partial for htmx; otherwise back to the talk page with a message."""
    errors = " ".join(e for errors in form.errors.values() for e in errors)
    if request.htmx:
        context = {"talk": talk, "can_edit": True, "invite_form": form, "done": "" if errors else done}
        return render(request, PANEL, context)
    if errors:
        messages.error(request, errors)
    else:
        messages.success(request, done)
    return redirect(talk)


@require_POST
def invite_speaker(request: HttpRequest, pk: int) -> HttpResponse:
    """Send (or send again) the speaker's link; a new link revokes the one before."""
    talk = _get_talk_for_editor(request, pk)
    form = InvitationForm(request.POST, talk=talk)
    done = ""
    if form.is_valid():
        invitation = invitations.invite_speaker(talk, email=form.cleaned_data["email"], by=request.user)
        done = _("A link is on its way to %(email)s.") % {"email": invitation.email}
    return _invitation_answer(request, talk, form, done)


@require_POST
def revoke_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    talk = _get_talk_for_editor(request, pk)
    revoked = invitations.revoke_invitations(talk)
    done = _("The speaker's link no longer works.") if revoked else _("There was no live link to revoke.")
    return _invitation_answer(request, talk, InvitationForm(talk=talk), done)


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the address: never send it to another site as a referrer, and keep the page
    # unindexed. "same-origin", not "no-referrer": with no referrer at all Chromium posts the form
    # with "Origin: null", which Django's CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_not_required
@never_cache
def speaker_form(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """The outside speaker's own page: confirm the talk and fill in its details."""
    invitation = invitations.find_invitation(pk, token)
    if invitation is None:
        reason = _("This link does not open any talk. Check that you copied all of it from the e-mail.")
        return _private(render(request, "seminars/speaker_form.html", {"reason": reason}, status=404))
    state = invitations.link_state(invitation)
    if not state.live:
        reason = invitations.dead_link_reason(invitation)
        return _private(render(request, "seminars/speaker_form.html", {"reason": reason}, status=410))
    talk = invitation.talk
    if request.method == "POST" and "upload_slides" in request.POST:
        return _upload_slides(request, invitation)
    preview, form = None, None
    status = 200
    if talk.is_over and request.method == "POST":
        messages.error(request, _("The talk is over: its details can no longer be changed."))
        return redirect(request.path)
    if talk.is_over:
        pass  # after the talk the page is for slides and feedback
    elif request.method == "POST" and "preview" in request.POST:
        preview = render_markdown(request.POST.get("abstract", "")[:20000])
        if request.htmx:
            return _private(
                render(request, "seminars/speaker_form.html#abstract-preview", {"preview": preview})
            )
        # Shown again as typed, without judging it yet: this was not a submission.
        form = SpeakerForm(initial=request.POST.dict(), instance=talk)
    elif request.method == "POST":
        form = SpeakerForm(request.POST, request.FILES, instance=talk)
        if form.is_valid():
            try:
                invitations.submit_speaker_details(
                    invitation, details=form.details(), photo=form.cleaned_data["photo"]
                )
            except invitations.LinkClosed:
                return _closed(request, invitation)
            except files.store_errors():
                # The storage failed, not the speaker: everything they sent rolled back with the
                # photo, so the page keeps what they typed for them to send again.
                logger.exception("The speaker's photo for talk %s could not be stored", talk.pk)
                talk.refresh_from_db()
                form.add_error("photo", files.NOT_STORED)
                status = 503
            else:
                messages.success(request, _("Thank you: your talk is confirmed and the host has been told."))
                return redirect(request.path)
    else:
        form = SpeakerForm(instance=talk)
    return _speaker_page(
        request, invitation, form=form, preview=preview, slides_form=SpeakerSlidesForm(), status=status
    )


def _speaker_page(request: HttpRequest, invitation, *, form, preview, slides_form, status: int = 200):
    talk = invitation.talk
    context = {
        "talk": talk,
        "form": form,
        "preview": preview,
        "slides_form": slides_form,
        "expires_at": invitations.link_state(invitation).expires_at,
        # Feedback opens when the talk starts; the speaker reads it without names.
        "feedback": followup.feedback_for_speaker(talk) if talk.has_started else None,
    }
    return _private(render(request, "seminars/speaker_form.html", context, status=status))


def _closed(request: HttpRequest, invitation) -> HttpResponse:
    invitation.refresh_from_db()
    invitation.talk.refresh_from_db()
    reason = invitations.dead_link_reason(invitation)
    return _private(render(request, "seminars/speaker_form.html", {"reason": reason}, status=410))


def _upload_slides(request: HttpRequest, invitation) -> HttpResponse:
    slides_form = SpeakerSlidesForm(request.POST, request.FILES)
    if slides_form.is_valid():
        try:
            invitations.upload_speaker_slides(invitation, slides=slides_form.cleaned_data["slides"])
        except invitations.LinkClosed:
            return _closed(request, invitation)
        except files.store_errors():
            # The storage failed, not the speaker: nothing of the upload was kept; they may try again.
            logger.exception("The speaker's slides for talk %s could not be stored", invitation.talk_id)
            slides_form.add_error("slides", files.NOT_STORED)
            return _speaker_page(request, invitation, form=_form_if_open(invitation), preview=None,
                                 slides_form=slides_form, status=503)  # fmt: skip
        messages.success(request, _("Your slides are up; everyone who signed up has been told."))
        return redirect(request.path)
    return _speaker_page(
        request, invitation, form=_form_if_open(invitation), preview=None, slides_form=slides_form, status=400
    )


def _form_if_open(invitation):
    return None if invitation.talk.is_over else SpeakerForm(instance=invitation.talk)


def speaker_photo(request: HttpRequest, pk: int) -> FileResponse:
    talk = _get_talk(pk)
    content_type = invitations.photo_content_type(talk)
    if content_type is None:
        raise Http404
    response = FileResponse(talk.speaker_photo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response
