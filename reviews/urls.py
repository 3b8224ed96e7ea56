from django.urls import path

from .views import discussion, drafts, queues, reviews, rounds, venues

app_name = "reviews"

urlpatterns = [
    path("", drafts.index, name="index"),
    path("drafts/new/", drafts.new_draft, name="new-draft"),
    path("drafts/<int:pk>/", drafts.draft, name="draft"),
    path("drafts/<int:pk>/versions/new/", drafts.upload_version, name="upload-version"),
    path("drafts/<int:pk>/versions/<int:number>.pdf", drafts.download, name="download"),
    path("drafts/<int:pk>/status/", drafts.set_status, name="set-status"),
    path("drafts/<int:pk>/open/", drafts.open_to_lab, name="open-to-lab"),
    path("venues/", venues.venues, name="venues"),
    path("venues/new/", venues.add_venue, name="add-venue"),
    path("deadlines/new/", venues.add_deadline, name="add-deadline"),
    path("deadlines.ics", venues.deadlines_ics, name="deadlines-ics"),
    path("rounds/", rounds.rounds, name="rounds"),
    path("rounds/new/", rounds.open_round, name="open-round"),
    path("rounds/<int:pk>/", rounds.round_preview, name="round"),
    path("rounds/<int:pk>/pairs/add/", rounds.add_pair, name="round-add-pair"),
    path("rounds/<int:pk>/pairs/remove/", rounds.remove_pair, name="round-remove-pair"),
    path("rounds/<int:pk>/solve/", rounds.resolve, name="round-solve"),
    path("rounds/<int:pk>/publish/", rounds.publish, name="round-publish"),
    path("rounds/<int:pk>/discard/", rounds.discard, name="round-discard"),
    path("rounds/<int:pk>/due/", rounds.move_due, name="round-due"),
    path("rounds/<int:pk>/bids/", rounds.bids, name="round-bids"),
    path("drafts/<int:pk>/conflict/", rounds.declare_conflict, name="declare-conflict"),
    path("drafts/<int:pk>/review/", reviews.review, name="review"),
    path("drafts/<int:pk>/review/autosave/", reviews.autosave, name="review-autosave"),
    path("drafts/<int:pk>/review/submit/", reviews.submit, name="review-submit"),
    path("drafts/<int:pk>/review/version/", reviews.move_version, name="review-version"),
    path("drafts/<int:pk>/comments/new/", discussion.comment_new, name="draft-comment-new"),
    path(
        "drafts/<int:pk>/comments/<int:comment_pk>/edit/",
        discussion.comment_edit,
        name="draft-comment-edit",
    ),
    path(
        "drafts/<int:pk>/comments/<int:comment_pk>/delete/",
        discussion.comment_delete,
        name="draft-comment-delete",
    ),
    path("owed/", queues.owed, name="owed"),
    path("rounds/<int:pk>/board/", queues.round_board, name="round-board"),
    path("publications/", queues.publications, name="publications"),
    path("publications/<int:pk>/link/", queues.link_publication, name="publication-link"),
]
