from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.urls import include, path

from . import views, views_projects
from .forms import LabPasswordResetForm


def oidc_only(view):
    """The single sign-on views exist only when OIDC_* is configured."""

    @login_not_required
    def wrapped(request, *args, **kwargs):
        if not settings.OIDC_ENABLED:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("", views.home, name="home"),
    path("me/", views.profile, name="profile"),
    path("me/email/confirm/<str:token>/", views.confirm_email, name="confirm-email"),
    path("me/email/cancel", views.cancel_email_change, name="cancel-email-change"),
    path("me/channels/", views.channels, name="channels"),
    path("me/channels/digest", views.digest_setting, name="digest-setting"),
    path("me/channels/<int:pk>/", views.edit_channel, name="edit-channel"),
    path("me/channels/<int:pk>/toggle", views.toggle_channel, name="toggle-channel"),
    path("me/channels/<int:pk>/delete", views.delete_channel, name="delete-channel"),
    path("me/channels/<int:pk>/test", views.test_channel, name="test-channel"),
    path("me/channels/<int:pk>/status", views.channel_status, name="channel-status"),
    path("me/telegram/", views.connect_telegram, name="connect-telegram"),
    path("telegram/webhook/", views.telegram_webhook, name="telegram-webhook"),
    path("people/", views.people, name="people"),
    path("people/<str:username>/", views.person, name="person"),
    path("teams/<slug:slug>/", views.team, name="team"),
    path("projects/", views_projects.projects, name="projects"),
    path("projects/new/", views_projects.new_project, name="new-project"),
    path("projects/<int:pk>/", views_projects.project, name="project"),
    path("projects/<int:pk>/edit/", views_projects.edit_project, name="edit-project"),
    path("healthz", views.healthz, name="healthz"),
    path("welcome/", views.welcome, name="welcome"),
    path("accounts/login/", views.log_in, name="login"),
    path("accounts/logout/", views.log_out, name="logout"),
    path("accounts/password_change/", views.password_change, name="password_change"),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=LabPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oidc/authenticate/", oidc_only(views.sso_start), name="oidc_authentication_init"),
    path("oidc/callback/", oidc_only(views.sso_callback), name="oidc_authentication_callback"),
    path("papers/", include("papers.urls")),
    path("seminars/", include("seminars.urls")),
    path("reviews/", include("reviews.urls")),
    path("admin/", admin.site.urls),
]
