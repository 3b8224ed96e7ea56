from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.urls import include, path

from .forms import LabPasswordResetForm
from .views import accounts, channels, dashboard, health, people, projects, telegram


def oidc_only(view):
    """The single sign-on views exist only when OIDC_* is configured."""

    @login_not_required
    def wrapped(request, *args, **kwargs):
        if not settings.OIDC_ENABLED:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("", dashboard.home, name="home"),
    path("me/", people.profile, name="profile"),
    path("me/email/confirm/<str:token>/", people.confirm_email, name="confirm-email"),
    path("me/email/cancel", people.cancel_email_change, name="cancel-email-change"),
    path("me/channels/", channels.channels, name="channels"),
    path("me/channels/digest", channels.digest_setting, name="digest-setting"),
    path("me/channels/<int:pk>/", channels.edit_channel, name="edit-channel"),
    path("me/channels/<int:pk>/toggle", channels.toggle_channel, name="toggle-channel"),
    path("me/channels/<int:pk>/delete", channels.delete_channel, name="delete-channel"),
    path("me/channels/<int:pk>/test", channels.test_channel, name="test-channel"),
    path("me/channels/<int:pk>/status", channels.channel_status, name="channel-status"),
    path("me/telegram/", telegram.connect_telegram, name="connect-telegram"),
    path("telegram/webhook/", telegram.telegram_webhook, name="telegram-webhook"),
    path("people/", people.people, name="people"),
    path("people/<str:username>/", people.person, name="person"),
    path("teams/<slug:slug>/", people.team, name="team"),
    path("projects/", projects.projects, name="projects"),
    path("projects/new/", projects.new_project, name="new-project"),
    path("projects/<int:pk>/", projects.project, name="project"),
    path("projects/<int:pk>/edit/", projects.edit_project, name="edit-project"),
    path("healthz", health.healthz, name="healthz"),
    path("welcome/", accounts.welcome, name="welcome"),
    path("accounts/login/", accounts.log_in, name="login"),
    path("accounts/logout/", accounts.log_out, name="logout"),
    path("accounts/password_change/", accounts.password_change, name="password_change"),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=LabPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oidc/authenticate/", oidc_only(accounts.sso_start), name="oidc_authentication_init"),
    path("oidc/callback/", oidc_only(accounts.sso_callback), name="oidc_authentication_callback"),
    path("papers/", include("papers.urls")),
    path("seminars/", include("seminars.urls")),
    path("reviews/", include("reviews.urls")),
    path("admin/", admin.site.urls),
]
