"""The sign-up panel's data: the talk page's view knows nothing about sign-ups, the panel asks."""

from django import template

from ..registration import Seat, seat_for

register = template.Library()


@register.simple_tag
def signup_seat(talk, user) -> Seat:
    """`{% signup_seat talk user as seat %}`: the person's place at the talk and its seat counts."""
    return seat_for(talk, user)
