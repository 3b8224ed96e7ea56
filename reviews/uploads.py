"""Draft PDFs: where they are kept and what an upload must be before anything is stored.

The files live in the portal's private storage (lab_portal/files.py), which has no URL at all:
the only way to read a draft is `reviews.views.drafts.download`, which checks who is asking. An upload
is judged by its bytes, never its name: at most REVIEW_PDF_MAX_BYTES, an end-of-file marker near
the end (a cut-off upload has none), and what lab_portal.pdfs asks of every PDF the portal keeps
(read by a PDF parser: no encryption, scripts, launch actions or attachments, nothing before the
header). The SHA-256 is computed in the same pass over the chunks.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from lab_portal.pdfs import HEAD_BYTES, HEADER, check_pdf_content

TRAILER = b"%%EOF"
# Tools append a few bytes (a newline, a signature block) after the last %%EOF.
TRAILER_WINDOW = 1024


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
    tail = b""
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
        tail = (tail + chunk[-TRAILER_WINDOW:])[-TRAILER_WINDOW:]
    upload.seek(0)
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    is_pdf = HEADER in upload.read(HEAD_BYTES)
    upload.seek(0)
    if is_pdf and TRAILER not in tail:
        raise ValidationError(
            _("The PDF has no end-of-file marker, so it is probably cut off; export or upload it again."),
            code="truncated",
        )
    check_pdf_content(upload)
    return CheckedPdf(sha256=digest.hexdigest(), size=size)
