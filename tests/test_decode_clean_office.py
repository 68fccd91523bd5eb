"""Decoding bytes to text, cleaning it for the classifier, and reading PDF and .docx notes."""

from __future__ import annotations

import datetime as dt
import io
import logging
import random
from pathlib import Path

import docx
import pypdf
import pytest

from undertow.ingest.clean import clean_text, is_invisible_only
from undertow.ingest.decode import RejectedInput, decode_bytes, read_text_file
from undertow.ingest.items import ReadDocument, ReadFailure, ReadOptions
from undertow.ingest.office import read_office

ACCOUNT = {"account_id": "acme"}


def read_docx(path: Path, defaults: dict):
    return list(read_office(path, ReadOptions(defaults=defaults)))


read_pdf = read_docx


def random_bytes(count: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(count)


# --- decode -----------------------------------------------------------------------------------


def test_utf8_decodes_silently():
    decoded = decode_bytes("Größe, café — “quoted”".encode("utf-8"), "note.txt")
    assert (decoded.text, decoded.guessed, decoded.warning) == ("Größe, café — “quoted”", False, None)


def test_utf8_bom_is_dropped_silently():
    decoded = decode_bytes(b"\xef\xbb\xbf" + "café".encode("utf-8"), "note.txt")
    assert (decoded.text, decoded.guessed, decoded.warning) == ("café", False, None)


def test_utf16_with_bom_decodes_silently():
    decoded = decode_bytes("Kunde möchte kündigen".encode("utf-16"), "note.txt")
    assert (decoded.text, decoded.guessed) == ("Kunde möchte kündigen", False)


def test_utf16_without_bom_is_guessed_from_its_nul_pattern():
    decoded = decode_bytes("The customer wants to cancel.\n".encode("utf-16-le"), "note.txt")
    assert decoded.text == "The customer wants to cancel.\n" and decoded.guessed


def test_cp1252_is_guessed_and_reads_the_right_accents():
    decoded = decode_bytes("Größe, café, naïve".encode("cp1252"), "export.csv")
    # cp1250 decodes the same bytes without error but reads "naïve" as "naďve".
    assert decoded.text == "Größe, café, naïve"
    assert decoded.guessed and decoded.encoding == "cp1252"
    assert decoded.warning == "not UTF-8; read as cp1252 (guessed)"


def test_cp1252_preference_does_not_override_a_clear_central_european_text():
    text = "Příliš žluťoučký kůň úpěl ďábelské ódy. Zákazník chce zrušit smlouvu."
    decoded = decode_bytes(text.encode("cp1250"), "note.txt")
    assert decoded.text == text and decoded.guessed


def test_elf_executable_is_rejected_as_binary():
    with pytest.raises(RejectedInput, match=r"binary file \(ELF executable\)"):
        decode_bytes(b"\x7fELF\x02\x01\x01" + random_bytes(2000, seed=1), "tool.txt")


@pytest.mark.parametrize(
    "data",
    [
        random_bytes(4096, seed=2),
        # Without NUL bytes random data gets past the NUL check and must fail on decoding.
        random_bytes(4096, seed=3).replace(b"\x00", b""),
    ],
    ids=["with-nul", "without-nul"],
)
def test_random_bytes_are_rejected(data):
    with pytest.raises(RejectedInput, match="binary"):
        decode_bytes(data, "blob.txt")


def test_stray_nul_in_utf8_text_is_rejected_as_binary():
    with pytest.raises(RejectedInput, match="NUL"):
        decode_bytes(b"our champion is leav\x00ing", "note.txt")


def test_zip_named_docx_says_to_read_it_as_docx():
    with pytest.raises(RejectedInput, match=r"\.docx"):
        decode_bytes(b"PK\x03\x04" + random_bytes(100, seed=4), "notes.docx")


def test_empty_file_is_rejected(tmp_path: Path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(RejectedInput, match="^empty file$"):
        read_text_file(path)


def test_only_zero_width_characters_and_spaces_is_rejected(tmp_path: Path):
    path = tmp_path / "blank.txt"
    path.write_text(" \u200b \u200d\u2060\n\t\ufeff \u00ad ", encoding="utf-8")
    with pytest.raises(RejectedInput, match="no readable text"):
        read_text_file(path)


def test_mostly_control_characters_is_rejected():
    with pytest.raises(RejectedInput, match="control characters"):
        decode_bytes(b"\x01\x02\x03abc\x04\x05\x06\x07", "note.txt")


# --- clean ------------------------------------------------------------------------------------


def test_invisible_characters_inside_a_word_are_removed_not_spaced():
    assert clean_text("Our champion Mar\u200bia is leav\x00ing the company") == "Our champion Maria is leaving the company"


def test_ordinary_text_is_returned_unchanged():
    text = "Renewal call: Größe ok, 3 seats (down from 5).\n\tNext step — send the quote."
    assert clean_text(text) == text


def test_removal_between_spaces_leaves_one_space_and_other_spacing_is_kept():
    assert clean_text("price  is \u200b high") == "price  is high"


def test_line_ends_and_layout_controls_become_newlines():
    assert clean_text("one\r\ntwo\rthree\x0bfour\x0cfive") == "one\ntwo\nthree\nfour\nfive"


def test_bidi_controls_and_soft_hyphens_are_removed():
    assert clean_text("\u202eevil\u202c can\u00adcel") == "evil cancel"


def test_text_is_nfc_normalised():
    assert clean_text("cafe\u0301") == "café"


def test_cleaning_twice_changes_nothing():
    once = clean_text("a \u200b b\r\nMar\u200bia\x00 cafe\u0301")
    assert clean_text(once) == once


def test_quote_offsets_in_the_cleaned_text_are_verbatim():
    cleaned = clean_text("Call notes.\r\nOur champion Mar\u200bia is leav\x00ing the company in May.")
    quote = "Maria is leaving the company"
    start = cleaned.index(quote)
    assert cleaned[start : start + len(quote)] == quote
    assert start == len("Call notes.\nOur champion ")


def test_is_invisible_only():
    assert is_invisible_only(" \u200b\u200c\n\ufeff\t")
    assert is_invisible_only("\u3164 ")  # Hangul filler renders blank
    assert not is_invisible_only(" \u200bx")


# --- docx -------------------------------------------------------------------------------------


def write_docx(path: Path, title: str = "", paragraphs: tuple[str, ...] = (), created: dt.datetime | None = None) -> Path:
    document = docx.Document()
    document.core_properties.title = title
    if created:
        document.core_properties.created = created
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


def test_docx_reads_back_text_title_and_date(tmp_path: Path):
    path = write_docx(
        tmp_path / "qbr.docx",
        title="QBR with Acme",
        paragraphs=("Budget is frozen until Q3.", "Our champion Maria is leaving the company."),
        # python-docx writes `created` as UTC whatever its tzinfo says, so give it UTC.
        created=dt.datetime(2026, 9, 14, 8, 22, tzinfo=dt.timezone.utc),
    )
    (item,) = read_docx(path, ACCOUNT)
    assert isinstance(item, ReadDocument), item
    document = item.document
    assert document.text == "Budget is frozen until Q3.\nOur champion Maria is leaving the company."
    assert document.subject == "QBR with Acme"
    assert document.date == dt.datetime(2026, 9, 14, 8, 22)  # naive UTC
    assert (document.source, document.account_id) == ("note", "acme") and document.id.startswith("qbr-")


def test_docx_table_text_is_read_in_document_order(tmp_path: Path):
    document = docx.Document()
    document.add_paragraph("Before")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Risk", "Champion leaving"
    document.add_paragraph("After")
    document.save(str(tmp_path / "t.docx"))
    (item,) = read_docx(tmp_path / "t.docx", ACCOUNT)
    assert item.document.text == "Before\nRisk | Champion leaving\nAfter"


def test_docx_defaults_win_over_metadata_and_template_date_is_ignored(tmp_path: Path):
    path = write_docx(tmp_path / "n.docx", title="Title", paragraphs=("Some text.",))
    (item,) = read_docx(path, {**ACCOUNT, "date": "2026-01-02", "source": "call_note"})
    assert item.document.date == dt.datetime(2026, 1, 2) and item.document.source == "call_note"
    (item,) = read_docx(path, ACCOUNT)
    assert item.document.date is None  # python-docx's blank template is stamped 2013-12-23


def test_docx_without_account_fails_with_the_fix(tmp_path: Path):
    (item,) = read_docx(write_docx(tmp_path / "n.docx", paragraphs=("Text.",)), {})
    assert isinstance(item, ReadFailure) and item.reason == "no account_id: pass --account"


def test_docx_id_is_the_file_wherever_it_is_read_from(tmp_path: Path):
    path = write_docx(tmp_path / "n.docx", title="T", paragraphs=("Text.",))
    (first,) = read_docx(path, ACCOUNT)
    (again,) = read_docx(tmp_path / "." / "n.docx", ACCOUNT)
    assert first.document.id == again.document.id
    path.rename(tmp_path / "m.docx")
    (moved,) = read_docx(tmp_path / "m.docx", ACCOUNT)
    assert moved.document.id != first.document.id


@pytest.mark.parametrize("data", [b"", b"plain text, not a zip", b"PK\x03\x04" + bytes(200)], ids=["empty", "text", "broken-zip"])
def test_corrupt_docx_is_a_failure_not_an_exception(tmp_path: Path, data: bytes):
    path = tmp_path / "broken.docx"
    path.write_bytes(data)
    (item,) = read_docx(path, ACCOUNT)
    assert isinstance(item, ReadFailure) and item.reason


def test_truncated_docx_is_a_failure(tmp_path: Path):
    whole = write_docx(tmp_path / "whole.docx", paragraphs=("Text.",)).read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(whole[: len(whole) // 2])
    (item,) = read_docx(path, ACCOUNT)
    assert isinstance(item, ReadFailure)


def test_docx_with_empty_body_is_a_failure(tmp_path: Path):
    (item,) = read_docx(write_docx(tmp_path / "e.docx", title="Only a title"), ACCOUNT)
    assert isinstance(item, ReadFailure) and "no text" in item.reason


# --- pdf --------------------------------------------------------------------------------------


def build_pdf(content: bytes, info: bytes = b"") -> bytes:
    """A one-page PDF around `content` (a content stream), with a correct xref table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if info:
        objects.append(info)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"<< /Size %d /Root 1 0 R%s >>" % (len(objects) + 1, b" /Info 6 0 R" if info else b"")
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


TEXT_PDF = build_pdf(
    b"BT /F1 12 Tf 72 712 Td (Our champion Maria is leaving the company.) Tj ET",
    b"<< /Title (Renewal call) /CreationDate (D:20260914102200+02'00') >>",
)


def test_pdf_reads_back_text_title_and_date(tmp_path: Path):
    path = tmp_path / "call.pdf"
    path.write_bytes(TEXT_PDF)
    (item,) = read_pdf(path, ACCOUNT)
    assert isinstance(item, ReadDocument), item
    assert item.document.text == "Our champion Maria is leaving the company."
    assert item.document.subject == "Renewal call"
    assert item.document.date == dt.datetime(2026, 9, 14, 8, 22)
    assert item.origin == str(path)


def test_pdf_without_account_fails_with_the_fix(tmp_path: Path):
    path = tmp_path / "call.pdf"
    path.write_bytes(TEXT_PDF)
    (item,) = read_pdf(path, {})
    assert isinstance(item, ReadFailure) and item.reason == "no account_id: pass --account"


def test_pdf_with_only_drawing_has_no_text_layer(tmp_path: Path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(build_pdf(b"0 0 1 rg 72 72 200 200 re f"))
    (item,) = read_pdf(path, ACCOUNT)
    assert isinstance(item, ReadFailure) and item.reason.startswith("no text layer (scanned PDF?)")


@pytest.mark.parametrize("keep", [40, len(TEXT_PDF) // 2, len(TEXT_PDF) - 30], ids=["header", "half", "no-trailer"])
def test_truncated_pdf_is_a_failure_not_an_exception(tmp_path: Path, keep: int):
    path = tmp_path / "cut.pdf"
    path.write_bytes(TEXT_PDF[:keep])
    (item,) = read_pdf(path, ACCOUNT)
    assert isinstance(item, ReadFailure) and item.reason.startswith("unreadable PDF: ")
    assert "\n" not in item.reason


def test_garbage_named_pdf_is_a_failure(tmp_path: Path):
    path = tmp_path / "junk.pdf"
    path.write_bytes(random_bytes(3000, seed=5))
    (item,) = read_pdf(path, ACCOUNT)
    assert isinstance(item, ReadFailure)


def test_broken_pdf_is_one_rejection_without_pypdf_log_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    # With no handler configured, Python prints pypdf's warnings on stderr above the rejection.
    caplog.set_level(logging.INFO, logger="pypdf")  # as an application that wants pypdf's notes would
    path = tmp_path / "fake.pdf"
    path.write_bytes(b"not a pdf\n")
    (item,) = read_pdf(path, ACCOUNT)
    assert isinstance(item, ReadFailure) and item.reason.startswith("unreadable PDF: ")
    assert [record.getMessage() for record in caplog.records if record.name.startswith("pypdf")] == []
    assert logging.getLogger("pypdf").level == logging.INFO  # silenced while reading, not for good


def test_password_protected_pdf_is_a_failure(tmp_path: Path):
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    path = tmp_path / "locked.pdf"
    path.write_bytes(buffer.getvalue())
    (item,) = read_pdf(path, ACCOUNT)
    assert isinstance(item, ReadFailure) and item.reason.startswith("encrypted PDF")
