"""After the talk: slides, recording and paper links; attendee feedback; a seminar's action items.

Who does what:
- Materials (slides, recording, papers) are added by the host, the leads and a speaker from the
  lab, and shown to everyone.
- Feedback is given by any lab member except the speaker, once the talk has started. Not only
  those with a seat: sign-up is optional for talks without a seat limit, people listening
  online never sign up, and the portal has no check-in, so a registration would shut out real
  attendees; everyone here is logged in, gives one answer they can change, and nobody else
  reads it but the speaker (without names), the host and the leads (with names).
- Action items belong to internal seminars: the host, the speaker and the leads note them, the
  owner ticks them off, and open ones sit on the owner's dashboard.
"""

from dataclasses import dataclass, field

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Avg, Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from papers.models import Paper

from . import announcements
from .forms import ActionItemForm, FeedbackForm
from .models import ActionItem, Feedback, Registration, Talk


def can_manage(talk: Talk, user) -> bool:
    """Host, leads, and the speaker when they are in the lab: who adds materials and action items."""
    return talk.can_edit(user) or (
        user.is_authenticated and talk.speaker_user_id is not None and talk.speaker_user_id == user.pk
    )


def can_read_feedback(talk: Talk, user) -> bool:
    return can_manage(talk, user)


def feedback_shows_names(talk: Talk, user) -> bool:
    # The speaker reads what was said, not who said it, so a junior's seminar gets honest answers.
    return talk.can_edit(user)


def feedback_closed_reason(talk: Talk, user) -> str:
    """Why this person cannot give feedback now; empty when they can."""
    if talk.is_cancelled:
        return _("The talk was cancelled.")
    if talk.speaker_user_id is not None and talk.speaker_user_id == user.pk:
        return _("Speakers read their feedback; they do not rate their own talk.")
    if not talk.has_started:
        return _("Feedback opens when the talk starts.")
    return ""


def is_overdue(item: ActionItem) -> bool:
    return item.done_at is None and item.due_date is not None and item.due_date < timezone.localdate()


@dataclass
class FollowUp:
    """What the follow-up panel shows one person about one talk."""

    talk: Talk
    can_manage: bool
    can_read_feedback: bool
    feedback_note: str
    my_feedback: Feedback | None = None
    feedback_form: forms.Form | None = None
    feedback_count: int = 0
    feedback_average: float | None = None
    action_items: list[ActionItem] = field(default_factory=list)
    earlier_items: list[ActionItem] = field(default_factory=list)
    action_item_form: forms.Form | None = None

    @property
    def can_give_feedback(self) -> bool:
        return not self.feedback_note

    @property
    def is_seminar(self) -> bool:
        return self.talk.kind == Talk.Kind.SEMINAR

    @property
    def has_earlier_items(self) -> bool:
        return bool(self.earlier_items)

    @property
    def has_materials(self) -> bool:
        return bool(self.talk.slides or self.talk.slides_url or self.talk.recording_url)


def followup_for(talk: Talk, user, *, feedback_form=None, action_item_form=None) -> FollowUp:
    """The panel's facts; the views pass their bound forms back in to show errors."""
    manage = can_manage(talk, user)
    result = FollowUp(
        talk=talk,
        can_manage=manage,
        can_read_feedback=can_read_feedback(talk, user),
        feedback_note=feedback_closed_reason(talk, user),
    )
    if result.can_give_feedback:
        result.my_feedback = Feedback.objects.filter(talk=talk, user=user).first()
        result.feedback_form = feedback_form or FeedbackForm(instance=result.my_feedback)
    if result.can_read_feedback:
        summary = talk.feedback.aggregate(count=Count("pk"), average=Avg("rating"))
        result.feedback_count, result.feedback_average = summary["count"], summary["average"]
    if result.is_seminar:
        result.action_items = list(talk.action_items.select_related("owner", "talk"))
        result.earlier_items = earlier_open_items(talk)
        if manage:
            result.action_item_form = action_item_form or ActionItemForm()
    return result


def feedback_list(talk: Talk):
    """A talk's feedback, each marked with whether its giver held a seat."""
    seated = Registration.objects.filter(
        talk=talk, user=OuterRef("user"), status=Registration.Status.CONFIRMED
    )
    return talk.feedback.select_related("user").annotate(had_seat=Exists(seated)).order_by("-rating", "pk")


def feedback_for_speaker(talk: Talk) -> list[Feedback]:
    """What the attendees said, for the speaker: ratings and comments only, in an order that
    says nothing of who gave which (not by time, not by person)."""
    return list(talk.feedback.only("rating", "comments").order_by("-rating", "comments"))


def save_materials(
    talk: Talk,
    *,
    slides: UploadedFile | None,
    remove_slides: bool,
    slides_url: str,
    recording_url: str,
    papers: list[Paper],
) -> Talk:
    # Read from the database: a bound form has already put the new values on `talk`.
    before = Talk.objects.values("slides", "slides_url", "recording_url").get(pk=talk.pk)
    had_slides, had_recording = bool(before["slides"] or before["slides_url"]), bool(before["recording_url"])
    with transaction.atomic():
        replaced = talk.slides.name if (slides or remove_slides) else ""
        if slides is not None:
            talk.slides.save(slides.name, slides, save=False)
        elif remove_slides:
            talk.slides = ""
        talk.slides_url, talk.recording_url = slides_url, recording_url
        # Only these fields: the speaker or the host may be saving other parts of the talk.
        talk.save(update_fields=["slides", "slides_url", "recording_url", "updated_at"])
        talk.related_papers.set(papers)
        if replaced:
            storage = talk.slides.storage
            transaction.on_commit(lambda: storage.delete(replaced))
        announcements.materials_posted(
            talk,
            slides=not had_slides and bool(talk.slides or talk.slides_url),
            recording=not had_recording and bool(talk.recording_url),
        )
    return talk


def give_feedback(talk: Talk, *, user, rating: int, comments: str) -> Feedback:
    feedback, _created = Feedback.objects.update_or_create(
        talk=talk, user=user, defaults={"rating": rating, "comments": comments}
    )
    return feedback


def add_action_item(talk: Talk, *, owner, text: str, due_date, by) -> ActionItem:
    with transaction.atomic():
        item = ActionItem.objects.create(talk=talk, owner=owner, text=text, due_date=due_date, created_by=by)
        announcements.action_item_given(item)
    return item


def can_tick(item: ActionItem, user) -> bool:
    """The owner ticks their item off; so does the host of a later talk of the same project, where
    the earlier items are gone through and marked addressed. Nobody else: an item is the owner's
    word that it is done."""
    if not user.is_authenticated:
        return False
    if item.owner_id == user.pk:
        return True
    project_id = item.talk.project_id
    if not project_id:
        return False
    return Talk.objects.filter(project_id=project_id, host=user, starts_at__gt=item.talk.starts_at).exists()


def earlier_open_items(talk: Talk) -> list[ActionItem]:
    """The open items from the project's earlier talks, which this talk builds on."""
    if not talk.project_id:
        return []
    earlier = ActionItem.objects.open().filter(
        talk__project_id=talk.project_id, talk__starts_at__lt=talk.starts_at
    )
    return list(earlier.select_related("owner", "talk"))


def set_action_item_done(item: ActionItem, *, done: bool) -> bool:
    """Tick an item off or open it again; False when it already was (a double click)."""
    changed = ActionItem.objects.filter(pk=item.pk, done_at__isnull=done).update(
        done_at=timezone.now() if done else None
    )
    item.refresh_from_db(fields=["done_at"])
    return bool(changed)
