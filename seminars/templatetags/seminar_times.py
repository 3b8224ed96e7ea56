"""A talk's time in the zones that matter to the reader: the talk's, the reader's, the speaker's."""

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import Talk

register = template.Library()


def _wall(talk: Talk, zone) -> tuple:
    start = talk.starts_at.astimezone(zone)
    return start.replace(tzinfo=None), talk.ends_at.astimezone(zone).replace(tzinfo=None)


@register.inclusion_tag("seminars/includes/talk_times.html")
def talk_times(talk: Talk) -> dict:
    """`{% talk_times talk %}`: "talk time" and, when they read differently, "your time" and the
    speaker's time side by side (the reader's zone is the active one)."""
    rows = [(_("Talk time"), talk.timezone)]
    seen = {_wall(talk, talk.zone)}
    yours = timezone.get_current_timezone()
    if _wall(talk, yours) not in seen:
        rows.append((_("Your time"), yours.key))
        seen.add(_wall(talk, yours))
    if talk.speaker_timezone and _wall(talk, talk.speaker_local_start.tzinfo) not in seen:
        rows.append((_("Speaker's time"), talk.speaker_timezone))
    return {"talk": talk, "rows": rows}
