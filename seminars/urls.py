from django.urls import path

from .views import calendars, followup, schedule, signup, speakers

app_name = "seminars"

urlpatterns = [
    # schedule: rooms, series, talks, requests
    path("", schedule.index, name="index"),
    path("week/", schedule.week, name="week"),
    path("week/<int:year>/<int:month>/<int:day>/", schedule.week, name="week-of"),
    path("month/", schedule.month, name="month"),
    path("month/<int:year>/<int:month>/", schedule.month, name="month-of"),
    path("talks/new/", schedule.new_talk, name="new-talk"),
    path("talks/<int:pk>/", schedule.talk, name="talk"),
    path("talks/<int:pk>/edit/", schedule.edit_talk, name="edit-talk"),
    path("talks/<int:pk>/cancel/", schedule.cancel, name="cancel-talk"),
    path("series/", schedule.series_list, name="series-list"),
    path("series/new/", schedule.new_series, name="new-series"),
    path("series/<slug:slug>/", schedule.series, name="series"),
    path("series/<slug:slug>/generate/", schedule.generate_series, name="generate-series"),
    path("rooms/", schedule.rooms, name="rooms"),
    path("propose/", schedule.propose, name="propose"),
    path("requests/", schedule.requests, name="requests"),
    path("requests/<int:pk>/accept/", schedule.accept, name="accept-request"),
    path("requests/<int:pk>/decline/", schedule.decline, name="decline-request"),
    # sign-up: seats, the waiting list, the host's attendee list
    path("talks/<int:pk>/sign-up/", signup.sign_up, name="sign-up"),
    path("talks/<int:pk>/sign-up/cancel/", signup.cancel_sign_up, name="cancel-sign-up"),
    path("talks/<int:pk>/attendees/", signup.attendees, name="attendees"),
    path("talks/<int:pk>/attendees.csv", signup.attendees_csv, name="attendees-csv"),
    # calendars: one talk's .ics and the subscribed feeds, keyed by a secret
    path("talks/<int:pk>/calendar.ics", calendars.talk_ics, name="talk-ics"),
    path("calendar/", calendars.calendar_feeds, name="calendar-feeds"),
    path("calendar/new-key/", calendars.new_calendar_key, name="new-calendar-key"),
    path("calendar/revoke-key/", calendars.revoke_calendar_key, name="revoke-calendar-key"),
    path("calendar/alarms/", calendars.calendar_alarms, name="calendar-alarms"),
    path("feeds/<str:key>/lab.ics", calendars.lab_feed, name="lab-feed"),
    path("feeds/<str:key>/mine.ics", calendars.my_feed, name="my-feed"),
    path("feeds/<str:key>/deadlines.ics", calendars.deadlines_feed, name="deadlines-feed"),
    path("feeds/<str:key>/series/<slug:slug>.ics", calendars.series_feed, name="series-feed"),
    # speakers and follow-up: the outside speaker's link, materials, feedback, action items
    path("talks/<int:pk>/invite-speaker/", speakers.invite_speaker, name="invite-speaker"),
    path("talks/<int:pk>/revoke-invitation/", speakers.revoke_invitation, name="revoke-invitation"),
    path("talks/<int:pk>/speaker/<str:token>/", speakers.speaker_form, name="speaker-form"),
    path("talks/<int:pk>/speaker-photo/", speakers.speaker_photo, name="speaker-photo"),
    path("talks/<int:pk>/materials/", followup.edit_materials, name="edit-materials"),
    path("talks/<int:pk>/slides/", followup.slides, name="slides"),
    path("talks/<int:pk>/feedback/", followup.feedback, name="feedback"),
    path("talks/<int:pk>/feedback/give/", followup.give_feedback, name="give-feedback"),
    path("talks/<int:pk>/action-items/", followup.add_action_item, name="add-action-item"),
    path("action-items/<int:pk>/done/", followup.action_item_done, name="action-item-done"),
]
