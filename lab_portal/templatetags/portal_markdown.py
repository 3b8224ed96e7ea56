from django import template
from django.utils.safestring import SafeString

from lab_portal.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown(text: str) -> SafeString:
    """`{{ talk.abstract|markdown }}`: Markdown with math, sanitised."""
    return render_markdown(text)
