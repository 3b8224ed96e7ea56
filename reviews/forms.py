from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from lab_portal.forms import one_line_fields
from lab_portal.models import Project, validate_timezone

from .models import ANYWHERE_ON_EARTH, Bid, Deadline, Draft, Review, ReviewRound, Venue
from .uploads import check_pdf, human_size, max_bytes

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
# Deadlines are announced as "23:59 AoE"; most people only change the date.
END_OF_DAY = time(23, 59)


def local_moment(day, at: time, zone: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


class PdfField(forms.FileField):
    """A draft PDF, checked by its content; `cleaned_data` holds the upload and its CheckedPdf."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("PDF"))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if not upload:
            return upload
        upload.checked = check_pdf(upload)
        return upload

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "accept": "application/pdf"}


def pdf_help() -> str:
    return _("A PDF of at most %(limit)s, not password-protected, without scripts or attachments.") % {
        "limit": human_size(max_bytes())
    }


def deadline_choice(deadline: Deadline) -> str:
    """A deadline as the draft form offers it: the venue and when papers are due, as it states it."""
    local = deadline.local_paper_deadline
    return _("%(deadline)s · papers due %(day)s %(time)s %(zone)s") % {
        "deadline": deadline,
        "day": formats.date_format(local, "DATE_FORMAT"),
        "time": local.strftime("%H:%M"),
        "zone": deadline.zone_label,
    }


def parse_outside_authors(text: str) -> list[tuple[str, str]]:
    """`Name <e-mail>` or `Name, e-mail` per line; the e-mail may be left out."""
    authors = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        name, email = line, ""
        if line.endswith(">") and "<" in line:
            name, email = line[:-1].rsplit("<", 1)
        elif "," in line:
            name, email = line.rsplit(",", 1)
        name, email = name.strip(), email.strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise ValidationError(
                    _("Line %(line)d: “%(email)s” is not an e-mail address."),
                    params={"line": number, "email": email},
                ) from None
        if not name:
            raise ValidationError(_("Line %(line)d has no name."), params={"line": number})
        authors.append((name[:200], email))
    return authors


class DraftForm(forms.ModelForm):
    coauthors = forms.ModelMultipleChoiceField(
        label=_("Co-authors from the lab"),
        queryset=get_user_model().objects.none(),
        required=False,
        help_text=_(
            "Everyone from the lab who wrote it with you: they can open it and are never asked to "
            "review it. Authors are listed by name; the author order is the one in your PDF."
        ),
    )
    outside_authors = forms.CharField(
        label=_("Co-authors from outside the lab"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        # Escaped: Django shows help texts as HTML, where <e-mail> would be an unknown tag.
        help_text=escape(_("One per line: Name <e-mail>, or just the name.")),
    )
    pdf = PdfField()
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, initial=_("First version"))

    class Meta:
        model = Draft
        formfield_callback = one_line_fields
        fields = ["title", "abstract", "project", "deadline", "review_by", "anonymous"]
        widgets = {"abstract": forms.Textarea(attrs={"rows": 8}), "review_by": DATE_INPUT}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coauthors"].queryset = get_user_model().objects.active().exclude(pk=user.pk)
        self.fields["project"].queryset = Project.objects.all()
        self.fields["project"].help_text = _("The line of work this draft belongs to, if any.")
        self.fields["deadline"].queryset = Deadline.objects.upcoming().select_related("venue")
        self.fields["deadline"].label_from_instance = deadline_choice
        self.fields["review_by"].required = False
        self.fields["review_by"].help_text = _(
            "Leave empty for %(days)d days before the paper deadline. A review round that takes the "
            "draft sets the date its reviews are due."
        ) % {"days": settings.REVIEW_DAYS_BEFORE_DEADLINE}
        self.fields["pdf"].help_text = pdf_help()

    def clean_outside_authors(self) -> list[tuple[str, str]]:
        return parse_outside_authors(self.cleaned_data["outside_authors"])

    def clean(self):
        data = super().clean()
        deadline = data.get("deadline")
        if deadline and not data.get("review_by"):
            data["review_by"] = self.instance.review_by = deadline.default_review_by()
        return data


class VersionForm(forms.Form):
    pdf = PdfField()
    note = forms.CharField(
        label=_("What changed"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Reviewers read this next to the new version."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pdf"].help_text = pdf_help()


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Draft.Status.choices)


class OpenToLabForm(forms.Form):
    open_to_lab = forms.BooleanField(label=_("Open to the whole lab"), required=False)


class VenueForm(forms.ModelForm):
    class Meta:
        model = Venue
        formfield_callback = one_line_fields
        fields = ["short_name", "name", "url"]


class DeadlineForm(forms.ModelForm):
    """Deadlines as the venue announces them: a date and wall-clock time in the venue's zone."""

    abstract_date = forms.DateField(label=_("Abstract deadline"), required=False, widget=DATE_INPUT)
    abstract_time = forms.TimeField(label=_("at"), required=False, widget=TIME_INPUT, initial=END_OF_DAY)
    paper_date = forms.DateField(label=_("Paper deadline"), widget=DATE_INPUT)
    paper_time = forms.TimeField(label=_("at"), widget=TIME_INPUT, initial=END_OF_DAY)

    class Meta:
        model = Deadline
        formfield_callback = one_line_fields
        fields = ["venue", "year", "timezone"]
        help_texts = {"timezone": _("Etc/GMT+12 is Anywhere on Earth (UTC-12); the sign is inverted.")}

    field_order = ["venue", "year", "abstract_date", "abstract_time", "paper_date", "paper_time", "timezone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].initial = timezone.localdate().year
        self.fields["timezone"].initial = ANYWHERE_ON_EARTH

    def clean(self):
        data = super().clean()
        zone = data.get("timezone")
        try:
            validate_timezone(zone or "")
        except ValidationError:
            return data  # the model's validator reports it on the field
        if data.get("paper_date") and data.get("paper_time"):
            self.instance.paper_deadline = local_moment(data["paper_date"], data["paper_time"], zone)
        if data.get("abstract_date"):
            at = data.get("abstract_time") or END_OF_DAY
            self.instance.abstract_deadline = local_moment(data["abstract_date"], at, zone)
            if (
                self.instance.paper_deadline
                and self.instance.abstract_deadline > self.instance.paper_deadline
            ):
                self.add_error("abstract_date", _("The abstract deadline comes before the paper deadline."))
        venue, moment = data.get("venue"), self.instance.paper_deadline
        # The constraint covers a field the form computes, so ModelForm would not check it.
        if venue and moment and Deadline.objects.filter(venue=venue, paper_deadline=moment).exists():
            self.add_error("paper_date", _("%(venue)s already has this deadline.") % {"venue": venue})
        return data


class RoundDueForm(forms.Form):
    due = forms.DateField(label=_("New due date"), widget=DATE_INPUT)

    def clean_due(self):
        due = self.cleaned_data["due"]
        if due < timezone.localdate():
            raise forms.ValidationError(_("Choose today or a later day."))
        return due


class RoundForm(forms.ModelForm):
    """Open a review round over drafts that are in review."""

    class Meta:
        model = ReviewRound
        formfield_callback = one_line_fields
        fields = ["name", "drafts", "reviewers_per_draft", "max_load", "min_load", "due", "weigh_past"]
        widgets = {"drafts": forms.CheckboxSelectMultiple, "due": DATE_INPUT}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["drafts"].queryset = Draft.objects.in_review().select_related("deadline__venue")
        self.fields["weigh_past"].help_text = _(
            "Among equally good plans, give more to those who submitted fewer reviews in the last "
            "%(months)d months."
        ) % {"months": settings.REVIEW_FAIRNESS_MONTHS}
        self.fields["reviewers_per_draft"].min_value = 1

    def clean(self):
        data = super().clean()
        if data.get("reviewers_per_draft") == 0:
            self.add_error("reviewers_per_draft", _("Each draft needs at least one reviewer."))
        low, high = data.get("min_load"), data.get("max_load")
        if low is not None and high is not None and low > high:
            self.add_error("min_load", _("The fewest reviews cannot exceed the most."))
        return data


class PairForm(forms.Form):
    draft = forms.IntegerField(min_value=1)
    reviewer = forms.IntegerField(min_value=1)


class ConflictForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        help_text=_("For example: a recent co-author, a close collaborator, a competing submission."),
    )


class BidForm(forms.Form):
    draft = forms.IntegerField(min_value=1)
    level = forms.ChoiceField(label=_("Bid"), choices=Bid.Level.choices)


# Long enough for any review, short enough that a pasted PDF or a runaway script is refused.
REVIEW_TEXT_LIMIT = 20_000
REVIEW_SCORES = ("soundness", "novelty", "clarity", "overall", "confidence")


class ReviewTextField(forms.CharField):
    """A Markdown text of the review, kept as typed (leading spaces may be an indented code block).
    Browsers count a line break as one character for `maxlength` but send two; so do we."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 6}))
        super().__init__(strip=False, max_length=REVIEW_TEXT_LIMIT, **kwargs)

    def to_python(self, value):
        return super().to_python(value).replace("\r\n", "\n")


MARKDOWN_HELP = _("Markdown, with $math$.")


class ReviewDraftForm(forms.ModelForm):
    """What an autosave accepts: any part of the review, but only listed scores and bounded texts.
    `revision` is the review's revision the page was loaded with (0: none saved yet)."""

    summary = ReviewTextField(
        label=_("Summary"),
        help_text=_("What the paper claims and how, in your own words. Markdown, with $math$."),
    )
    strengths = ReviewTextField(label=_("Strengths"), help_text=MARKDOWN_HELP)
    weaknesses = ReviewTextField(label=_("Weaknesses"), help_text=MARKDOWN_HELP)
    questions = ReviewTextField(
        label=_("Questions for the authors"), help_text=_("Optional. Markdown, with $math$.")
    )
    experiments = ReviewTextField(
        label=_("Suggested experiments"), help_text=_("Optional. Markdown, with $math$.")
    )
    revision = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    # The number of the PDF version the page showed: a first save ties the review to it.
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    class Meta:
        model = Review
        fields = [
            *["summary", "strengths", "weaknesses", "questions", "experiments"],
            *REVIEW_SCORES,
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in REVIEW_SCORES:
            # A plain dash for "not chosen yet" instead of Django's row of hyphens.
            self.fields[name].choices = [("", "—"), *self.fields[name].choices[1:]]

    def posted_fields(self) -> dict:
        """The cleaned review fields that the request actually sent: a partial save leaves the
        others as they were."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("revision", "version") and name in self.data
        }


class ReviewForm(ReviewDraftForm):
    """A review ready to submit: summary, strengths, weaknesses and every score."""

    # The same page saves drafts: the browser must not block "Save" over an empty field.
    use_required_attribute = False
    REQUIRED = ("summary", "strengths", "weaknesses", *REVIEW_SCORES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.REQUIRED:
            self.fields[name].required = True

    def clean(self):
        data = super().clean()
        for name in ["summary", "strengths", "weaknesses"]:
            if data.get(name) is not None and name not in self.errors and not data[name].strip():
                self.add_error(name, self.fields[name].error_messages["required"])
        return data


class PaperLinkForm(forms.Form):
    """The arXiv paper of an accepted draft, as an id or a link; `cleaned_data` holds the bare id."""

    arxiv_id = forms.CharField(
        label=_("arXiv id"),
        max_length=300,
        help_text=_("For example 2406.01234, arXiv:2406.01234v2 or https://arxiv.org/abs/2406.01234"),
    )

    def clean_arxiv_id(self) -> str:
        # The papers app reads references the same way wherever a person pastes one.
        from papers.services import parse_reference

        text = self.cleaned_data["arxiv_id"]
        try:
            return parse_reference(text)[0]
        except ValueError:
            raise ValidationError(
                _("“%(text)s” is not an arXiv id such as 2406.01234."), params={"text": text[:80]}
            ) from None
