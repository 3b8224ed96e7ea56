from django import template

register = template.Library()


@register.filter
def visible_to(draft, user) -> bool:
    """`{% if talk.draft|visible_to:user %}`: whether this person may open the draft (at least
    its current version, as a talk's audience or when it is open to the lab)."""
    return draft is not None and draft.is_readable_by(user)


@register.inclusion_tag("reviews/includes/countdown.html")
def countdown(value):
    """`{% countdown deadline.countdown %}`: "N days left", urgent in the last week."""
    return {"countdown": value}
