"""What the talk page's speaker and follow-up panels need beyond the talk itself."""

from django import template

from .. import followup as followup_facts
from .. import invitations
from ..models import ActionItem, Talk

register = template.Library()


@register.simple_tag
def speaker_invitation(talk: Talk) -> invitations.LinkState | None:
    """`{% speaker_invitation talk as link %}`: the talk's latest link, whether it works, and the
    link itself to copy (the panel is rendered only for the talk's host and the leads)."""
    invitation = invitations.latest_invitation(talk)
    if invitation is None:
        return None
    invitation.talk = talk
    state = invitations.link_state(invitation)
    state.url = invitations.shareable_link(state)
    return state


@register.simple_tag
def followup(talk: Talk, user) -> followup_facts.FollowUp:
    """`{% followup talk user as followup %}`: materials, feedback and action items for this reader."""
    return followup_facts.followup_for(talk, user)


@register.filter
def overdue(item: ActionItem) -> bool:
    return followup_facts.is_overdue(item)


@register.filter
def can_tick(item: ActionItem, user) -> bool:
    return followup_facts.can_tick(item, user)
