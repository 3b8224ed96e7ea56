"""What a draft upload must be, judged by its bytes; a refused upload stores nothing."""

import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.urls import reverse

from lab_portal.tests import pdf_samples
from reviews.models import Draft, DraftVersion
from reviews.tests.factories import make_deadline, make_draft, pdf_bytes, pdf_upload
from reviews.uploads import check_pdf

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
ENCRYPTED = pdf_bytes(trailer=b"/Root 1 0 R /Encrypt 5 0 R /ID [<ab> <ab>]")
# The name written with an escape, and a comment between the key and its value: the same entry
# to a PDF reader, neither seen by a scan for the bytes "/Encrypt 5 0 R".
ENCRYPTED_ESCAPED = pdf_bytes(trailer=b"/Root 1 0 R /Encr#79pt 5 0 R /ID [<ab> <ab>]")
ENCRYPTED_COMMENT = pdf_bytes(trailer=b"/Root 1 0 R /Encrypt % key\n 5 0 R /ID [<ab> <ab>]")

REFUSED = [
    ("renamed non-PDF", PNG, "This is not a PDF"),
    ("encrypted", ENCRYPTED, "The PDF is encrypted or password-protected"),
    ("encrypted, escaped name", ENCRYPTED_ESCAPED, "The PDF is encrypted or password-protected"),
    ("encrypted, comment in the entry", ENCRYPTED_COMMENT, "The PDF is encrypted or password-protected"),
    ("encrypted by pypdf", pdf_samples.encrypted(), "The PDF is encrypted or password-protected"),
    ("document JavaScript", pdf_samples.javascript(), "The PDF contains JavaScript"),
    ("JavaScript on opening", pdf_samples.open_action_javascript(), "The PDF contains JavaScript"),
    ("JavaScript, escaped names", pdf_samples.escaped_javascript(), "The PDF contains JavaScript"),
    ("launch action", pdf_samples.launch(), "an action that opens a program"),
    ("embedded file", pdf_samples.attachment(), "The PDF carries embedded files"),
    ("HTML before the header", pdf_samples.html_polyglot(), "The file is also a web page"),
    ("damaged", b"%PDF-1.7\n" + b"\x00garbage" * 20 + b"\n%%EOF\n", "The PDF cannot be read"),
    ("empty", b"", "The submitted file is empty."),
    ("cut off", pdf_bytes()[:-7], "no end-of-file marker"),
    ("over the limit", pdf_bytes(b"%" + b"x" * 3000), "drafts may be at most 2.0 KB"),
]


