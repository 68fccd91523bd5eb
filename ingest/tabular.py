"""CSV exports of notes and tickets, with a column mapping for real CRM/helpdesk exports."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from undertow.documents import Document
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, validation_reason

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


def resolve_columns(header: list[str], mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """field -> column. Returns the missing required fields too, so the error can list them."""
    lowered = {h.strip().lower(): h for h in header}
    columns: dict[str, str] = {}
    for field, aliases in KNOWN_HEADERS.items():
        if field in mapping:
            continue
        for alias in aliases:
            if alias in lowered and lowered[alias] not in columns.values():
                columns[field] = lowered[alias]
                break
    for field, column in mapping.items():
        if column not in header:
            return columns, [f"{field} (mapped to column {column!r}, which is not in the header)"]
        columns[field] = column
    missing = [f for f in ("text", "account_id") if f not in columns]
    return columns, missing


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def read_csv(path: Path, defaults: dict, mapping: dict[str, str]) -> Iterator[ReadItem]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        columns, missing = resolve_columns(header, mapping)
        if missing and not ("account_id" in missing and "account_id" in defaults and len(missing) == 1):
            yield ReadFailure(
                str(path),
                1,
                f"cannot find {', '.join(missing)} among columns {header}; map them with --map FIELD=COLUMN",
            )
            return
        for row in reader:
            line_no = reader.line_num
            values = {field: (row.get(column) or "").strip() for field, column in columns.items()}
            if "account_id" in values and "account_name" not in values and not _looks_like_id(values["account_id"]):
                values["account_name"] = values["account_id"]
                values["account_id"] = _slug(values["account_id"])
            if not values.get("id"):
                values["id"] = f"{path.stem}-{line_no}"
            if values.get("source") and values["source"] not in ("call_note", "email", "ticket", "chat", "meeting_transcript", "note"):
                values["source"] = defaults.get("source", "ticket")
            values = {k: v for k, v in values.items() if v != ""}
            try:
                document = Document.model_validate({**{"source": "ticket"}, **defaults, **values})
            except (ValidationError, ValueError) as error:
                yield ReadFailure(str(path), line_no, validation_reason(error), ",".join(row.get(c) or "" for c in header))
            else:
                yield ReadDocument(document, f"{path}:{line_no}")


def _looks_like_id(value: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", value))
