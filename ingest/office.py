"""PDF and Word (.docx) files: one note per file, from the text layer and the document metadata."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
import pypdf
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from pydantic import ValidationError

from undertow.ingest.build import build_document
from undertow.ingest.clean import clean_text, is_invisible_only
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, ReadOptions, validation_reason
from undertow.ingest.notes import note_id

log = logging.getLogger(__name__)

# python-docx's blank template carries this creation stamp; a file generated from it without
# setting `created` would otherwise be dated to 2013.
_PYTHON_DOCX_TEMPLATE_STAMP = ("python-docx", dt.datetime(2013, 12, 23, 23, 15, tzinfo=dt.timezone.utc))


class _Unreadable(Exception):
    """The file cannot be read; the message is the one-line reason for the ReadFailure."""


def read_office(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    """A .pdf or .docx file as one note; the account comes from --account."""
    is_pdf = path.suffix.lower() == ".pdf"
    try:
        text, metadata = _pdf_contents(path) if is_pdf else _docx_contents(path)
    except _Unreadable as error:
        yield ReadFailure(str(path), None, str(error))
        return
    if is_invisible_only(text):
        reason = "no text layer (scanned PDF?): run OCR on it and ingest the result" if is_pdf else "no text in the document body"
        yield ReadFailure(str(path), None, reason)
        return
    yield _read_item(path, text, metadata, options)


def _read_item(path: Path, text: str, metadata: dict, options: ReadOptions) -> ReadItem:
    # What the user passed on the command line wins over what the file's metadata says.
    fields = {"source": "note", **metadata, **options.defaults}
    if not fields.get("account_id"):
        return ReadFailure(str(path), None, "no account_id: pass --account")
    fields["id"] = note_id(path)  # like a note: the file, wherever the command was pointed
    fields["text"] = text.strip()
    try:
        document, warnings = build_document(fields, options)
    except (ValidationError, ValueError) as error:
        return ReadFailure(str(path), None, validation_reason(error))
    return ReadDocument(document, str(path), warnings)


@contextmanager
def _pypdf_silenced() -> Iterator[None]:
    """pypdf logs what it repairs or gives up on ("invalid pdf header", "EOF marker not found"), and
    with no handler configured Python prints those warnings on stderr, on top of the one-line
    rejection that already says the file is broken. Its child loggers ("pypdf._reader", ...) take
    their level from "pypdf", so raising that one level silences them all."""
    pypdf_log = logging.getLogger("pypdf")
    previous = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        pypdf_log.setLevel(previous)


def _pdf_contents(path: Path) -> tuple[str, dict]:
    with _pypdf_silenced():
        return _pdf_read(path)


def _pdf_read(path: Path) -> tuple[str, dict]:
    try:
        reader = pypdf.PdfReader(path)
        # Many PDFs are encrypted only to restrict printing or copying, with an empty user password.
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Unreadable("encrypted PDF: save a copy without a password and ingest that")
        text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
        info = reader.metadata
        title = info.title if info else None
    except _Unreadable:
        raise
    except pypdf.errors.DependencyError as error:
        raise _Unreadable(f"encrypted PDF: {_one_line(error)}") from None
    except Exception as error:
        # pypdf raises many exception types (KeyError, ValueError, zlib.error, ...) on malformed
        # files; from a customer's file any of them means "this PDF is broken", not a bug here.
        log.debug("cannot read %s", path, exc_info=True)
        raise _Unreadable(f"unreadable PDF: {_one_line(error)}") from None
    return text, _metadata(title, _pdf_created(info))


def _pdf_created(info) -> dt.datetime | None:
    try:
        return info.creation_date if info else None
    except (ValueError, TypeError):
        return None  # a malformed /CreationDate only loses the date, not the document


def _docx_contents(path: Path) -> tuple[str, dict]:
    try:
        document = docx.Document(str(path))
        text = "\n".join(_block_text(block) for block in document.iter_inner_content())
        properties = document.core_properties
        title, created, author = properties.title, properties.created, properties.author
    except PackageNotFoundError:
        raise _Unreadable("not a .docx package (password-protected, or an old .doc renamed?)") from None
    except Exception as error:
        # Like pypdf, python-docx and lxml raise assorted types on damaged files.
        log.debug("cannot read %s", path, exc_info=True)
        raise _Unreadable(f"unreadable .docx: {_one_line(error)}") from None
    if (author, created) == _PYTHON_DOCX_TEMPLATE_STAMP:
        created = None
    return text, _metadata(title, created)


def _block_text(block) -> str:
    if not isinstance(block, Table):
        return block.text
    rows = []
    for row in block.rows:
        cells: list[str] = []
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans, so a repeat is dropped.
            if not cells or cells[-1] != cell.text:
                cells.append(cell.text)
        rows.append(" | ".join(cells))
    return "\n".join(rows)


def _metadata(title: str | None, created: dt.datetime | None) -> dict:
    metadata: dict = {}
    if title and title.strip():
        metadata["subject"] = clean_text(title).strip()
    if created is not None:
        # Stored naive in UTC, like every other date (see documents.parse_date).
        if created.tzinfo is not None:
            created = created.astimezone(dt.timezone.utc).replace(tzinfo=None)
        metadata["date"] = created
    return metadata


def _one_line(error: Exception) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, pypdf.errors.PyPdfError) and message:
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
