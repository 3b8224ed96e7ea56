import re

from django import forms
from django.utils.translation import gettext_lazy as _

from lab_portal.forms import CommentForm, one_line_fields
from lab_portal.models import Team, User

from .models import Bookmark, Paper, WatchRule
from .services import parse_reference
from .sharing import Recipients, last_recipients
from .watch import QueryError, parse_name, parse_query

_CATEGORY = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z\-]+)?$")
_CURSOR = re.compile(r"^(?P<a>[^~]{1,40})~(?P<b>[^~]{0,40})~(?P<c>[^~]{1,40})$")


class FeedFilterForm(forms.Form):
    """The feed's query string: what to narrow to, and where the last page ended."""

    q = forms.CharField(label=_("Words in title or abstract"), required=False, max_length=200)
    author = forms.CharField(label=_("Author"), required=False, max_length=200)
    category = forms.CharField(label=_("Category"), required=False, max_length=32)
    day = forms.DateField(label=_("Day"), required=False)
    after = forms.CharField(required=False, max_length=130, widget=forms.HiddenInput)

    def clean_after(self) -> tuple[str, str, str] | None:
        # A cursor that does not parse starts from the top instead of failing the page.
        match = _CURSOR.match(self.cleaned_data["after"])
        return (match["a"], match["b"], match["c"]) if match else None


class AbstractsForm(forms.Form):
    """How a person's paper lists show abstracts: a few lines of each, or whole."""

    expanded = forms.TypedChoiceField(
        label=_("Abstracts"),
        choices=[("0", _("a few lines")), ("1", _("in full"))],
        coerce=lambda value: value == "1",
    )


class SearchForm(forms.Form):
    class Sort:
        RELEVANCE = "relevance"
        DATE = "date"

    q = forms.CharField(label=_("Search"), required=False, max_length=5000, strip=True)
    category = forms.CharField(label=_("Category"), required=False, max_length=32)
    author = forms.CharField(label=_("Author"), required=False, max_length=200)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[(Sort.RELEVANCE, _("relevance")), (Sort.DATE, _("date"))],
    )
    offset = forms.IntegerField(required=False, min_value=0, max_value=2000, widget=forms.HiddenInput)

    def clean_sort(self) -> str:
        return self.cleaned_data["sort"] or self.Sort.RELEVANCE

    def clean_offset(self) -> int:
        return self.cleaned_data["offset"] or 0


class AddPaperForm(forms.Form):
    reference = forms.CharField(
        label=_("arXiv id or link"),
        max_length=300,
        help_text=_(
            "For example 2401.01234, arXiv:2401.01234v2, hep-th/9901001 or https://arxiv.org/abs/2401.01234"
        ),
    )

    def clean_reference(self) -> tuple[str, int | None]:
        text = self.cleaned_data["reference"]
        try:
            return parse_reference(text)
        except ValueError:
            raise forms.ValidationError(
                _(
                    "“%(text)s” is not an arXiv identifier. Use a new-style id such as 2401.01234 "
                    "(optionally with v2), an old-style one such as hep-th/9901001, or an arxiv.org "
                    "abs or pdf link."
                ),
                params={"text": text[:80]},
            ) from None


class LibraryBibtexForm(forms.Form):
    tag = forms.IntegerField(required=False, min_value=1)


class BookmarkForm(forms.ModelForm):
    tag_names = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=500,
        help_text=_("Separated by commas, for example: diffusion, to discuss"),
    )

    class Meta:
        model = Bookmark
        fields = ["state", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        # One prefix per bookmark wherever the form is shown (the paper's page, the library with
        # many rows), so what a page sends is what the save view reads.
        instance = kwargs.get("instance")
        if instance is not None and instance.pk:
            kwargs.setdefault("prefix", f"b{instance.pk}")
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["tag_names"].initial = ", ".join(tag.name for tag in self.instance.tags.all())

    def clean_tag_names(self) -> list[str]:
        names = [" ".join(name.split()) for name in self.cleaned_data["tag_names"].split(",")]
        names = list(dict.fromkeys(name for name in names if name))
        if any(len(name) > 50 for name in names):
            raise forms.ValidationError(_("A tag is at most 50 characters long."))
        return names


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


class MatchDayForm(forms.Form):
    day = forms.DateField(required=False)


class ShareForm(forms.Form):
    """A note and whom it goes to: the lab, teams, people (by default whom the sharer chose last)."""

    note = forms.CharField(
        label=_("Why they should read it"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Must read because …")}),
    )
    lab = forms.BooleanField(label=_("The whole lab"), required=False)
    teams = forms.ModelMultipleChoiceField(
        Team.objects.all(), label=_("Teams"), required=False, widget=forms.CheckboxSelectMultiple
    )
    people = forms.ModelMultipleChoiceField(
        User.objects.none(), label=_("People"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, sharer, paper: Paper, **kwargs):
        kwargs.setdefault("auto_id", f"share-{paper.pk}-%s")  # the feed may show several forms at once
        if not args and "initial" not in kwargs:
            chosen = last_recipients(sharer)
            kwargs["initial"] = {"lab": chosen.lab, "teams": chosen.teams, "people": chosen.people}
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = User.objects.active().exclude(pk=sharer.pk)

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and not self.recipients():
            raise forms.ValidationError(_("Choose the lab, a team or a person to share with."))
        return data

    def recipients(self) -> Recipients:
        data = self.cleaned_data
        teams, people = tuple(data.get("teams", ())), tuple(data.get("people", ()))
        return Recipients(lab=data.get("lab", False), teams=teams, people=people)

    @property
    def recipients_label(self) -> str:
        """Whom the share goes to, in words: "the lab, Vision, Taeho Yoon"."""
        if self.is_bound:
            self.is_valid()  # what was chosen validly, even beside a missing note
            return self.recipients().label
        return Recipients(
            lab=bool(self.initial.get("lab")),
            teams=tuple(self.initial.get("teams", ())),
            people=tuple(self.initial.get("people", ())),
        ).label


class FollowForm(forms.Form):
    """Following on or off, said outright so that a second click changes nothing."""

    follow = forms.TypedChoiceField(choices=[("on", "on"), ("off", "off")], coerce="on".__eq__)


class ThreadCommentForm(CommentForm):
    """A comment, or with `parent` a reply to one."""

    parent = forms.IntegerField(required=False)
