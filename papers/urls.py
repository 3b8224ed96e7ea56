from django.urls import path

from .views import atom, feed, fetching, library, sharing, threads, watch

app_name = "papers"

urlpatterns = [
    path("", feed.feed, name="index"),
    path("day/<int:year>-<int:month>-<int:day>/", feed.day_feed, name="day"),
    path("category/<str:code>/", feed.category_feed, name="category"),
    path("all/", feed.archive, name="archive"),
    path("author/", feed.author, name="author"),
    path("search/", feed.search, name="search"),
    path("search/arxiv/", fetching.search_arxiv_view, name="search-arxiv"),
    path("abstracts/", feed.abstracts, name="abstracts"),
    path("add/", fetching.add, name="add"),
    path("fetch/", fetching.fetch_status, name="fetch-status"),
    path("fetch/now/", fetching.fetch_now, name="fetch-now"),
    path("library/", library.library, name="library"),
    path("library/tags/<int:tag_id>/", library.library, name="tag"),
    path("library/bibtex/", library.library_bibtex, name="library-bibtex"),
    path("library/<int:pk>/", library.edit_bookmark, name="edit-bookmark"),
    # watch rules: what a person is pushed, and where
    path("watch/", watch.watch_rules, name="watch-rules"),
    path("watch/new/", watch.watch_rule_new, name="watch-rule-new"),
    path("watch/preview/", watch.watch_rule_preview, name="watch-rule-preview"),
    path("watch/<int:pk>/", watch.watch_rule_edit, name="watch-rule-edit"),
    path("watch/<int:pk>/delete/", watch.watch_rule_delete, name="watch-rule-delete"),
    # sharing, threads and feeds: the lab's conversation about papers
    path("lab/", sharing.lab, name="lab"),
    path("share/<path:arxiv_id>", sharing.share, name="share"),
    path("follow/<path:arxiv_id>", threads.follow, name="follow"),
    path("comment/<path:arxiv_id>", threads.comment_new, name="comment-new"),
    path("comments/<int:pk>/edit", threads.comment_edit, name="comment-edit"),
    path("comments/<int:pk>/delete", threads.comment_delete, name="comment-delete"),
    path("comments/<int:pk>/react", threads.comment_react, name="comment-react"),
    path("feeds/", atom.feeds, name="feeds"),
    path("feeds/keys/new", atom.feed_key_new, name="feed-key-new"),
    path("feeds/keys/<int:pk>/revoke", atom.feed_key_revoke, name="feed-key-revoke"),
    path("feeds/<str:key>/lab.atom", atom.lab_atom, name="lab-atom"),
    path("feeds/<str:key>/tag/<int:tag_id>.atom", atom.tag_atom, name="tag-atom"),
    # Feed readers subscribed before tags were addressed by id are sent on.
    path("feeds/<str:key>/tags/<str:name>.atom", atom.tag_atom_by_name),
    # Old-style ids carry a slash (hep-th/9901001), so the id is a path and the action comes first.
    path("bookmark/<path:arxiv_id>", feed.toggle_bookmark, name="bookmark"),
    path("not-for-me/<path:arxiv_id>", feed.not_for_me, name="not-for-me"),
    path("bibtex/<path:arxiv_id>", feed.paper_bibtex, name="bibtex"),
    path("<path:arxiv_id>", feed.paper, name="paper"),
]
