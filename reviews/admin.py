from django.contrib import admin

from .models import Deadline, Draft, DraftAuthor, DraftVersion, ReviewAssignment, Venue


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["short_name", "name", "url"]
    search_fields = ["short_name", "name"]


@admin.register(Deadline)
class DeadlineAdmin(admin.ModelAdmin):
    list_display = ["venue", "year", "abstract_deadline", "paper_deadline", "timezone"]
    list_filter = ["venue", "year"]


class DraftAuthorInline(admin.TabularInline):
    model = DraftAuthor
    raw_id_fields = ["person"]
    extra = 0


class ReviewAssignmentInline(admin.TabularInline):
    model = ReviewAssignment
    raw_id_fields = ["reviewer"]
    extra = 0


@admin.register(Draft)
class DraftAdmin(admin.ModelAdmin):
    list_display = ["title", "deadline", "status", "review_by", "anonymous"]
    list_filter = ["status", "deadline__venue"]
    search_fields = ["title"]
    raw_id_fields = ["created_by", "paper"]
    inlines = [DraftAuthorInline, ReviewAssignmentInline]


@admin.register(DraftVersion)
class DraftVersionAdmin(admin.ModelAdmin):
    # The file is not a link here: draft PDFs have no public URL (see reviews/uploads.py).
    list_display = ["draft", "number", "size", "sha256", "uploaded_by", "uploaded_at"]
    readonly_fields = ["draft", "number", "sha256", "size", "uploaded_by", "uploaded_at"]
    exclude = ["file"]
