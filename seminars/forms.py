"""Forms of the schedule: talks, series, requests and the query strings of the calendar pages."""

import re
from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import formats, timezone
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lab_portal.forms import one_line_fields
from lab_portal.models import Project, User, validate_timezone
from lab_portal.pdfs import check_pdf_content
from papers.models import Paper
from papers.services import parse_reference
from reviews.models import Draft

from .invitations import SPEAKER_FIELDS, head, photo_kind, photo_max_bytes, zone_choices, zone_names
from .models import TBA, ActionItem, Feedback, Series, Talk, TalkRequest, wall_clock_exists, zoned

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def room_taken_message(clash: Talk | None) -> str:
    """What the form says when a room is booked: which talk is in the way, and when."""
    if clash is None:
        return gettext("The room was booked for another talk at that time a moment ago.")
    start = timezone.localtime(clash.starts_at)
    end = timezone.localtime(clash.ends_at)
    message = gettext("%(room)s is booked at that time for “%(title)s” (%(day)s, %(start)s–%(end)s).")  # noqa: RUF001
    return message % {
        "room": clash.room,
        "title": clash.title,
        "day": formats.date_format(start, "SHORT_WEEKDAY_DATE_FORMAT"),
        "start": formats.time_format(start, "TIME_FORMAT"),
        "end": formats.time_format(end, "TIME_FORMAT"),
    }


def parse_paper_ids(text: str) -> list[Paper]:
    """arXiv ids or links, separated by spaces or commas, as stored papers (unknown ones refused)."""
    ids, bad = [], []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        try:
            ids.append(parse_reference(token)[0])
        except ValueError:
            bad.append(token)
    if bad:
        raise forms.ValidationError(
            _("Not an arXiv identifier: %(ids)s."), params={"ids": ", ".join(t[:40] for t in bad)}
        )
    papers = {paper.arxiv_id: paper for paper in Paper.objects.filter(arxiv_id__in=ids)}
    missing = [arxiv_id for arxiv_id in ids if arxiv_id not in papers]
    if missing:
        raise forms.ValidationError(
            _("Not in the portal yet (add it from the Papers page first): %(ids)s."),
            params={"ids": ", ".join(missing)},
        )
    return list(dict.fromkeys(papers[arxiv_id] for arxiv_id in ids))


def people():
    return User.objects.active().order_by("display_name", "username")


