"""What the lab and the people around a talk are told, beyond reminders: decisions on requests,
talks announced to the lab (once when confirmed, and in the Monday post of the week's talks),
action items given and coming due, and slides or a recording put up.

Every message goes through lab_portal.notify, keyed by the event, so a second call (a retried
task, a double click, two workers) queues nothing. Each text is written in its reader's language
and zone: a person's in theirs, the lab's channels in the lab's.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from lab_portal.channels import Item, clip
from lab_portal.notify import Message, notify, notify_lab

from .models import ActionItem, Registration, Talk, TalkRequest, lab_zone, week_start


def _when(talk: Talk, zone: ZoneInfo) -> str:
    return formats.date_format(talk.starts_at.astimezone(zone), "DATETIME_FORMAT")


def _tell(person, build) -> None:
    """Build the message in the person's language and zone, then queue it."""
    with translation.override(person.language), timezone.override(ZoneInfo(person.timezone)):
        notify(person, build(ZoneInfo(person.timezone)))


def request_decided(talk_request: TalkRequest) -> None:
    def build(zone: ZoneInfo) -> Message:
        values = {"title": talk_request.title}
        if talk_request.status == TalkRequest.Status.ACCEPTED and talk_request.talk:
            talk = talk_request.talk
            return Message(
                subject=clip(_("Accepted: %(title)s") % values, 250),
                dedupe_key=f"talk-request:{talk_request.pk}:decided",
                text=_("Your request “%(title)s” is accepted: the talk is on %(when)s.")
                % {**values, "when": _when(talk, zone)},
                url=talk.get_absolute_url(),
            )
        text = _("Your request “%(title)s” was declined.") % values
        if talk_request.decision_note:
            text += "\n\n" + _("The lead's note: %(note)s") % {"note": talk_request.decision_note}
        return Message(
            subject=clip(_("Declined: %(title)s") % values, 250),
            dedupe_key=f"talk-request:{talk_request.pk}:decided",
            text=text,
            url=reverse("seminars:requests"),
        )

    _tell(talk_request.requester, build)


def _talk_item(talk: Talk, zone: ZoneInfo) -> Item:
    summary = f"{_when(talk, zone)} · {talk.speaker or _('Speaker to be announced')}"
    if talk.room_id:
        summary += f" · {talk.room.name}"
    return Item(title=talk.title, portal_url=talk.get_absolute_url(), summary=summary)


def announce_talk(talk: Talk) -> bool:
    """Announce a confirmed talk to the lab's channels, once: a scheduled talk that has a title and
    has not started. False when it is not (yet) one to announce."""
    if talk.status != Talk.Status.SCHEDULED or talk.is_tba or talk.has_started:
        return False
    zone = lab_zone()
    with translation.override(settings.LANGUAGE_CODE), timezone.override(zone):
        notify_lab(
            Message(
                subject=clip(_("New talk: %(title)s") % {"title": talk.title}, 250),
                dedupe_key=f"talk:{talk.uid}:announced",
                text=_("%(kind)s on %(when)s.")
                % {"kind": talk.get_kind_display(), "when": _when(talk, zone)},
                items=[_talk_item(talk, zone)],
                url=talk.get_absolute_url(),
            )
        )
    return True


def post_week(*, now: datetime | None = None) -> bool:
    """The Monday post of the week's talks on the lab's channels, from WEEKLY_TALKS_HOUR on Monday
    in the lab's zone. Keyed by the week, so the task may run as often as it likes."""
    zone = lab_zone()
    local = (now or timezone.now()).astimezone(zone)
    if local.weekday() != 0 or local.hour < settings.WEEKLY_TALKS_HOUR:
        return False
    monday = week_start(local.date())
    talks = list(Talk.objects.scheduled().in_week(monday, zone).select_related("room", "speaker_user"))
    if not talks:
        return False
    with translation.override(settings.LANGUAGE_CODE), timezone.override(zone):
        notify_lab(
            Message(
                subject=_("Talks this week"),
                dedupe_key=f"talks-week:{monday.isoformat()}",
                text=_("This week's talks, from %(day)s:")
                % {"day": formats.date_format(monday, "DATE_FORMAT")},
                items=[_talk_item(talk, zone) for talk in talks],
                url=reverse("seminars:week-of", args=[monday.year, monday.month, monday.day]),
            )
        )
    return True


def action_item_given(item: ActionItem) -> None:
    def build(zone: ZoneInfo) -> Message:
        text = _("From the seminar “%(talk)s”: %(action)s") % {"talk": item.talk.title, "action": item.text}
        if item.due_date:
            text += "\n" + _("Due on %(day)s.") % {"day": formats.date_format(item.due_date, "DATE_FORMAT")}
        return Message(
            subject=clip(_("An action item for you: %(action)s") % {"action": item.text}, 250),
            dedupe_key=f"action-item:{item.pk}:given",
            text=text,
            url=item.talk.get_absolute_url(),
        )

    _tell(item.owner, build)


def remind_action_items(*, now: datetime | None = None) -> int:
    """Remind each open item's owner the day before it is due (a day in the lab's calendar);
    keyed by the item and its due date, so running twice, or after a new due date, is right."""
    today = (now or timezone.now()).astimezone(lab_zone()).date()
    due = ActionItem.objects.open().filter(due_date=today + timedelta(days=1), owner__is_active=True)
    count = 0
    for item in due.select_related("owner", "talk"):

        def build(zone: ZoneInfo, item=item) -> Message:
            return Message(
                subject=clip(_("Due tomorrow: %(action)s") % {"action": item.text}, 250),
                dedupe_key=f"action-item:{item.pk}:due:{item.due_date.isoformat()}",
                text=_("Your action item from “%(talk)s” is due tomorrow: %(action)s")
                % {"talk": item.talk.title, "action": item.text},
                url=item.talk.get_absolute_url(),
            )

        _tell(item.owner, build)
        count += 1
    return count


def materials_posted(talk: Talk, *, slides: bool, recording: bool) -> int:
    """Tell everyone who held a seat (and the host) that slides or a recording are up; each once."""
    kinds = [name for name, new in (("slides", slides), ("recording", recording)) if new]
    if not kinds or talk.is_cancelled:
        return 0
    seated = Registration.objects.filter(
        talk=talk, status=Registration.Status.CONFIRMED, user__is_active=True
    )
    people = [registration.user for registration in seated.select_related("user")]
    told = 0
    for person in people:
        for kind in kinds:

            def build(zone: ZoneInfo, kind=kind) -> Message:
                subject = (
                    _("Slides are up: %(title)s") if kind == "slides" else _("Recording is up: %(title)s")
                )
                return Message(
                    subject=clip(subject % {"title": talk.title}, 250),
                    dedupe_key=f"talk:{talk.uid}:{kind}-posted",
                    text=_("For the talk you signed up for, on %(when)s.") % {"when": _when(talk, zone)},
                    url=talk.get_absolute_url(),
                )

            _tell(person, build)
            told += 1
    return told
