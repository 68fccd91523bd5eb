"""JSONL in the documented format (docs/formats.md); labels, when present, are kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

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
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise ValueError("expected a JSON object")
                document, warnings = build_document({**options.defaults, **raw}, options)
            except json.JSONDecodeError as error:
                yield ReadFailure(str(path), line_no, f"not valid JSON ({error.msg})", line)
            except (ValidationError, ValueError) as error:
                yield ReadFailure(str(path), line_no, validation_reason(error), line)
            else:
                yield ReadDocument(document, f"{path}:{line_no}", file_warnings + warnings)
                file_warnings = []  # said once per file, with its first document
