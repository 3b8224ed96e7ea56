from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Channel, ChatLinkCode, Delivery, Team, TelegramUpdate, User
from .notify import requeue


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


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    """The lab's group channels (neither person nor team) are added here."""

    list_display = ["kind", "target", "title", "person", "team", "enabled", "linked_at", "last_sent_at"]
    list_filter = ["kind", "enabled", "team"]
    search_fields = ["target", "title", "person__username", "person__display_name", "team__name"]
    list_select_related = ["person", "team"]
    raw_id_fields = ["person"]
    readonly_fields = ["title", "linked_at", "last_error", "last_error_at", "last_sent_at", "created_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["dedupe_key", "channel", "state", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["state", "channel__kind"]
    search_fields = ["dedupe_key"]
    list_select_related = ["channel__person", "channel__team"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send the selected failed deliveries again"))
    def send_again(self, request, queryset):
        # The one way a delivery of unknown outcome goes out again: a person decides it should.
        count = requeue(queryset.filter(state=Delivery.State.FAILED))
        self.message_user(
            request,
            ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", count)
            % {"count": count},
        )


@admin.register(ChatLinkCode)
class ChatLinkCodeAdmin(admin.ModelAdmin):
    """Who asked to link which chat, and whether they did; the codes themselves are never stored."""

    list_display = ["created_at", "person", "scope", "team", "expires_at", "used_at"]
    list_filter = ["scope"]
    list_select_related = ["person", "team"]
    readonly_fields = [field.name for field in ChatLinkCode._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(TelegramUpdate)
class TelegramUpdateAdmin(admin.ModelAdmin):
    list_display = ["update_id", "kind", "received_at", "handled_at", "error"]
    list_filter = ["kind"]
    readonly_fields = [field.name for field in TelegramUpdate._meta.fields]

    def has_add_permission(self, request):
        return False
