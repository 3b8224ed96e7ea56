from django.urls import path

from . import views

app_name = "seminars"

urlpatterns = [
    path("", views.index, name="index"),
]
