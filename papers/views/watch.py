"""Watch rules: a person's own, and their team's.

Who may see what: every view needs a logged-in person (LoginRequiredMiddleware). A person sees
their own rules and their team's; they edit and delete their own, and a lead also their team's.
Anyone else's rule answers 404; a team rule seen by a member who is not a lead answers 403 to
an edit. The preview reads only the rule typed into the form and the lab's papers.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import watch
from ..forms import MatchDayForm, WatchRuleForm
from ..models import Notification, WatchRule

RECENT_MATCHES = 10
# A day's matches as "and N more" in a chat post links to them: all of them, up to this many.
DAY_MATCHES = 300


def _get_rule_for_user(request: HttpRequest, pk: int) -> WatchRule:
    """A rule the person may edit; 404 for rules they cannot see, 403 for team rules they only see."""
    rule = get_object_or_404(WatchRule.objects.visible_to(request.user).select_related("team"), pk=pk)
    if not rule.editable_by(request.user):
        raise PermissionDenied(_("Only a lead of the team changes its watch rules."))
    return rule


@require_GET
def watch_rules(request: HttpRequest) -> HttpResponse:
    rules = list(WatchRule.objects.visible_to(request.user).select_related("team", "person"))
    for rule in rules:
        rule.can_edit = rule.editable_by(request.user)
    form = MatchDayForm(request.GET)
    day = form.cleaned_data["day"] if form.is_valid() else None
    recent = Notification.objects.filter(person=request.user, kind=Notification.Kind.MATCH)
    if day:
        on_day = Q(paper__first_announced=day) | Q(paper__last_announced=day, version__gt=1)
        recent = recent.filter(on_day).select_related("paper", "rule").order_by("-pk")[:DAY_MATCHES]
    else:
        recent = recent.select_related("paper", "rule").order_by("-created_at", "-pk")[:RECENT_MATCHES]
    context = {"rules": rules, "recent": recent, "day": day}
    return render(request, "papers/watch_rules.html", context)


@require_http_methods(["GET", "POST"])
def watch_rule_new(request: HttpRequest) -> HttpResponse:
    form = WatchRuleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        rule = form.save()
        messages.success(request, _("Watch rule “%(name)s” saved.") % {"name": rule.name})
        return redirect("papers:watch-rules")
    return _form_page(request, form, rule=None)


@require_http_methods(["GET", "POST"])
def watch_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _get_rule_for_user(request, pk)
    form = WatchRuleForm(request.POST or None, instance=rule, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Watch rule “%(name)s” saved.") % {"name": rule.name})
        return redirect("papers:watch-rules")
    return _form_page(request, form, rule=rule)


@require_POST
def watch_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _get_rule_for_user(request, pk)
    rule.delete()
    messages.success(request, _("Watch rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("papers:watch-rules")


@require_GET
def watch_rule_preview(request: HttpRequest) -> HttpResponse:
    """What the rule in the form would have matched lately: the form's partial with htmx, else
    the whole form page (its "Preview" button submits here without htmx)."""
    rule = None
    if pk := request.GET.get("rule", "").strip():
        rule = _get_rule_for_user(request, int(pk)) if pk.isascii() and pk.isdigit() else None
    form = WatchRuleForm(request.GET, user=request.user, instance=rule)
    if request.htmx:
        response = render(request, "papers/watch_rule_form.html#rule-preview", _preview_context(form))
    else:
        response = _form_page(request, form, rule=rule)
    response["Vary"] = "HX-Request"
    return response


def _preview_context(form: WatchRuleForm) -> dict:
    candidate = form.preview_rule()
    return {
        "form": form,
        "preview": watch.preview(candidate) if candidate is not None else None,
        "days": watch.PREVIEW_DAYS,
    }


def _form_page(request: HttpRequest, form: WatchRuleForm, *, rule: WatchRule | None) -> HttpResponse:
    context = {"rule": rule, "preview": None, "days": watch.PREVIEW_DAYS, "form": form}
    if form.is_bound:
        context.update(_preview_context(form))
    return render(request, "papers/watch_rule_form.html", context)