class TalkForm(forms.ModelForm):
    """A talk's fields with its time entered as a local date and wall-clock times in its own zone."""

    date = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    start_time = forms.TimeField(label=_("Starts"), widget=TIME_INPUT)
    end_time = forms.TimeField(label=_("Ends"), widget=TIME_INPUT)
    papers = forms.CharField(
        label=_("Related papers"),
        required=False,
        max_length=2000,
        help_text=_("arXiv ids or links from the feed, separated by spaces or commas."),
    )

    class Meta:
        model = Talk
        formfield_callback = one_line_fields
        fields = [
            "kind",
            "title",
            "abstract",
            "timezone",
            "room",
            "online_link",
            "capacity",
            "host",
            "speaker_user",
            "speaker_name",
            "speaker_affiliation",
            "speaker_email",
            "speaker_homepage",
            "speaker_bio",
            "speaker_timezone",
            "draft",
            "project",
            "stage",
        ]
        widgets = {
            "abstract": forms.Textarea(attrs={"rows": 8}),
            "speaker_bio": forms.Textarea(attrs={"rows": 4}),
        }

    field_order = ["kind", "title", "abstract", "date", "start_time", "end_time", "timezone", "room"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = people()
        self.fields["speaker_user"].queryset = people()
        self.fields["timezone"].help_text = _("The zone the date and times above are in.")
        # Picked from the list, as in the profile: a zone typed by hand is easily one that is not.
        self.fields["timezone"].widget = forms.Select(choices=[(name, name) for name in zone_names()])
        self.fields["speaker_timezone"].widget = forms.Select(choices=zone_choices())
        talk = self.instance
        # Only drafts the editor may see are offered; one linked by someone who may see it stays
        # linked, and hidden, when another editor may not.
        drafts = Draft.objects.visible_to(user) if user is not None else Draft.objects.none()
        if talk.draft_id and not drafts.filter(pk=talk.draft_id).exists():
            del self.fields["draft"]
        else:
            self.fields["draft"].queryset = drafts.select_related("deadline__venue")
            self.fields["draft"].help_text = _(
                "A lab draft this talk presents; only its readers see the link."
            )
        self.fields["project"].queryset = Project.objects.all()
        self.fields["stage"].help_text = _(
            "Where the project stands: first results, progress or pre-submission."
        )
        if talk.pk:
            self.initial.setdefault("date", talk.local_start.date())
            self.initial.setdefault("start_time", talk.local_start.time())
            self.initial.setdefault("end_time", talk.local_end.time())
            self.initial.setdefault("papers", " ".join(p.arxiv_id for p in talk.related_papers.all()))

    def clean_papers(self) -> list[Paper]:
        return parse_paper_ids(self.cleaned_data["papers"])

    def clean(self):
        data = super().clean()
        draft = data.get("draft")
        if draft and draft.project_id and not data.get("project"):
            data["project"] = self.instance.project = draft.project
        zone = data.get("timezone")
        day, start, end = data.get("date"), data.get("start_time"), data.get("end_time")
        if not (zone and day and start and end):
            return data
        try:
            validate_timezone(zone)
        except forms.ValidationError:
            return data  # the model's validator reports it on the field
        starts_at, ends_at = zoned(day, start, zone), zoned(day, end, zone)
        if not wall_clock_exists(day, start, zone):
            message = _("This time does not exist in %(zone)s that day (the clocks jump forward).")
            self.add_error("start_time", message % {"zone": zone})
            return data
        # An end before the start is past midnight: a talk from 23:00 to 00:30.
        if ends_at <= starts_at:
            ends_at = zoned(day + timedelta(days=1), end, zone)
        if ends_at - starts_at > timedelta(hours=12):
            self.add_error("end_time", _("A talk ends within twelve hours of its start."))
            return data
        self.instance.starts_at, self.instance.ends_at = starts_at, ends_at
        room, capacity = data.get("room"), data.get("capacity")
        if room and room.seats and capacity and capacity > room.seats:
            self.add_error("capacity", _("%(room)s seats %(seats)d.") % {"room": room, "seats": room.seats})
        if room and self.instance.status == Talk.Status.SCHEDULED:
            clash = (
                Talk.objects.overlapping(
                    room=room, starts_at=starts_at, ends_at=ends_at, exclude_pk=self.instance.pk
                )
                .select_related("room")
                .first()
            )
            if clash:
                self.add_error("room", room_taken_message(clash))
        return data


class SeriesForm(forms.ModelForm):
    generate_until = forms.DateField(
        label=_("Schedule talks until"),
        widget=DATE_INPUT,
        help_text=_("Talks titled TBA are created for every meeting up to this day."),
    )

    class Meta:
        model = Series
        formfield_callback = one_line_fields
        fields = [
            "name",
            "slug",
            "kind",
            "description",
            "weekday",
            "start_time",
            "duration_minutes",
            "timezone",
            "starts_on",
            "ends_on",
            "room",
            "online_link",
            "capacity",
            "host",
        ]
        widgets = {"start_time": TIME_INPUT, "starts_on": DATE_INPUT, "ends_on": DATE_INPUT}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = people()
        self.fields["slug"].required = False
        self.fields["slug"].help_text = _("The series' address; made from the name when left empty.")
        self.fields["timezone"].help_text = _("The weekday and start time are wall-clock time in this zone.")
        self.initial.setdefault("timezone", settings.TIME_ZONE)
        self.initial.setdefault("generate_until", timezone.localdate() + timedelta(weeks=12))

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"] or slugify(self.data.get(self.add_prefix("name"), ""))
        if not slug:
            raise forms.ValidationError(
                _("Give the series an address in Latin letters, such as weekly-techtalk.")
            )
        return slug

    def clean(self):
        data = super().clean()
        starts_on, until = data.get("starts_on"), data.get("generate_until")
        if starts_on and until and until > starts_on + timedelta(weeks=104):
            self.add_error("generate_until", _("Schedule at most two years ahead at once."))
        return data


class GenerateForm(forms.Form):
    until = forms.DateField(label=_("Schedule talks until"), widget=DATE_INPUT)

    def clean_until(self) -> date:
        until = self.cleaned_data["until"]
        if until > timezone.localdate() + timedelta(weeks=104):
            raise forms.ValidationError(_("Schedule at most two years ahead at once."))
        return until


class TalkRequestForm(forms.ModelForm):
    paper_id = forms.CharField(
        label=_("Paper"),
        required=False,
        max_length=300,
        help_text=_("For a paper to discuss: its arXiv id or link (it must be in the portal's feed)."),
    )

    class Meta:
        model = TalkRequest
        formfield_callback = one_line_fields
        fields = ["kind", "title", "notes", "project", "stage", "draft", "preferred_after"]
        widgets = {"preferred_after": DATE_INPUT, "notes": forms.Textarea(attrs={"rows": 6})}

    field_order = ["kind", "paper_id", "title", "notes", "project", "stage", "draft", "preferred_after"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["title"].help_text = _("For a paper, its title is used when this is empty.")
        self.fields["project"].queryset = Project.objects.all()
        # One's own drafts: the seminar presents them to its audience.
        self.fields["draft"].queryset = Draft.objects.authored_by(user).select_related("deadline__venue")
        self.fields["draft"].help_text = _(
            "A draft of yours to present; the request joins the draft's project, and the seminar's "
            "audience may read the draft's current version from a week before the talk."
        )

    def clean_paper_id(self) -> Paper | None:
        text = self.cleaned_data["paper_id"]
        if not text.strip():
            return None
        papers = parse_paper_ids(text)
        if len(papers) != 1:
            raise forms.ValidationError(_("Propose one paper at a time."))
        return papers[0]

    def clean(self):
        data = super().clean()
        paper = data.get("paper_id")
        if data.get("kind") == TalkRequest.Kind.PAPER and not paper and "paper_id" not in self.errors:
            self.add_error("paper_id", _("Name the paper to discuss."))
        if not data.get("title"):
            if paper:
                data["title"] = paper.title[:300]
            else:
                self.add_error("title", _("Give your seminar a working title."))
        self.instance.paper = paper
        draft, project = data.get("draft"), data.get("project")
        if draft and draft.project_id:
            if project and project != draft.project:
                message = _("This draft belongs to the project “%(project)s”.")
                self.add_error("project", message % {"project": draft.project})
            else:
                data["project"] = self.instance.project = draft.project
        return data


class CalendarAlarmsForm(forms.ModelForm):
    """Whether the person's own feeds ring before their talks and deadlines."""

    class Meta:
        model = User
        fields = ["calendar_alarms"]
        labels = {
            "calendar_alarms": _("Alarms in my feeds: an hour before my talks, a day before my deadlines")
        }
        help_texts = {
            "calendar_alarms": _(
                "For “My talks” and “Deadlines and my reviews”. Your calendar rings at its next update."
            )
        }


class ProposeQueryForm(forms.Form):
    """`?paper=<arxiv_id>` on the request page, from a paper's "propose for discussion" link."""

    paper = forms.CharField(required=False, max_length=300)

    def clean_paper(self) -> Paper | None:
        try:
            arxiv_id = parse_reference(self.cleaned_data["paper"])[0]
        except ValueError:
            return None
        return Paper.objects.filter(arxiv_id=arxiv_id).first()


class ProjectQueryForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.all(), required=False)


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the requester"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "aria-label": _("Note to the requester")}),
    )


