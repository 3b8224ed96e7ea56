import re

from django import forms
from django.utils.translation import gettext_lazy as _

from lab_portal.forms import one_line_fields
from lab_portal.models import Team

from .models import WatchRule
from .watch import QueryError, parse_name, parse_query

_CATEGORY = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z\-]+)?$")


class WatchRuleForm(forms.ModelForm):
    """A rule as a person edits it: authors one per line, categories separated by spaces or commas."""

    class Owner:
        ME = "me"  # or the id of a team the person leads

    owner = forms.ChoiceField(label=_("For"), choices=[(Owner.ME, _("me"))], initial=Owner.ME, required=False)
    authors = forms.CharField(
        label=_("Authors"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line, written any way: “Jung-Woo Ha”, “J.-W. Ha” and “Ha, Jungwoo” match alike."
        ),
    )
    categories = forms.CharField(
        label=_("Categories"),
        required=False,
        max_length=500,
        help_text=_("arXiv categories such as cs.LG stat.ML, or a whole archive such as cs."),
    )

    class Meta:
        model = WatchRule
        formfield_callback = one_line_fields
        fields = [
            "name", "query", "authors", "categories", "min_recommendation", "include_updates", "in_chat",
            "urgent", "in_digest", "active",
        ]  # fmt: skip
        widgets = {
            "query": forms.TextInput(
                attrs={"placeholder": '"diffusion model" AND (video OR audio) NOT survey'}
            ),
            "min_recommendation": forms.NumberInput(attrs={"min": 0, "max": 1, "step": 0.05}),
        }
        help_texts = {
            "min_recommendation": _("0 to 1: how much a paper must look like your library. Empty: not used."),
            "in_chat": _("Each announcement's matches arrive in your chat channels as one post, best first."),
            "urgent": _("Each match is sent to chat the moment it is found, such as a watch on an author."),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not self.instance.pk:
            self.instance.person, self.instance.created_by = user, user
        self.teams = {}
        if self.instance.pk:
            del self.fields["owner"]  # who a rule belongs to is fixed once it exists
        elif user.led_team_ids:
            self.teams = {str(team.pk): team for team in Team.objects.filter(pk__in=user.led_team_ids)}
            teams = [(pk, team.name) for pk, team in self.teams.items()]
            self.fields["owner"].choices = [(self.Owner.ME, _("me")), *teams]
        if not self.is_bound:
            self.initial["authors"] = "\n".join(self.instance.authors)
            self.initial["categories"] = " ".join(self.instance.categories)

    def clean_query(self) -> str:
        query = self.cleaned_data["query"].strip()
        try:
            parse_query(query)
        except QueryError as error:
            raise forms.ValidationError(str(error)) from None
        return query

    def clean_authors(self) -> list[str]:
        names = [" ".join(line.split()) for line in self.cleaned_data["authors"].splitlines()]
        names = [name for name in names if name]
        for name in names:
            if not parse_name(name):
                raise forms.ValidationError(_("“%(name)s” is not a name."), params={"name": name})
        return list(dict.fromkeys(names))[:50]

    def clean_categories(self) -> list[str]:
        codes = [code for code in re.split(r"[\s,;]+", self.cleaned_data["categories"]) if code]
        for code in codes:
            if not _CATEGORY.match(code):
                raise forms.ValidationError(_("“%(code)s” is not an arXiv category."), params={"code": code})
        return list(dict.fromkeys(codes))[:30]

    def clean_min_recommendation(self) -> float | None:
        value = self.cleaned_data["min_recommendation"]
        if value is not None and not 0 <= value <= 1:
            raise forms.ValidationError(_("Give a number from 0 to 1."))
        return value

    def clean(self) -> dict:
        data = super().clean()
        criteria = [data.get("query"), data.get("authors"), data.get("categories")]
        if not any(criteria) and data.get("min_recommendation") is None:
            raise forms.ValidationError(
                _("Give keywords, authors, categories or a library score to watch for.")
            )
        # Set before the model's checks run, which need exactly one owner; the teams offered
        # are those the person leads.
        if not self.instance.pk and (team := self.teams.get(data.get("owner") or "")):
            self.instance.person, self.instance.team = None, team
        return data

    def preview_rule(self) -> WatchRule | None:
        """The rule as typed so far, unsaved, for the preview; None while it cannot be read."""
        if not self.is_valid():
            return None
        return self.instance
