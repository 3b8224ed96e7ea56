from django.contrib import admin

from .models import (
    ActionItem,
    CalendarToken,
    Feedback,
    Registration,
    Reminder,
    Room,
    Series,
    SpeakerInvitation,
    Talk,
    TalkRequest,
)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "seats", "location"]
    search_fields = ["name", "location"]


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "weekday", "start_time", "timezone", "room", "host", "active"]
    list_filter = ["kind", "active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


class RegistrationInline(admin.TabularInline):
    model = Registration
    extra = 0
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "promoted_at", "cancelled_at"]


@admin.register(Talk)
class TalkAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "speaker_name", "starts_at", "room", "status", "sequence"]
    list_filter = ["kind", "status", "series", "room"]
    search_fields = ["title", "speaker_name", "speaker_affiliation"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["host", "speaker_user", "related_papers"]
    readonly_fields = ["uid", "sequence", "occurrence", "created_at", "updated_at"]
    inlines = [RegistrationInline]


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["talk", "user", "status", "created_at", "promoted_at"]
    list_filter = ["status"]
    raw_id_fields = ["talk", "user"]


@admin.register(TalkRequest)
class TalkRequestAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "requester", "status", "created_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["requester", "paper", "talk", "decided_by"]


@admin.register(SpeakerInvitation)
class SpeakerInvitationAdmin(admin.ModelAdmin):
    # The token itself is never stored; its hash is no use to anyone reading this page.
    list_display = ["email", "talk", "created_at", "expires_at", "revoked_at", "used_at"]
    raw_id_fields = ["talk", "created_by"]
    exclude = ["token_hash"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["talk", "kind", "recipient", "email", "due_at", "sent_at", "attempts"]
    list_filter = ["kind"]
    raw_id_fields = ["talk", "recipient"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["talk", "user", "rating", "created_at"]
    raw_id_fields = ["talk", "user"]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["text", "owner", "talk", "due_date", "done_at"]
    raw_id_fields = ["talk", "owner", "created_by"]


@admin.register(CalendarToken)
class CalendarTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "revoked_at", "last_used_at"]
    raw_id_fields = ["user"]
    exclude = ["key"]
