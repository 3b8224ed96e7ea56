"""LaTeX as readable Unicode in e-mail templates, where nothing typesets it (lab_portal.latex)."""

from django import template

from lab_portal import latex

register = template.Library()


@register.filter
def readable(text: str) -> str:
    """`{{ paper.title|readable }}`: "$\\mathcal{O}(\\sqrt{T})$" as "𝒪(√(T))"; still autoescaped."""  # noqa: RUF002
    return latex.readable(text or "")


@register.filter
def lead(text: str) -> str:
    """`{{ paper.abstract|lead }}`: the first sentence or two, readable."""
    return latex.lead(text or "")
