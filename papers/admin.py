from django.contrib import admin

from .models import (
    Bookmark,
    Category,
    Comment,
    FeedToken,
    FetchRun,
    Follower,
    Notification,
    Paper,
    Reaction,
    Recommendation,
    RecommenderState,
    Share,
    Tag,
    WatchRule,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active"]
    list_editable = ["active"]


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ["arxiv_id", "version", "title", "primary_category", "first_announced", "withdrawn"]
    list_filter = ["primary_category", "withdrawn", "first_announced"]
    search_fields = ["arxiv_id", "title"]
    date_hierarchy = "first_announced"
    show_full_result_count = False


@admin.register(FetchRun)
class FetchRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "kind", "status", "new_count", "updated_count", "unchanged_count", "pages"]
    list_filter = ["kind", "status"]
    readonly_fields = ["task_id"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "user"]
    search_fields = ["name"]


@admin.register(Bookmark)
class BookmarkAdmin(admin.ModelAdmin):
    list_display = ["paper", "user", "state", "created_at"]
    list_filter = ["state"]
    raw_id_fields = ["paper"]


@admin.register(WatchRule)
class WatchRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "person",
        "team",
        "query",
        "in_chat",
        "urgent",
        "in_digest",
        "include_updates",
        "active",
    ]
    list_filter = ["active", "in_chat", "urgent", "in_digest", "team"]
    search_fields = ["name", "query"]
    raw_id_fields = ["person", "created_by"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "person", "paper", "kind", "rule", "version", "pushed_at", "digest_sent_at"]
    list_filter = ["kind"]
    raw_id_fields = ["person", "paper", "rule", "share", "comment"]
    show_full_result_count = False


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ["created_at", "person", "paper", "to_lab"]
    list_filter = ["to_lab"]
    raw_id_fields = ["paper", "recipients"]
    filter_horizontal = ["teams"]


@admin.register(Follower)
class FollowerAdmin(admin.ModelAdmin):
    list_display = ["created_at", "person", "paper"]
    raw_id_fields = ["paper", "person"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["created_at", "author", "paper", "parent", "edited_at", "deleted_at"]
    raw_id_fields = ["paper", "parent"]


@admin.register(Reaction)
class ReactionAdmin(admin.ModelAdmin):
    list_display = ["emoji", "person", "comment", "created_at"]
    raw_id_fields = ["comment"]


@admin.register(FeedToken)
class FeedTokenAdmin(admin.ModelAdmin):
    list_display = ["person", "created_at", "revoked_at", "last_used_at"]
    # The key is a secret: an admin revokes a token, never reads or copies it.
    exclude = ["key"]


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["day", "person", "paper", "score"]
    list_filter = ["day"]
    raw_id_fields = ["paper"]
    show_full_result_count = False


@admin.register(RecommenderState)
class RecommenderStateAdmin(admin.ModelAdmin):
    list_display = ["person", "trained_at", "library_size"]
