from django import template

register = template.Library()


@register.filter
def visible_to(draft, user) -> bool:
    """`{% if talk.draft|visible_to:user %}`: whether this person may open the draft."""
    return draft is not None and draft.is_visible_to(user)
