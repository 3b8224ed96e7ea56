import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import User


class NameListField(forms.CharField):
    """One name per line in the form, a list in the database."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        names = [line.strip() for line in (value or "").splitlines()]
        return list(dict.fromkeys(name for name in names if name))


class ProfileForm(forms.ModelForm):
    arxiv_names = NameListField(
        label=_("Names on arXiv"),
        required=False,
        help_text=_("One per line, as they appear on your papers: “Jung-Woo Ha”, “J.-W. Ha”."),
    )
    timezone = forms.ChoiceField(label=_("Time zone"))

    class Meta:
        model = User
        fields = [
            "display_name",
            "email",
            "team",
            "timezone",
            "language",
            "arxiv_names",
            "research_interests",
        ]
        widgets = {"research_interests": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(name, name) for name in sorted(zoneinfo.available_timezones())]
