from django.urls import path

from . import views, views_discussion, views_queues, views_reviews, views_rounds

app_name = "reviews"

urlpatterns = [
    path("", views.index, name="index"),
    path("drafts/new/", views.new_draft, name="new-draft"),
    path("drafts/<int:pk>/", views.draft, name="draft"),
    path("drafts/<int:pk>/versions/new/", views.upload_version, name="upload-version"),
    path("drafts/<int:pk>/versions/<int:number>.pdf", views.download, name="download"),
    path("drafts/<int:pk>/status/", views.set_status, name="set-status"),
    path("drafts/<int:pk>/open/", views.open_to_lab, name="open-to-lab"),
    path("venues/", views.venues, name="venues"),
    path("venues/new/", views.add_venue, name="add-venue"),
    path("deadlines/new/", views.add_deadline, name="add-deadline"),
    path("deadlines.ics", views.deadlines_ics, name="deadlines-ics"),
    path("rounds/", views_rounds.rounds, name="rounds"),
    path("rounds/new/", views_rounds.open_round, name="open-round"),
    path("rounds/<int:pk>/", views_rounds.round_preview, name="round"),
    path("rounds/<int:pk>/pairs/add/", views_rounds.add_pair, name="round-add-pair"),
    path("rounds/<int:pk>/pairs/remove/", views_rounds.remove_pair, name="round-remove-pair"),
    path("rounds/<int:pk>/solve/", views_rounds.resolve, name="round-solve"),
    path("rounds/<int:pk>/publish/", views_rounds.publish, name="round-publish"),
    path("rounds/<int:pk>/discard/", views_rounds.discard, name="round-discard"),
    path("rounds/<int:pk>/due/", views_rounds.move_due, name="round-due"),
    path("rounds/<int:pk>/bids/", views_rounds.bids, name="round-bids"),
    path("drafts/<int:pk>/conflict/", views_rounds.declare_conflict, name="declare-conflict"),
    path("drafts/<int:pk>/review/", views_reviews.review, name="review"),
    path("drafts/<int:pk>/review/autosave/", views_reviews.autosave, name="review-autosave"),
    path("drafts/<int:pk>/review/submit/", views_reviews.submit, name="review-submit"),
    path("drafts/<int:pk>/review/version/", views_reviews.move_version, name="review-version"),
    path("drafts/<int:pk>/comments/new/", views_discussion.comment_new, name="draft-comment-new"),
    path(
        "drafts/<int:pk>/comments/<int:comment_pk>/edit/",
        views_discussion.comment_edit,
        name="draft-comment-edit",
    ),
    path(
        "drafts/<int:pk>/comments/<int:comment_pk>/delete/",
        views_discussion.comment_delete,
        name="draft-comment-delete",
    ),
    path("owed/", views_queues.owed, name="owed"),
    path("rounds/<int:pk>/board/", views_queues.round_board, name="round-board"),
    path("publications/", views_queues.publications, name="publications"),
    path("publications/<int:pk>/link/", views_queues.link_publication, name="publication-link"),
]
