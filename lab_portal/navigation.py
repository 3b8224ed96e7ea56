"""Where a form sends its person back to: the page it came from (its `next`), if that page is one
of ours, so a posted `next` can never redirect someone to another site."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest) -> str:
    """The form's `next`, if it is one of ours; empty otherwise."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Redirect to the form's `next` if it is one of ours, else to `fallback`."""
    return redirect(safe_next(request) or fallback)
