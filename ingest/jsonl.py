"""JSONL in the documented format (docs/formats.md); labels, when present, are kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from undertow.documents import identifier
from undertow.ingest.build import build_document
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, ReadOptions, validation_reason
from undertow.ingest.textfile import open_text


def read_jsonl(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    source = open_text(path)
    file_warnings = [source.warning] if source.warning else []
    with source.stream as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                # Without its line end, so a line cut short is reported at its last column, not
                # at column 1 of a line after it.
                raw = json.loads(line.rstrip("\r\n"))
                if not isinstance(raw, dict):
                    raise ValueError("expected a JSON object")
                document, warnings = build_document({**options.defaults, **_identifiers(raw, options.defaults)}, options)
            except json.JSONDecodeError as error:
                yield ReadFailure(str(path), line_no, f"not valid JSON ({_json_reason(error)})", line)
            except (ValidationError, ValueError) as error:
                yield ReadFailure(str(path), line_no, validation_reason(error), line)
            else:
                yield ReadDocument(document, f"{path}:{line_no}", file_warnings + warnings)
                file_warnings = []  # said once per file, with its first document


def _json_reason(error: json.JSONDecodeError) -> str:
    """The decoder's reason with where on the line it stopped. `msg` alone drops the position, and
    some messages end in a dangling "at" ("Invalid control character at") that the position ends;
    the line number is the file's, so only the column is said."""
    return f"{error.msg.removesuffix(' at')} at column {error.colno}"


def _identifiers(raw: dict, defaults: dict) -> dict:
    """`raw` with its id and account id stripped, as CSV cells are. A blank one counts as missing,
    as an empty CSV cell does: a blank id gets one derived from the content, a blank account id
    takes --account or is refused, never stored as ' '."""
    fields = dict(raw)
    for key in ("id", "account_id"):
        value = fields.get(key)
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            continue  # Document refuses it with the reason
        text = identifier(value).strip()
        if text:
            fields[key] = text
            continue
        del fields[key]
        if key == "account_id" and not defaults.get(key):
            raise ValueError("account_id is blank")
    return fields
