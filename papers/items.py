"""A paper as one item of an outgoing message (a share, a push, a chat post, a notice of a
comment): its title and opening sentences reach chat readable, and Telegram shows its buttons."""

from django.conf import settings

from lab_portal import chat
from lab_portal.notify import Item

from .models import Paper


def paper_ref(paper: Paper) -> str:
    return f"paper:{paper.arxiv_id}"


def paper_item(paper: Paper, *, why: str = "", portal_url: str = "") -> Item:
    """`paper` as one item of a message: its title and opening sentences reach chat readable, and
    Telegram shows its buttons (labelled in the active language; lab_portal.chat)."""
    ref = paper_ref(paper)
    thread = f"{paper.get_absolute_url()}#thread"
    return Item(
        title=paper.title,
        authors=list(paper.authors),
        why=why,
        portal_url=portal_url or paper.get_absolute_url(),
        external_url=paper.abs_url,
        summary=paper.abstract,
        ref=ref,
        buttons=[
            chat.button("save", ref),
            chat.button("share", ref),
            chat.button("skip", ref),
            chat.button("discuss", ref, url=settings.SITE_URL + thread),
        ],
    )
