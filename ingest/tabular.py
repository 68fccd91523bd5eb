"""CSV exports of notes and tickets, with a column mapping for real CRM/helpdesk exports."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from undertow.columns import header_key, match_columns
from undertow.documents import SOURCES
from undertow.ingest.build import build_document
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, ReadOptions, validation_reason
from undertow.ingest.textfile import open_text

# Headers seen in Zendesk, HubSpot, Salesforce and Intercom exports, mapped to our fields.
# An explicit mapping (--map field=Column) always wins over these guesses.
KNOWN_HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("id", "ticket id", "ticket_id", "note id", "engagement id", "activity id", "case number", "conversation id"),
    "account_id": ("account_id", "account id", "organization id", "company id", "organization", "company", "account"),
    "account_name": ("account_name", "account name", "organization name", "company name"),
    "source": ("source", "type", "channel"),
    "date": ("date", "created at", "created_at", "created", "create date", "timestamp", "activity date"),
    "author": ("author", "requester", "owner", "created by", "assignee", "agent"),
    "language": ("language", "locale"),
    "subject": ("subject", "title", "summary"),
    "text": ("text", "description", "body", "note body", "comment", "notes", "message", "content"),
}
REQUIRED = ("text", "account_id")


def resolve_columns(header: list[str], mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """field -> column. Returns the missing required fields too, so the error can list them."""
    match = match_columns(header, KNOWN_HEADERS, mapping, required=REQUIRED)
    problems = [f"{name} (not a field; the fields are {', '.join(KNOWN_HEADERS)})" for name in match.unknown_fields]
    problems += [f"{name} (mapped to column {column!r}, which is not in the header)" for name, column in match.absent_columns.items()]
    return match.columns, problems or match.missing


def account_slug(value: str) -> str:
    """How a CSV export's account names become account ids: 'Acme Corp' -> acme-corp."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def sniff_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """Comma, semicolon (European Excel), tab or pipe, whichever the header and first rows agree on;
    the one a first line `sep=;` names, when there is one (the reader skips that line:
    `excel_separator`)."""
    separator = excel_separator(sample)
    if separator is not None:
        return type("excel_sep", (csv.excel,), {"delimiter": separator})
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def excel_separator(sample: str) -> str | None:
    """The delimiter a first line such as `sep=;` names, or None. Excel writes that line to say
    which delimiter it used, and reads it back; it is not the header."""
    first = sample.split("\n", 1)[0].removesuffix("\r")
    found = re.fullmatch(r'"?sep=(.)"?', first, flags=re.IGNORECASE)
    return found.group(1) if found else None


def repeated_column(header: list[str], columns: dict[str, str], mapping: dict[str, str]) -> str | None:
    """Why the file cannot be read as mapped when a column a field reads appears more than once
    in the header, or None. Reading the first of them would quietly drop the other's values.
    A column found by its spelling repeats when another has the same spelling (`Text`, `text`); a
    column named with --map, when another has exactly its name."""
    for name, column in columns.items():
        same = [i for i, h in enumerate(header) if (h == column if name in mapping else header_key(h) == header_key(column))]
        if len(same) > 1:
            times = "twice" if len(same) == 2 else f"{len(same)} times"
            places = ", ".join(str(i + 1) for i in same)
            return (f"column {column!r} appears {times} (columns {places}); rename one in the file, "
                    f"or map {name} to another column with --map {name}=COLUMN")
    return None


def read_csv(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    # A long ticket thread in one cell is normal in helpdesk exports; the document limit, not the
    # csv module's 128 KB default, decides what is too long.
    csv.field_size_limit(max(csv.field_size_limit(), options.max_chars * 8, 1 << 24))
    source = open_text(path)
    with source.stream as handle:
        sample = handle.read(64 * 1024)
        handle.seek(0)
        reader = csv.reader(handle, sniff_dialect(sample), strict=True)
        if excel_separator(sample) is not None:
            next(reader)  # read through the reader, so that its line numbers stay the file's
        header_line = reader.line_num + 1
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            yield ReadFailure(str(path), header_line, "no header row")
            return
        columns, missing = resolve_columns(header, options.column_map)
        if missing and not ("account_id" in missing and "account_id" in options.defaults and len(missing) == 1):
            yield ReadFailure(
                str(path),
                header_line,
                f"cannot find {', '.join(missing)} among columns {header}; map them with --map FIELD=COLUMN",
            )
            return
        repeated = repeated_column(header, columns, options.column_map)
        if repeated:
            yield ReadFailure(str(path), header_line, repeated)
            return
        yield from _rows(path, reader, header, columns, options, source.warning)


def _rows(path: Path, reader, header: list[str], columns: dict[str, str], options: ReadOptions, warning: str | None) -> Iterator[ReadItem]:
    index_of = {name: header.index(name) for name in set(columns.values())}
    file_warnings = [warning] if warning else []
    while True:
        line_no = reader.line_num + 1  # where the row starts; a quoted cell may span lines
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield ReadFailure(str(path), line_no, f"malformed CSV ({error}): an unterminated quote? the rows it swallowed are not read")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield ReadFailure(
                str(path), line_no,
                f"row has {len(cells)} cells, the header {len(header)} (a stray quote or delimiter?)", _raw(cells),
            )
            continue
        values = {field: cells[index_of[column]].strip() for field, column in columns.items()}
        if "account_id" in values and "account_name" not in values and not _looks_like_id(values["account_id"]):
            values["account_name"] = values["account_id"]
            values["account_id"] = account_slug(values["account_id"])
        if values.get("source") and values["source"] not in SOURCES:
            values["source"] = options.defaults.get("source", "ticket")
        values = {k: v for k, v in values.items() if v != ""}
        try:
            # Without an id column the id comes from the content (build_document), never from the
            # line number: rows shift between nightly exports.
            document, warnings = build_document({"source": "ticket", **options.defaults, **values}, options)
        except (ValidationError, ValueError) as error:
            yield ReadFailure(str(path), line_no, validation_reason(error), _raw(cells))
        else:
            yield ReadDocument(document, f"{path}:{line_no}", file_warnings + warnings)
            file_warnings = []


def _raw(cells: list[str]) -> str:
    return ",".join(cells)


def _looks_like_id(value: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", value))
