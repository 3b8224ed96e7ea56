"""The thread under a paper, loaded where papers/paper.html includes papers/thread.html."""

from django import template

from papers.discussion import Thread, load_thread

register = template.Library()


@register.simple_tag(takes_context=True)
def paper_thread(context, paper) -> Thread:
    return load_thread(paper, viewer=context["request"].user)
