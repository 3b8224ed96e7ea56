"""The thread under a paper, loaded where papers/paper.html includes papers/thread.html."""

from django import template

from papers.comments import Thread, load_thread
from papers.forms import ShareForm

register = template.Library()


@register.simple_tag(takes_context=True)
def paper_thread(context, paper) -> Thread:
    return load_thread(paper, viewer=context["request"].user)


@register.simple_tag(takes_context=True)
def share_form_for(context, paper) -> ShareForm:
    """The paper page's share form, addressed as the viewer last shared."""
    return ShareForm(sharer=context["request"].user, paper=paper)
