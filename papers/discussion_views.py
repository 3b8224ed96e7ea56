"""Sharing papers, paper threads and the person's Atom feeds.

Who may see what: everything needs a logged-in person, except the Atom feeds, which carry a
secret key instead (a revoked or unknown key answers 404). Anyone may share any paper with the
lab, its teams or its people; the Lab page shows only what was shared with the whole lab. Threads
and reactions are the whole lab's, and anyone may follow one; only a comment's author edits or
deletes it (403 for anyone else; a deleted comment is 404). Feed keys are their owner's alone:
anyone else's answer 404.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import linebreaks
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from lab_portal.forms import form_errors
from lab_portal.models import Team, User

from . import comments, lab_page, sharing
from .models import Bookmark, Comment, FeedToken, Paper, Reaction, Tag
from .views import _back as back

COMMENT_MAX = 10_000


class ShareForm(forms.Form):
    """A note and whom it goes to: the lab, teams, people (by default whom the sharer chose last)."""

    note = forms.CharField(
        label=gettext_lazy("Why they should read it"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": gettext_lazy("Must read because …")}),
    )
    lab = forms.BooleanField(label=gettext_lazy("The whole lab"), required=False)
    teams = forms.ModelMultipleChoiceField(
        Team.objects.all(), label=gettext_lazy("Teams"), required=False, widget=forms.CheckboxSelectMultiple
    )
    people = forms.ModelMultipleChoiceField(
        User.objects.none(), label=gettext_lazy("People"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, sharer, paper: Paper, **kwargs):
        kwargs.setdefault("auto_id", f"share-{paper.pk}-%s")  # the feed may show several forms at once
        if not args and "initial" not in kwargs:
            chosen = sharing.last_recipients(sharer)
            kwargs["initial"] = {"lab": chosen.lab, "teams": chosen.teams, "people": chosen.people}
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = User.objects.active().exclude(pk=sharer.pk)

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and not self.recipients():
            raise forms.ValidationError(_("Choose the lab, a team or a person to share with."))
        return data

    def recipients(self) -> sharing.Recipients:
        data = self.cleaned_data
        teams, people = tuple(data.get("teams", ())), tuple(data.get("people", ()))
        return sharing.Recipients(lab=data.get("lab", False), teams=teams, people=people)

    @property
    def recipients_label(self) -> str:
        """Whom the share goes to, in words: "the lab, Vision, Taeho Yoon"."""
        if self.is_bound:
            self.is_valid()  # what was chosen validly, even beside a missing note
            return self.recipients().label
        return sharing.Recipients(
            lab=bool(self.initial.get("lab")),
            teams=tuple(self.initial.get("teams", ())),
            people=tuple(self.initial.get("people", ())),
        ).label


class FollowForm(forms.Form):
    """Following on or off, said outright so that a second click changes nothing."""

    follow = forms.TypedChoiceField(choices=[("on", "on"), ("off", "off")], coerce="on".__eq__)


class CommentForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Comment"), max_length=COMMENT_MAX)
    parent = forms.IntegerField(required=False)


def _get_paper(arxiv_id: str) -> Paper:
    return get_object_or_404(Paper, arxiv_id=arxiv_id)


def _get_comment(pk: int) -> Comment:
    # A deleted comment can no longer be reacted to, edited or deleted: it is gone for the thread.
    return get_object_or_404(
        Comment.objects.select_related("paper", "author"), pk=pk, deleted_at__isnull=True
    )


def _get_comment_for_author(request: HttpRequest, pk: int) -> Comment:
    comment = _get_comment(pk)
    if not comment.editable_by(request.user):
        raise PermissionDenied
    return comment


def _get_feed_token(key: str) -> FeedToken:
    token = FeedToken.for_key(key)
    if token is None:
        raise Http404
    return token


def _get_own_feed_token(request: HttpRequest, pk: int) -> FeedToken:
    return get_object_or_404(FeedToken, pk=pk, person=request.user)


# Sharing ----------------------------------------------------------------------------------------


def lab(request: HttpRequest) -> HttpResponse:
    """What the lab shared in the last three months, most interesting first (see interest_score)."""
    papers = lab_page.lab_papers()
    saved = set(
        Bookmark.objects.filter(user=request.user, paper__in=papers).values_list("paper_id", flat=True)
    )
    for paper in papers:
        paper.is_bookmarked = paper.pk in saved
    return render(request, "papers/lab.html", {"papers": papers})


def _share_context(paper: Paper, form: ShareForm, *, next_url: str) -> dict:
    # `next` goes back where the form came from (checked when it is used); the note takes the focus.
    return {"paper": paper, "share_form": form, "next": next_url, "focus": True}


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def share(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Share a paper with the lab, teams or people: GET shows the form (its partial for htmx, under
    a paper of the feed), POST shares. Any member of the lab (a login), for any paper."""
    paper = _get_paper(arxiv_id)
    if request.method == "GET":
        form = ShareForm(sharer=request.user, paper=paper)
        template = "papers/share.html#share-form" if request.htmx else "papers/share.html"
        return render(request, template, _share_context(paper, form, next_url=request.GET.get("next", "")))
    form = ShareForm(request.POST, sharer=request.user, paper=paper)
    if not form.is_valid():
        if request.htmx:
            context = _share_context(paper, form, next_url=request.POST.get("next", ""))
            return render(request, "papers/share.html#share-form", context)
        messages.error(request, _("Not shared: %(errors)s") % {"errors": form_errors(form)})
        return back(request, paper.get_absolute_url())
    sharing.share_paper(
        paper, sharer=request.user, note=form.cleaned_data["note"], recipients=form.recipients()
    )
    if request.htmx:
        context = {"paper": paper, "recipients": form.recipients_label}
        return render(request, "papers/share.html#share-done", context)
    messages.success(request, _("Shared with %(recipients)s.") % {"recipients": form.recipients_label})
    return back(request, reverse("papers:lab") if form.cleaned_data["lab"] else paper.get_absolute_url())


