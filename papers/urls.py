from django.urls import path

from . import views

app_name = "papers"

urlpatterns = [
    path("", views.feed, name="index"),
    path("day/<int:year>-<int:month>-<int:day>/", views.day_feed, name="day"),
    path("category/<str:code>/", views.category_feed, name="category"),
    path("all/", views.archive, name="archive"),
    path("author/", views.author, name="author"),
    path("search/", views.search, name="search"),
    path("search/arxiv/", views.search_arxiv_view, name="search-arxiv"),
    path("add/", views.add, name="add"),
    path("fetch/", views.fetch_status, name="fetch-status"),
    path("fetch/now/", views.fetch_now, name="fetch-now"),
    path("library/", views.library, name="library"),
    path("library/tags/<str:tag>/", views.library, name="tag"),
    path("library/bibtex/", views.library_bibtex, name="library-bibtex"),
    path("library/<int:pk>/", views.edit_bookmark, name="edit-bookmark"),
    # Old-style ids carry a slash (hep-th/9901001), so the id is a path and the action comes first.
    path("bookmark/<path:arxiv_id>", views.toggle_bookmark, name="bookmark"),
    path("bibtex/<path:arxiv_id>", views.paper_bibtex, name="bibtex"),
    path("<path:arxiv_id>", views.paper, name="paper"),
]
