from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import accounts
from .channels import slack_webhook_url
from .models import Channel, ChatLinkCode, Delivery, SignOnPolicy, SsoIdentity, Team, TelegramUpdate, User
from .notify import requeue


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Who leads a team is set here (people with a lead's role; they need not be members), and who
    is in it on each person's page: a team's channels and watch rules follow these records."""

    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    filter_horizontal = ["leads"]


class SsoIdentityInline(admin.TabularInline):
    """Who the person is at the identity provider. Deleting the row lets their next sign-on link
    again by e-mail (when the provider gave them a new account, say)."""

    model = SsoIdentity
    extra = 0
    fields = readonly_fields = ["issuer", "subject", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class PersonAdmin(UserAdmin):
    list_display = ["username", "display_name", "email", "team", "requested_team", "role", "is_active"]
    inlines = [SsoIdentityInline]
    readonly_fields = ["pending_email"]
    list_filter = ["role", "team", "is_active", "awaiting_approval", "requested_team"]
    actions = ["approve", "put_in_requested_team"]
    search_fields = ["username", "display_name", "email", "first_name", "last_name"]
    fieldsets = [
        *UserAdmin.fieldsets,
        (
            _("Lab profile"),
            {
                "fields": [
                    "display_name",
                    "pending_email",
                    "team",
                    "requested_team",
                    "awaiting_approval",
                    "role",
                    "timezone",
                    "language",
                    "arxiv_names",
                    "research_interests",
                ]
            },
        ),
    ]

    @admin.action(description=_("Approve the selected accounts (they can log in)"))
    def approve(self, request, queryset):
        count = accounts.approve(queryset)
        self.message_user(request, ngettext("%d account approved.", "%d accounts approved.", count) % count)

    @admin.action(description=_("Put the selected people in the team they asked for"))
    def put_in_requested_team(self, request, queryset):
        count = accounts.put_in_requested_teams(queryset)
        self.message_user(request, ngettext("%d person moved.", "%d people moved.", count) % count)

    def save_model(self, request, obj, form, change):
        # The admin role is what opens this site: keep Django's flags in step with it.
        if "role" in form.changed_data:
            obj.apply_role()
        super().save_model(request, obj, form, change)


class ChannelAdminForm(forms.ModelForm):
    def clean(self):
        # The rule people's channel form applies: a Slack URL reaches Slack and nothing else.
        data = super().clean()
        if data.get("kind") == Channel.Kind.SLACK and "target" in data:
            url = slack_webhook_url(data["target"].strip())
            if url is None:
                self.add_error(
                    "target",
                    _("A Slack webhook URL is https://hooks.slack.com/services/…, with no port or user."),
                )
            else:
                data["target"] = url
        return data


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    """The lab's group channels (neither person nor team) are added here."""

    form = ChannelAdminForm

    list_display = ["kind", "target", "title", "person", "team", "enabled", "linked_at", "last_sent_at"]
    list_filter = ["kind", "enabled", "team"]
    search_fields = ["target", "title", "person__username", "person__display_name", "team__name"]
    list_select_related = ["person", "team"]
    raw_id_fields = ["person"]
    readonly_fields = ["title", "linked_at", "last_error", "last_error_at", "last_sent_at", "created_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["dedupe_key", "channel", "state", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["state", "channel__kind"]
    search_fields = ["dedupe_key"]
    list_select_related = ["channel__person", "channel__team"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send the selected failed deliveries, or those of unknown outcome, again"))
    def send_again(self, request, queryset):
        # The one way a delivery of unknown outcome goes out again: a person decides it should.
        count = requeue(queryset)
        self.message_user(
            request,
            ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", count)
            % {"count": count},
        )
        spent = queryset.filter(state__in=Delivery.CLOSED, payload__has_key="redacted").exclude(
            state=Delivery.State.SENT
        )
        if skipped := spent.count():
            self.message_user(
                request,
                ngettext(
                    "%(count)d delivery carried a one-time link, removed when it closed: send a new link "
                    "from where it came from (a talk's speaker link, an address change).",
                    "%(count)d deliveries carried a one-time link, removed when they closed: send a new "
                    "link from where they came from (a talk's speaker link, an address change).",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


@admin.register(ChatLinkCode)
class ChatLinkCodeAdmin(admin.ModelAdmin):
    """Who asked to link which chat, and whether they did; the codes themselves are never stored."""

    list_display = ["created_at", "person", "scope", "team", "expires_at", "used_at"]
    list_filter = ["scope"]
    list_select_related = ["person", "team"]
    readonly_fields = [field.name for field in ChatLinkCode._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(TelegramUpdate)
class TelegramUpdateAdmin(admin.ModelAdmin):
    list_display = ["update_id", "kind", "received_at", "handled_at", "error"]
    list_filter = ["kind"]
    readonly_fields = [field.name for field in TelegramUpdate._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(SignOnPolicy)
class SignOnPolicyAdmin(admin.ModelAdmin):
    """One policy for the lab: it is edited, never added twice or deleted."""

    filter_horizontal = ["break_glass"]

    def has_add_permission(self, request):
        return not SignOnPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # Straight to the one policy, or to the form that saves it the first time.
        if SignOnPolicy.objects.exists():
            return redirect("admin:lab_portal_signonpolicy_change", 1)
        return redirect("admin:lab_portal_signonpolicy_add")
