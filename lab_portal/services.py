from django.db import transaction

from .models import User


def set_role(user: User, *, role: str) -> User:
    """Give a person a role; the admin role is what opens Django's admin site."""
    with transaction.atomic():
        user.role = role
        user.is_staff = user.is_superuser = role == User.Role.ADMIN
        user.save(update_fields=["role", "is_staff", "is_superuser"])
    return user
