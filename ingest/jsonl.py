"""JSONL in the SIGNALS.md format; labels, when present, are kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from undertow.documents import Document
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, validation_reason


def read_jsonl(path: Path, defaults: dict) -> Iterator[ReadItem]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise ValueError("expected a JSON object")
                document = Document.model_validate({**defaults, **raw})
            except json.JSONDecodeError as error:
                yield ReadFailure(str(path), line_no, f"not valid JSON ({error.msg})", line)
            except (ValidationError, ValueError) as error:
                yield ReadFailure(str(path), line_no, validation_reason(error), line)
            else:
                yield ReadDocument(document, f"{path}:{line_no}")
