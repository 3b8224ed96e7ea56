"""Draft PDFs: where they are kept and what an upload must be before anything is stored.

The files live in the portal's private storage (lab_portal/files.py), which has no URL at all:
the only way to read a draft is `reviews.views.download`, which checks who is asking. An upload
is judged by its bytes, never its name: a PDF header in the first kilobyte (as readers accept),
an end-of-file marker near the end (a cut-off upload has none), no /Encrypt entry (reviewers
cannot open a password-protected file, and the portal could not index it later), and at most
REVIEW_PDF_MAX_BYTES. The SHA-256 is computed in the same pass over the chunks.
"""

import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

HEADER = b"%PDF-"
TRAILER = b"%%EOF"
# Readers accept a header anywhere in the first kilobyte, and tools append a few bytes (a
# newline, a signature block) after the last %%EOF.
HEADER_WINDOW = 1024
TRAILER_WINDOW = 1024
# An encryption dictionary as a trailer or cross-reference stream names it: `/Encrypt 12 0 R`
# or an inline `/Encrypt <<`. Requiring the reference keeps the word in a page's text from
# counting; trailers and xref stream dictionaries are never compressed, so a byte scan finds it.
ENCRYPT_ENTRY = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")
# Long enough to hold an entry split across two chunks.
OVERLAP = 64


def max_bytes() -> int:
    return settings.REVIEW_PDF_MAX_BYTES


def human_size(size: int) -> str:
    return str(filesizeformat(size)).replace("\xa0", " ")


@dataclass(frozen=True)
class CheckedPdf:
    sha256: str
    size: int


def check_pdf(upload: UploadedFile) -> CheckedPdf:
    """Read the upload once; return its digest and size, or raise a ValidationError saying what is
    wrong with it. Nothing is written anywhere."""
    limit = max_bytes()
    if not upload.size:
        raise ValidationError(_("The file is empty."), code="empty")
    if upload.size > limit:
        raise ValidationError(
            _("The file is %(size)s; drafts may be at most %(limit)s."),
            code="too_large",
            params={"size": human_size(upload.size), "limit": human_size(limit)},
        )
    digest, size = hashlib.sha256(), 0
    head, tail, encrypted = b"", b"", False
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
        if size > limit:  # the declared size can be wrong for a stream; the bytes are not
            raise ValidationError(
                _("The file is larger than %(limit)s, the most a draft may be."),
                code="too_large",
                params={"limit": human_size(limit)},
            )
        if len(head) < HEADER_WINDOW:
            head += chunk[: HEADER_WINDOW - len(head)]
        window = tail[-OVERLAP:] + chunk
        encrypted = encrypted or ENCRYPT_ENTRY.search(window) is not None
        tail = (tail + chunk[-TRAILER_WINDOW:])[-TRAILER_WINDOW:]
    upload.seek(0)
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    if HEADER not in head:
        raise ValidationError(
            _("This is not a PDF: its content does not start like one (a .pdf name is not enough)."),
            code="not_pdf",
        )
    if TRAILER not in tail:
        raise ValidationError(
            _("The PDF has no end-of-file marker, so it is probably cut off; export or upload it again."),
            code="truncated",
        )
    if encrypted:
        raise ValidationError(
            _("The PDF is encrypted or password-protected; upload a copy without protection."),
            code="encrypted",
        )
    return CheckedPdf(sha256=digest.hexdigest(), size=size)
