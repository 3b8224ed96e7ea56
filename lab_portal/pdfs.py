"""What a PDF upload (a draft, a talk's slides) may not carry, judged by a PDF parser.

A scan of the raw bytes is passed by a name written with an escape (`/Encr#79pt`), a comment
between a keyword and its value, or an entry inside a compressed object stream; pypdf reads the
file as a viewer does and hands back each object decoded. Every object in the cross-reference
table (object streams included) is looked at, so nothing a viewer can reach is skipped:

- encryption: reviewers could not open it, and the portal could not read it later;
- JavaScript, and actions that launch programs, submit forms or open other files;
- embedded files (attachments), which reach readers without any of these checks;
- HTML before the `%PDF-` header (readers find a header anywhere in the first kilobyte, and a
  browser sniffing the file would find the page: an HTML/PDF polyglot).
"""

import re

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

HEADER = b"%PDF-"
# What a browser sniffing the file would take for HTML, in the bytes a reader skips.
HTML = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|svg|img|a\s|meta|style)", re.IGNORECASE)
HEAD_BYTES = 1024
JAVASCRIPT = {"/JS", "/JavaScript"}
EMBEDDED = {"/EmbeddedFile", "/EmbeddedFiles", "/RichMedia"}
# Action types that run or open something outside the page.
ACTIONS = {"/Launch", "/SubmitForm", "/ImportData", "/GoToE"}


class Refused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


MESSAGES = {
    "not_pdf": _("This is not a PDF: its content does not start like one (a .pdf name is not enough)."),
    "html": _("The file is also a web page (it holds HTML before the PDF); export the PDF again."),
    "unreadable": _("The PDF cannot be read; export it again from the program that made it."),
    "encrypted": _("The PDF is encrypted or password-protected; upload a copy without protection."),
    "javascript": _(
        "The PDF contains JavaScript; export it again without scripts (printing to PDF drops them)."
    ),
    "action": _(
        "The PDF contains an action that opens a program, a file or a form; export it again without it."
    ),
    "embedded": _("The PDF carries embedded files; export it without attachments and share them separately."),
}


class _Reader(PdfReader):
    def _handle_encryption(self, password) -> None:
        # Called while reading when the trailer names an encryption dictionary: the file is
        # refused whatever its password, so before pypdf tries to decrypt (or fails to).
        raise Refused("encrypted")


def check_pdf_content(upload: UploadedFile) -> None:
    """Raise a ValidationError saying what is wrong with the PDF in `upload`; nothing is written.
    The file's position is back at its start afterwards."""
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    try:
        start = head.find(HEADER)
        if start < 0:
            raise Refused("html" if HTML.search(head) else "not_pdf")
        if HTML.search(head[:start]):
            raise Refused("html")
        _check_objects(upload)
    except Refused as refused:
        raise ValidationError(MESSAGES[refused.code], code=refused.code) from None
    finally:
        upload.seek(0)


def _check_objects(upload: UploadedFile) -> None:
    upload.seek(0)
    try:
        reader = _Reader(upload, strict=False)
        for reference in _references(reader):
            _check(reader.get_object(reference))
        _check(reader.trailer)
    except Refused:
        raise
    except Exception:
        raise Refused("unreadable") from None


def _references(reader: PdfReader):
    for generation, numbers in reader.xref.items():
        for number in numbers:
            yield IndirectObject(number, generation, reader)
    for number in reader.xref_objStm:
        yield IndirectObject(number, 0, reader)


def _check(value, depth: int = 0) -> None:
    """Look through one object and the dictionaries and arrays written inside it; referenced
    objects are checked on their own, so references are not followed."""
    if depth > 50:
        raise Refused("unreadable")  # nesting no PDF writer produces
    if isinstance(value, DictionaryObject):
        keys = set(value)
        kind = value.get("/S")
        if keys & JAVASCRIPT or kind in JAVASCRIPT:
            raise Refused("javascript")
        if kind in ACTIONS:
            raise Refused("action")
        if keys & EMBEDDED or value.get("/Type") in EMBEDDED or "/EF" in keys:
            raise Refused("embedded")
        for item in value.values():
            if not isinstance(item, IndirectObject):
                _check(item, depth + 1)
    elif isinstance(value, ArrayObject):
        for item in value:
            if not isinstance(item, IndirectObject):
                _check(item, depth + 1)
    elif isinstance(value, NameObject) and value in JAVASCRIPT:
        raise Refused("javascript")