# Threads ----------------------------------------------------------------------------------------


@require_POST
@vary_on_headers("HX-Request")
def follow(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """Follow a paper's thread, or stop: one's own following only, for any paper (a login)."""
    paper = _get_paper(arxiv_id)
    form = FollowForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Say on or off."))
    following = form.cleaned_data["follow"]
    if following:
        comments.follow_thread(paper, person=request.user)
    else:
        comments.unfollow_thread(paper, person=request.user)
    if request.htmx:
        return render(request, "papers/thread.html#follow-button", {"paper": paper, "following": following})
    if following:
        messages.success(request, _("You follow this thread: every new comment reaches you."))
    else:
        messages.success(request, _("You no longer follow this thread."))
    return redirect(f"{paper.get_absolute_url()}#thread")


@require_POST
@vary_on_headers("HX-Request")
def comment_new(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = _get_paper(arxiv_id)
    form = CommentForm(request.POST)
    valid = form.is_valid()
    parent = None
    # The parent is checked even when the body is refused: the errors go back to its reply form.
    if form.cleaned_data.get("parent"):
        parent = _get_comment(form.cleaned_data["parent"])
        if parent.paper_id != paper.pk:
            raise Http404
    if not valid:
        if request.htmx:
            context = {
                "paper": paper,
                "parent": parent,
                "body": request.POST.get("body", ""),
                "errors": form.errors,
            }
            response = render(request, "papers/thread.html#comment-form", context)
            # The form aimed at the list; a refused post replaces the form, with its errors.
            form_id = f"reply-form-{parent.pk}" if parent else f"comment-form-{paper.pk}"
            return reswap(retarget(response, f"#{form_id}"), "outerHTML")
        messages.error(request, _("Not posted: %(errors)s") % {"errors": form_errors(form)})
        return redirect(f"{paper.get_absolute_url()}#thread")
    comment = comments.post_comment(paper, author=request.user, body=form.cleaned_data["body"], parent=parent)
    if request.htmx:
        context = {
            "paper": paper,
            "parent": parent,
            "comment": comments.load_comment(comment.pk, viewer=request.user),
        }
        return render(request, "papers/thread.html#comment-posted", context)
    messages.success(request, _("Comment posted."))
    return redirect(comments.comment_url(comment))


@require_POST
@vary_on_headers("HX-Request")
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _get_comment_for_author(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid() and not comments.edit_comment(comment, body=form.cleaned_data["body"]):
        form.add_error(None, _("The comment was deleted meanwhile; the edit was not saved."))
    if request.htmx:
        shown = comments.load_comment(comment.pk, viewer=request.user)
        context = {"comment": shown, "paper": comment.paper, "errors": form.errors}
        return render(request, "papers/thread.html#comment", context)
    if form.is_valid():
        messages.success(request, _("Comment saved."))
    else:
        messages.error(request, _("Not saved: %(errors)s") % {"errors": form_errors(form)})
    return redirect(comments.comment_url(comment))


@require_POST
@vary_on_headers("HX-Request")
def comment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _get_comment_for_author(request, pk)
    comments.delete_comment(comment)
    if request.htmx:
        shown = comments.load_comment(comment.pk, viewer=request.user)
        return render(request, "papers/thread.html#comment", {"comment": shown, "paper": comment.paper})
    messages.success(request, _("Comment deleted."))
    return redirect(f"{comment.paper.get_absolute_url()}#thread")


@require_POST
@vary_on_headers("HX-Request")
def comment_react(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _get_comment(pk)
    emoji = request.POST.get("emoji", "")
    if emoji not in Reaction.Emoji.values:
        return HttpResponseBadRequest(_("Unknown reaction."))
    comments.toggle_reaction(comment, person=request.user, emoji=emoji)
    if request.htmx:
        shown = comments.load_comment(comment.pk, viewer=request.user)
        return render(request, "papers/thread.html#reactions", {"comment": shown})
    return redirect(comments.comment_url(comment))


# Feeds ------------------------------------------------------------------------------------------


def feeds(request: HttpRequest) -> HttpResponse:
    """The person's secret feed URLs (the Lab page and each of their tags), with their key."""
    token = FeedToken.current(request.user)
    tags = list(Tag.objects.filter(user=request.user).order_by("name"))
    urls = []
    if token:
        urls.append(
            (_("The Lab page"), request.build_absolute_uri(reverse("papers:lab-atom", args=[token.key])))
        )
        urls += [
            (
                _("Tag “%(tag)s”") % {"tag": tag.name},
                request.build_absolute_uri(reverse("papers:tag-atom", args=[token.key, tag.pk])),
            )
            for tag in tags
        ]
    return render(request, "papers/feeds.html", {"token": token, "urls": urls})


@require_POST
def feed_key_new(request: HttpRequest) -> HttpResponse:
    FeedToken.renew(request.user)
    messages.success(request, _("New feed key created: the old feed addresses no longer work."))
    return redirect("papers:feeds")


@require_POST
def feed_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = _get_own_feed_token(request, pk)
    token.revoke()
    messages.success(request, _("Feed key revoked: its feed addresses no longer work."))
    return redirect("papers:feeds")


def _atom(request: HttpRequest, *, title: str, link: str, entries: list[dict]) -> HttpResponse:
    feed = Atom1Feed(
        title=title,
        link=request.build_absolute_uri(link),
        description="",
        feed_url=request.build_absolute_uri(),
        language=settings.LANGUAGE_CODE,
    )
    for entry in entries:
        paper = entry["paper"]
        url = request.build_absolute_uri(paper.get_absolute_url())
        feed.add_item(
            title=paper.title,
            link=url,
            unique_id=url,
            # The summary is HTML in Atom: the note or abstract is text, escaped here.
            description=linebreaks(entry["summary"], autoescape=True),
            author_name=", ".join(paper.authors),
            pubdate=entry["updated"],
            updateddate=entry["updated"],
            categories=paper.categories,
        )
    return HttpResponse(feed.writeString("utf-8"), content_type="application/atom+xml; charset=utf-8")


@login_not_required
def lab_atom(request: HttpRequest, key: str) -> HttpResponse:
    _get_feed_token(key)
    entries = []
    for paper in lab_page.lab_papers():
        notes = "\n\n".join(
            f"{share.person.name}: {share.note}" for share in paper.shares.all() if share.note
        )
        entries.append({"paper": paper, "summary": notes or paper.abstract, "updated": paper.last_shared})
    return _atom(request, title=_("Shared with the lab"), link=reverse("papers:lab"), entries=entries)


@login_not_required
def tag_atom(request: HttpRequest, key: str, tag_id: int) -> HttpResponse:
    token = _get_feed_token(key)
    tag_obj = get_object_or_404(Tag, user=token.person, pk=tag_id)
    bookmarks = Bookmark.objects.filter(user=token.person, tags=tag_obj).select_related("paper")[:100]
    entries = [{"paper": b.paper, "summary": b.paper.abstract, "updated": b.created_at} for b in bookmarks]
    title = _("Papers %(name)s tagged “%(tag)s”") % {"name": token.person.name, "tag": tag_obj.name}
    return _atom(request, title=title, link=tag_obj.get_absolute_url(), entries=entries)


@login_not_required
def tag_atom_by_name(request: HttpRequest, key: str, name: str) -> HttpResponse:
    token = _get_feed_token(key)
    tag = get_object_or_404(Tag, user=token.person, name=name)
    return redirect("papers:tag-atom", key=key, tag_id=tag.pk, permanent=True)