def files_in(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def small_limit(settings):
    settings.REVIEW_PDF_MAX_BYTES = 2048


def _new_draft_data(deadline, content: bytes) -> dict:
    return {
        "title": "Sparse attention at scale",
        "abstract": "We make attention sparse.",
        "deadline": deadline.pk,
        "pdf": SimpleUploadedFile("draft.pdf", content, "application/pdf"),
        "note": "First version",
    }


@pytest.mark.parametrize(("case", "content", "message"), REFUSED, ids=[case for case, *_ in REFUSED])
def test_new_draft_with_a_bad_pdf_is_refused_and_stores_nothing(
    login, researcher, review_files, small_limit, case, content, message
):
    deadline = make_deadline()

    response = login(researcher).post(reverse("reviews:new-draft"), _new_draft_data(deadline, content))

    assert response.status_code == 200
    assert message in response.text
    assert not Draft.objects.exists()
    assert not DraftVersion.objects.exists()
    assert files_in(review_files) == []


@pytest.mark.parametrize(("case", "content", "message"), REFUSED, ids=[case for case, *_ in REFUSED])
def test_new_version_with_a_bad_pdf_is_refused_and_stores_nothing(
    login, researcher, review_files, case, content, message, settings
):
    draft = make_draft(researcher)
    before = files_in(review_files)
    settings.REVIEW_PDF_MAX_BYTES = 2048
    upload = SimpleUploadedFile("v2.pdf", content, "application/pdf")

    response = login(researcher).post(
        reverse("reviews:upload-version", args=[draft.pk]), {"pdf": upload, "note": "Shorter intro"}
    )

    assert response.status_code == 200
    assert message in response.text
    assert list(draft.versions.values_list("number", flat=True)) == [1]
    assert files_in(review_files) == before


def test_new_draft_stores_the_pdf_with_its_sha256_and_size(login, researcher, review_files):
    deadline = make_deadline()
    content = pdf_bytes(b"% the paper itself\n")

    response = login(researcher).post(reverse("reviews:new-draft"), _new_draft_data(deadline, content))

    draft = Draft.objects.get()
    version = draft.versions.get()
    assert response.url == draft.get_absolute_url()
    assert version.number == 1
    assert version.sha256 == hashlib.sha256(content).hexdigest()
    assert version.size == len(content)
    assert version.note == "First version"
    assert version.file.open("rb").read() == content
    assert [path.name for path in files_in(review_files)] == ["v1.pdf"]


def test_new_versions_are_numbered_and_keep_their_notes(login, researcher):
    draft = make_draft(researcher)
    client = login(researcher)
    url = reverse("reviews:upload-version", args=[draft.pk])

    client.post(url, {"pdf": pdf_upload(pdf_bytes(b"%v2\n")), "note": "New ablation"})
    client.post(url, {"pdf": pdf_upload(pdf_bytes(b"%v3\n")), "note": "Camera-ready figures"})

    notes = list(draft.versions.order_by("number").values_list("number", "note"))
    assert notes == [(1, "First version"), (2, "New ablation"), (3, "Camera-ready figures")]
    page = client.get(draft.get_absolute_url()).text
    assert "New ablation" in page and "Camera-ready figures" in page


def test_a_version_needs_a_change_note(login, researcher):
    draft = make_draft(researcher)

    response = login(researcher).post(
        reverse("reviews:upload-version", args=[draft.pk]), {"pdf": pdf_upload()}
    )

    assert response.status_code == 200
    assert draft.versions.count() == 1


def test_a_header_after_leading_bytes_is_still_a_pdf():
    # Some tools write a few bytes before the header; readers look in the first kilobyte.
    content = b"\x00" * 500 + pdf_bytes()

    checked = check_pdf(SimpleUploadedFile("a.pdf", content))

    assert checked.size == len(content)


def test_a_header_past_the_first_kilobyte_is_not_a_pdf():
    with pytest.raises(ValidationError, match="not a PDF"):
        check_pdf(SimpleUploadedFile("a.pdf", b" " * 1100 + pdf_bytes()))


def test_the_word_encrypt_in_page_text_is_not_encryption():
    content = pdf_bytes(b"4 0 obj\n<< /Length 40 >>\nstream\nBT (/Encrypt is a PDF key) Tj ET\nendstream\n")

    checked = check_pdf(SimpleUploadedFile("a.pdf", content))

    assert checked.sha256 == hashlib.sha256(content).hexdigest()


def test_an_encrypt_entry_split_across_chunks_is_found():
    # Padding puts "/Encrypt 5 0 R" across the 64 KiB boundary between two chunks.
    start = pdf_bytes()[: pdf_bytes().index(b"trailer")]
    padding = b"%" + b"x" * (65536 - len(start) - len(b"\ntrailer\n<< /Size 3 /Enc") - 1) + b"\n"
    content = start + padding + b"\ntrailer\n<< /Size 3 /Encrypt 5 0 R /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"
    assert content.index(b"/Encrypt") < 65536 < content.index(b"/Encrypt") + 8
    upload = UploadedFile(io.BytesIO(content), name="a.pdf", size=len(content))

    with pytest.raises(ValidationError, match="encrypted"):
        check_pdf(upload)


def test_the_limit_counts_bytes_read_not_only_the_declared_size(settings):
    settings.REVIEW_PDF_MAX_BYTES = 1000
    content = pdf_bytes(b"%" + b"x" * 2000)
    upload = UploadedFile(io.BytesIO(content), name="a.pdf", size=10)

    with pytest.raises(ValidationError, match="larger than"):
        check_pdf(upload)
