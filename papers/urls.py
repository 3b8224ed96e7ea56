from django.urls import path

from . import discussion_views, views, watch_views

app_name = "papers"

urlpatterns = [
    path("", views.feed, name="index"),
    path("day/<int:year>-<int:month>-<int:day>/", views.day_feed, name="day"),
    path("category/<str:code>/", views.category_feed, name="category"),
    path("all/", views.archive, name="archive"),
    path("author/", views.author, name="author"),
    path("search/", views.search, name="search"),
    path("search/arxiv/", views.search_arxiv_view, name="search-arxiv"),
    path("abstracts/", views.abstracts, name="abstracts"),
    path("add/", views.add, name="add"),
    path("fetch/", views.fetch_status, name="fetch-status"),
    path("fetch/now/", views.fetch_now, name="fetch-now"),
    path("library/", views.library, name="library"),
    path("library/tags/<int:tag_id>/", views.library, name="tag"),
    path("library/bibtex/", views.library_bibtex, name="library-bibtex"),
    path("library/<int:pk>/", views.edit_bookmark, name="edit-bookmark"),
    # watch rules: what a person is pushed, and where
    path("watch/", watch_views.watch_rules, name="watch-rules"),
    path("watch/new/", watch_views.watch_rule_new, name="watch-rule-new"),
    path("watch/preview/", watch_views.watch_rule_preview, name="watch-rule-preview"),
    path("watch/<int:pk>/", watch_views.watch_rule_edit, name="watch-rule-edit"),
    path("watch/<int:pk>/delete/", watch_views.watch_rule_delete, name="watch-rule-delete"),
    # sharing, threads and feeds: the lab's conversation about papers
    path("lab/", discussion_views.lab, name="lab"),
    path("share/<path:arxiv_id>", discussion_views.share, name="share"),
    path("follow/<path:arxiv_id>", discussion_views.follow, name="follow"),
    path("comment/<path:arxiv_id>", discussion_views.comment_new, name="comment-new"),
    path("comments/<int:pk>/edit", discussion_views.comment_edit, name="comment-edit"),
    path("comments/<int:pk>/delete", discussion_views.comment_delete, name="comment-delete"),
    path("comments/<int:pk>/react", discussion_views.comment_react, name="comment-react"),
    path("feeds/", discussion_views.feeds, name="feeds"),
    path("feeds/keys/new", discussion_views.feed_key_new, name="feed-key-new"),
    path("feeds/keys/<int:pk>/revoke", discussion_views.feed_key_revoke, name="feed-key-revoke"),
    path("feeds/<str:key>/lab.atom", discussion_views.lab_atom, name="lab-atom"),
    path("feeds/<str:key>/tag/<int:tag_id>.atom", discussion_views.tag_atom, name="tag-atom"),
    # Feed readers subscribed before tags were addressed by id are sent on.
    path("feeds/<str:key>/tags/<str:name>.atom", discussion_views.tag_atom_by_name),
    # Old-style ids carry a slash (hep-th/9901001), so the id is a path and the action comes first.
    path("bookmark/<path:arxiv_id>", views.toggle_bookmark, name="bookmark"),
    path("not-for-me/<path:arxiv_id>", views.not_for_me, name="not-for-me"),
    path("bibtex/<path:arxiv_id>", views.paper_bibtex, name="bibtex"),
    path("<path:arxiv_id>", views.paper, name="paper"),
]
