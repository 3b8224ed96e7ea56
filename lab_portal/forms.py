import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import gettext_lazy as _

from .addresses import is_taken
from .channels import slack_webhook_url
from .models import Channel, ChatLinkCode, Project, SignOnPolicy, Team, User

# The longest comment, in characters: a page of text, far more than a discussion needs.
COMMENT_MAX = 10_000


def form_errors(form: forms.Form, *, labels: bool = False) -> str:
    """A form's errors as one line, for a message after a redirect or an htmx status line;
    `labels` names the field of each error (for forms with many fields)."""
    if labels:
        return "; ".join(
            f"{form.fields[name].label}: {' '.join(errors)}" if name in form.fields else " ".join(errors)
            for name, errors in form.errors.items()
        )
    return " ".join(error for errors in form.errors.values() for error in errors)


def one_line(text: str) -> str:
    """Every run of whitespace, line breaks included, as one space."""
    return " ".join(text.split())


class OneLineField(forms.CharField):
    """A name or title: what a one-line input shows. A crafted POST can still send line breaks,
    which break calendar files and mail headers, so they become spaces."""

    def to_python(self, value):
        return one_line(super().to_python(value))


def one_line_fields(db_field, **kwargs):
    """A ModelForm's `formfield_callback`: the model's plain CharFields become OneLineFields."""
    widget = kwargs.get("widget")
    textarea = isinstance(widget, forms.Textarea) or widget is forms.Textarea
    if type(db_field) is models.CharField and not db_field.choices and not textarea:
        return db_field.formfield(form_class=OneLineField, **kwargs)
    return db_field.formfield(**kwargs)


class NameListField(forms.CharField):
    """One name per line in the form, a list in the database."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        names = [line.strip() for line in (value or "").splitlines()]
        return list(dict.fromkeys(name for name in names if name))


class ProfileForm(forms.ModelForm):
    """A person's own profile. The e-mail address is not saved by the form: a new one waits for
    its owner to confirm it (lab_portal/addresses.py), and under single sign-on it comes from the
    identity provider. Teams and roles are set by admins."""

    arxiv_names = NameListField(
        label=_("Names on arXiv"),
        required=False,
        help_text=_("One per line, as they appear on your papers: “Jung-Woo Ha”, “J.-W. Ha”."),
    )
    timezone = forms.ChoiceField(label=_("Time zone"))
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        help_text=_("A new address is used once you open the link the portal sends to it."),
    )
    field_order = ["display_name", "email"]

    class Meta:
        model = User
        formfield_callback = one_line_fields
        fields = [
            "display_name",
            "timezone",
            "language",
            "arxiv_names",
            "research_interests",
        ]
        widgets = {"research_interests": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(name, name) for name in sorted(zoneinfo.available_timezones())]
        email = self.fields["email"]
        email.initial = self.instance.email
        # Someone without an address (one shared with another account, say) may save the rest.
        email.required = bool(self.instance.email)
        if settings.OIDC_ENABLED:
            email.disabled = True
            email.help_text = _("Your address comes from %(provider)s.") % {
                "provider": settings.OIDC_PROVIDER_NAME
            }

    def clean_email(self) -> str:
        address = self.cleaned_data["email"].strip()
        if address.lower() != self.instance.email.lower() and is_taken(address, by_other_than=self.instance):
            raise ValidationError(_("This address belongs to another account."))
        return address

    @property
    def new_email(self) -> str:
        """The address asked for, when it is not the person's current one (blank: none)."""
        address = self.cleaned_data.get("email", "")
        return address if address.lower() != self.instance.email.lower() else ""


class DigestForm(forms.Form):
    """The morning e-mail on or off, said outright so that a second click changes nothing."""

    morning_digest = forms.TypedChoiceField(
        choices=[("on", _("on")), ("off", _("off"))], coerce=lambda value: value == "on"
    )


class ConnectTelegramForm(forms.Form):
    chat = forms.ChoiceField(choices=ChatLinkCode.Scope.choices)
    # Which of the teams the person leads, for a team's group.
    team = forms.IntegerField(required=False, min_value=1)


