from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("", views.index, name="index"),
    path("drafts/new/", views.new_draft, name="new-draft"),
    path("drafts/<int:pk>/", views.draft, name="draft"),
    path("drafts/<int:pk>/versions/new/", views.upload_version, name="upload-version"),
    path("drafts/<int:pk>/versions/<int:number>.pdf", views.download, name="download"),
    path("drafts/<int:pk>/status/", views.set_status, name="set-status"),
    path("venues/", views.venues, name="venues"),
    path("venues/new/", views.add_venue, name="add-venue"),
    path("deadlines/new/", views.add_deadline, name="add-deadline"),
    path("deadlines.ics", views.deadlines_ics, name="deadlines-ics"),
]
