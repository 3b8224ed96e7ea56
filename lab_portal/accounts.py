"""Accounts that single sign-on creates and an admin approves, and the teams people ask to join:
who is told what."""

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .models import Channel, User
from .notify import Message, notify


def tell_admins_of_signup(person: User) -> None:
    """Each admin hears once that `person` waits for approval, in the admin's own language."""
    admins = User.objects.active().filter(Q(role=User.Role.ADMIN) | Q(is_superuser=True))
    url = settings.SITE_URL + reverse("admin:lab_portal_user_change", args=[person.pk])
    for admin in admins:
        with translation.override(admin.language):
            text = _("%(name)s (%(email)s) logged in for the first time and waits for your approval.") % {
                "name": person.name,
                "email": person.email,
            }
            notify(
                admin,
                Message(
                    subject=_("A new account waits for approval"),
                    dedupe_key=f"signup:{person.pk}",
                    text=text,
                    url=url,
                ),
            )


def approve(people) -> int:
    """Lets the people waiting among `people` log in, and tells each of them."""
    waiting = list(people.filter(awaiting_approval=True))
    with transaction.atomic():
        User.objects.filter(pk__in=[person.pk for person in waiting]).update(
            awaiting_approval=False, is_active=True
        )
        for person in waiting:
            with translation.override(person.language):
                notify(
                    person,
                    Message(
                        subject=_("Your Lab Portal account is approved"),
                        dedupe_key=f"approved:{person.pk}",
                        text=_("An administrator approved your account: you can log in now."),
                        url=settings.SITE_URL + reverse("login"),
                    ),
                    kinds=[Channel.Kind.EMAIL],
                )
    return len(waiting)


def tell_of_team_request(person: User) -> None:
    """The admins, who put people in teams, and the team's leads, who know whether the person
    belongs there, hear once that `person` asked to join their requested team."""
    team = person.requested_team
    if team is None:
        return
    told = User.objects.active().filter(
        Q(role=User.Role.ADMIN) | Q(is_superuser=True) | Q(led_teams=team, role=User.Role.LEAD)
    )
    url = settings.SITE_URL + reverse("admin:lab_portal_user_change", args=[person.pk])
    for reader in told.exclude(pk=person.pk).distinct():
        with translation.override(reader.language):
            notify(
                reader,
                Message(
                    subject=_("%(name)s asks to join %(team)s") % {"name": person.name, "team": team.name},
                    dedupe_key=f"team-request:{person.pk}:{team.pk}",
                    text=_("%(name)s (%(email)s) asked to join %(team)s. An administrator puts them in it.")
                    % {"name": person.name, "email": person.email, "team": team.name},
                    url=url,
                ),
            )


def put_in_requested_teams(people) -> int:
    """Moves each of `people` who asked for a team into it, and tells them; returns how many."""
    moved = list(people.filter(requested_team__isnull=False).select_related("requested_team"))
    with transaction.atomic():
        for person in moved:
            team = person.requested_team
            person.team, person.requested_team = team, None
            person.save(update_fields=["team", "requested_team"])
            with translation.override(person.language):
                notify(
                    person,
                    Message(
                        subject=_("You are in %(team)s") % {"team": team.name},
                        dedupe_key=f"team-joined:{person.pk}:{team.pk}",
                        text=_("An administrator put you in %(team)s, as you asked.") % {"team": team.name},
                        url=settings.SITE_URL + reverse("home"),
                    ),
                )
    return len(moved)
