from django.contrib import admin

from .models import Bookmark, Category, FetchRun, Paper, Tag


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