class ChannelForm(forms.ModelForm):
    """A channel of the person's own, or of a team they lead (`owner`, for new channels).
    Telegram chats are not typed in: the bot links them (lab_portal.chat), so nobody can point
    a channel at a chat that is not theirs."""

    owner = forms.ChoiceField(label=_("For"), required=False)

    class Meta:
        model = Channel
        fields = ["kind", "target"]
        labels = {"target": _("Webhook URL or address")}
        help_texts = {
            "target": _(
                "Slack: the incoming webhook URL. E-mail: the address, or blank for the one in your "
                "profile. Telegram is connected from your profile instead."
            )
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["kind"].widget.choices = [
            choice for choice in self.fields["kind"].choices if choice[0] != Channel.Kind.TELEGRAM
        ]
        self.teams = {str(team.pk): team for team in Team.objects.filter(pk__in=user.led_team_ids)}
        if self.instance.pk or not self.teams:
            del self.fields["owner"]
        else:
            teams = [(pk, team.name) for pk, team in self.teams.items()]
            self.fields["owner"].choices = [("person", _("Me")), *teams]

    def clean_kind(self) -> str:
        if self.cleaned_data["kind"] == Channel.Kind.TELEGRAM:
            raise ValidationError(
                _("Telegram is connected with “Connect Telegram” on your profile, never by typing a chat id.")
            )
        return self.cleaned_data["kind"]

    def clean(self):
        data = super().clean()
        channel = self.instance
        if not channel.pk:
            team = self.teams.get(data.get("owner") or "")
            channel.person, channel.team = (None, team) if team else (self.user, None)
        kind, target = data.get("kind"), (data.get("target") or "").strip()
        if kind:
            data["target"] = self._clean_target(kind, target, for_person=channel.person is not None)
            same = Channel.objects.filter(
                kind=kind, target=data["target"], person=channel.person, team=channel.team
            )
            if same.exclude(pk=channel.pk).exists():
                raise ValidationError(_("This channel is already there."))
        return data

    def _clean_target(self, kind: str, target: str, *, for_person: bool) -> str:
        if kind == Channel.Kind.SLACK:
            # Stored as rebuilt from the parts that were checked, which is exactly what is posted to.
            url = slack_webhook_url(target)
            if url is None:
                self.add_error(
                    "target",
                    _("Paste the incoming webhook URL Slack gave you (https://hooks.slack.com/services/…)."),
                )
            return url or target
        elif for_person and target and target.lower() != (self.user.email or "").lower():
            # Nobody has confirmed another address belongs to this person: the portal must not
            # become a way to mail strangers. A team's address is set by its lead.
            self.add_error(
                "target",
                _("Your e-mail channel goes to your profile's address; change it on your profile page."),
            )
        elif target or not for_person:
            try:
                validate_email(target)
            except ValidationError:
                self.add_error("target", _("Enter an e-mail address."))
        return target


class BoundedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Ids beyond any row's are invalid choices like any other, before the database is asked:
    SQLite cannot even look one up (an `__in` lookup overflows instead of finding nothing)."""

    def _check_values(self, value):
        for pk in value:
            if str(pk).strip().isdigit() and int(pk) >= 2**63:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        field_classes = {"people": BoundedMultipleChoiceField}
        fields = ["title", "description", "team", "people", "target_venue"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "people": forms.SelectMultiple(attrs={"size": 8}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = User.objects.active()
        self.fields["people"].help_text = _(
            "Who works on it: they may edit it, and its story is on their page."
        )
        self.fields["target_venue"].help_text = _("Where the paper is meant to go, if that is known.")


class LogInForm(AuthenticationForm):
    """The password form, whose refusals fit how the lab logs in: under single sign-on a person
    without a portal password is pointed to the provider's button, and with password log-in
    turned off everyone but the break-glass administrators is."""

    def get_invalid_login_error(self) -> ValidationError:
        if settings.OIDC_ENABLED:
            provider = settings.OIDC_PROVIDER_NAME
            if not SignOnPolicy.current().password_login:
                text = _(
                    "Password log-in is turned off: log in with %(provider)s. Only the administrators "
                    "named for emergencies can use a password here."
                )
            else:
                text = _(
                    "Enter a correct username and password. If you log in with %(provider)s, use its "
                    "button above: your account may have no portal password."
                )
            return ValidationError(text % {"provider": provider}, code="invalid_login")
        return super().get_invalid_login_error()


class LabPasswordResetForm(PasswordResetForm):
    """No reset mail for a password its owner may not use."""

    def get_users(self, email):
        policy = SignOnPolicy.current()
        return (user for user in super().get_users(email) if policy.password_allowed(user))


class WelcomeForm(forms.ModelForm):
    """A first log-in through single sign-on: what the portal needs to be useful from day one."""

    arxiv_names = NameListField(
        label=_("Names on arXiv"),
        required=False,
        help_text=_("One per line, as they appear on your papers: “Jung-Woo Ha”, “J.-W. Ha”."),
    )
    timezone = forms.ChoiceField(label=_("Time zone"))
    requested_team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        label=_("Your team"),
        empty_label=_("No team, or not sure yet"),
        help_text=_("An admin puts you in the team; until then you see the whole lab's papers and talks."),
    )

    class Meta:
        model = User
        fields = ["display_name", "requested_team", "timezone", "language", "arxiv_names"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["display_name"].required = True
        self.fields["timezone"].choices = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class CommentForm(forms.Form):
    """A comment's text, on a paper's thread or a draft's discussion."""

    body = forms.CharField(
        label=_("Comment"),
        max_length=COMMENT_MAX,
        error_messages={
            "required": _("Write something first: an empty comment is not posted."),
            "max_length": _(
                "A comment can be at most %(limit_value)d characters long (this one has %(show_value)d)."
            ),
        },
    )
