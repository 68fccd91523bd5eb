"""`.txt` and `.md` notes, with optional YAML front matter (id, account_id, date, source, author)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import yaml
from pydantic import ValidationError

from undertow.ingest.build import build_document
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, ReadOptions, validation_reason
from undertow.ingest.textfile import read_text


def split_front_matter(text: str) -> tuple[dict, str, int]:
    """(front matter, body, line number where the body starts)."""
    if not text.startswith("---"):
        return {}, text, 1
    end = text.find("\n---", 3)
    if end < 0:
        raise ValueError("front matter starts with '---' but never closes")
    meta = yaml.safe_load(text[3:end]) or {}
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping of key: value")
    body_start = text.find("\n", end + 4)
    body = text[body_start + 1 :] if body_start >= 0 else ""
    return meta, body, text[: body_start + 1].count("\n") + 1


def note_id(path: Path) -> str:
    """The file itself, wherever the command was pointed: `ingest notes` and `ingest notes/sub`
    see the same note, and an edited note replaces its earlier version."""
    return f"{path.stem}-{hashlib.sha1(str(path.resolve()).encode('utf-8')).hexdigest()[:10]}"


def read_note(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    text, encoding_warning = read_text(path, options.max_chars * 2)
    try:
        meta, body, _ = split_front_matter(text)
    except (ValueError, yaml.YAMLError) as error:
        yield ReadFailure(str(path), 1, f"front matter: {str(error).splitlines()[0]}")
        return
    fields = {"source": "note", **options.defaults, **{k: v for k, v in meta.items() if v is not None}}
    fields["id"] = str(fields.get("id") or note_id(path))
    fields["text"] = body.strip()
    if "account_id" not in fields:
        yield ReadFailure(str(path), 1, "no account_id: add it to the front matter or pass --account")
        return
    try:
        document, warnings = build_document(fields, options)
    except (ValidationError, ValueError) as error:
        yield ReadFailure(str(path), 1, validation_reason(error))
    else:
        yield ReadDocument(document, str(path), [w for w in [encoding_warning] if w] + warnings)