PDF_MAGIC = b"%PDF-"


def slides_max_bytes() -> int:
    return settings.SEMINAR_SLIDES_MAX_BYTES


def checked_slides(slides: UploadedFile | None) -> UploadedFile | None:
    """An uploaded PDF within the size limit, stored under one name; a ValidationError otherwise."""
    if not slides:
        return None
    limit = slides_max_bytes()
    if slides.size > limit:
        raise forms.ValidationError(
            _("The slides are larger than %(mb).0f MB; link to them instead."),
            params={"mb": limit / 2**20},
        )
    if head(slides, len(PDF_MAGIC)) != PDF_MAGIC:
        raise forms.ValidationError(_("The slides must be a PDF file."))
    check_pdf_content(slides)
    slides.name = "slides.pdf"
    return slides


class SpeakerSlidesForm(forms.Form):
    """The outside speaker's upload, on the page behind their link."""

    slides = forms.FileField(label=_("Slides (PDF)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slides"].help_text = _("A PDF of up to %(mb).0f MB; it replaces the one uploaded.") % {
            "mb": slides_max_bytes() / 2**20
        }

    def clean_slides(self) -> UploadedFile:
        return checked_slides(self.cleaned_data.get("slides"))


class MaterialsForm(forms.ModelForm):
    slides = forms.FileField(label=_("Slides (PDF)"), required=False)
    remove_slides = forms.BooleanField(label=_("Remove the uploaded slides"), required=False)
    papers = forms.CharField(
        label=_("Related papers"),
        required=False,
        max_length=2000,
        help_text=_("arXiv ids or links of papers in the portal, separated by spaces or commas."),
    )

    class Meta:
        model = Talk
        fields = ["slides_url", "recording_url"]
        help_texts = {
            "slides_url": _("Or a link to the slides elsewhere."),
            "recording_url": _("A link to the recording, if the speaker agreed to one."),
        }

    field_order = ["slides", "remove_slides", "slides_url", "recording_url", "papers"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slides"].help_text = _("A PDF of up to %(mb).0f MB; it replaces the one uploaded.") % {
            "mb": slides_max_bytes() / 2**20
        }
        if not self.instance.slides:
            del self.fields["remove_slides"]
        self.initial.setdefault("papers", " ".join(p.arxiv_id for p in self.instance.related_papers.all()))

    def clean_slides(self) -> UploadedFile | None:
        return checked_slides(self.cleaned_data.get("slides"))

    def clean_papers(self) -> list[Paper]:
        return parse_paper_ids(self.cleaned_data["papers"])


class FeedbackForm(forms.ModelForm):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("1 is poor, 5 is excellent."),
    )
    comments = forms.CharField(
        label=_("Comments"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The speaker reads your comments without your name; the host and the leads see it."),
    )

    class Meta:
        model = Feedback
        fields = ["rating", "comments"]


class ActionItemForm(forms.ModelForm):
    text = forms.CharField(label=_("Action"), max_length=1000)

    class Meta:
        model = ActionItem
        fields = ["text", "owner", "due_date"]
        widgets = {"due_date": DATE_INPUT}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people()


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Speaker's e-mail"))

    def __init__(self, *args, talk: Talk, **kwargs):
        super().__init__(*args, **kwargs)
        self.talk = talk

    def clean(self):
        talk = self.talk
        if talk.kind != Talk.Kind.TECHTALK:
            raise forms.ValidationError(_("Only a Techtalk's outside speaker is invited by link."))
        if talk.is_cancelled or talk.is_over:
            raise forms.ValidationError(_("This talk is cancelled or over: there is nothing to fill in."))
        return super().clean()


class SpeakerForm(forms.ModelForm):
    """What an outside speaker fills in about their talk."""

    photo = forms.FileField(label=_("Photo"), required=False)
    speaker_timezone = forms.ChoiceField(
        label=_("Your time zone"),
        choices=zone_choices,
        required=False,
        help_text=_("The talk page then shows the talk in your time too."),
    )
    recording_consent = forms.TypedChoiceField(
        label=_("May the lab record your talk?"),
        choices=[("yes", _("Yes, the talk may be recorded")), ("no", _("No recording, please"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Talk
        formfield_callback = one_line_fields
        # The model's own fields among what a speaker sends; the consent is a yes/no choice above.
        fields = [name for name in SPEAKER_FIELDS if name != "recording_consent"]
        labels = {"speaker_name": _("Your name"), "speaker_bio": _("A short bio")}
        widgets = {
            "abstract": forms.Textarea(attrs={"rows": 10}),
            "speaker_bio": forms.Textarea(attrs={"rows": 5}),
        }

    field_order = [*Meta.fields, "photo", "recording_consent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["speaker_name"].required = True
        self.fields["speaker_bio"].help_text = _("Markdown.")
        self.fields["photo"].help_text = _("A JPEG or PNG picture of you, up to %(mb).1f MB.") % {
            "mb": photo_max_bytes() / 2**20
        }
        consent = self.instance.recording_consent
        if consent is not None:
            self.initial.setdefault("recording_consent", "yes" if consent else "no")
        if self.instance.is_tba:
            self.initial["title"] = ""

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if title.upper() in ("", TBA):
            raise forms.ValidationError(_("Give your talk its title."))
        return title

    def clean_photo(self) -> UploadedFile | None:
        photo = self.cleaned_data.get("photo")
        if not photo:
            return None
        photo.name = f"photo.{photo_kind(photo)}"
        return photo

    def details(self) -> dict:
        return {name: self.cleaned_data[name] for name in SPEAKER_FIELDS}
