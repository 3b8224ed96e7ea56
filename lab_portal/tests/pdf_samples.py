"""Real PDFs written by pypdf, each carrying one thing an upload may not."""

import io

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page() -> PdfWriter:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    return writer


def plain() -> bytes:
    return _written(_page())


def encrypted() -> bytes:
    writer = _page()
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    return _written(writer)


def _script() -> DictionaryObject:
    return DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )


def javascript() -> bytes:
    """A document-level script, in the catalog's name tree as Acrobat runs it on opening."""
    writer = _page()
    scripts = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("hello"), writer._add_object(_script())])}
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): scripts})
    return _written(writer)


def open_action_javascript() -> bytes:
    writer = _page()
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(_script())
    return _written(writer)


def escaped_javascript() -> bytes:
    """The script's names written with #xx escapes, as the PDF syntax allows: a scan for the
    bytes `/JavaScript` or `/JS` finds neither."""
    content = open_action_javascript().replace(b"/JavaScript", b"/Java#53cript").replace(b"/JS ", b"/J#53 ")
    assert b"/JavaScript" not in content and b"/JS " not in content
    return content


def launch() -> bytes:
    writer = _page()
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )
    writer._root_object[NameObject("/OpenAction")] = action
    return _written(writer)


def attachment() -> bytes:
    writer = _page()
    writer.add_attachment("notes.txt", b"hidden")
    return _written(writer)


def html_polyglot() -> bytes:
    return b"<html><body><script>alert(document.cookie)</script></body></html>\n" + plain()
