from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(User)
class PersonAdmin(UserAdmin):
    list_display = ["username", "display_name", "email", "team", "role", "is_active"]
    list_filter = ["role", "team", "is_active"]
    search_fields = ["username", "display_name", "email", "first_name", "last_name"]
    fieldsets = [
        *UserAdmin.fieldsets,
        (
            _("Lab profile"),
            {
                "fields": [
                    "display_name",
                    "team",
                    "role",
                    "timezone",
                    "language",
                    "arxiv_names",
                    "research_interests",
                ]
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        # The admin role is what opens this site: keep Django's flags in step with it.
        if "role" in form.changed_data:
            obj.apply_role()
        super().save_model(request, obj, form, change)
