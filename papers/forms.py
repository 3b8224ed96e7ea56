import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Bookmark
from .services import parse_reference

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
