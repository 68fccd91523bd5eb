"""From the fields a reader found to a stored Document: one place for identity, hygiene and limits.

Every reader (JSONL, CSV, mail, notes, office files) hands its fields here, so a rule such as
"the classifier reads the new text, the store keeps the original" holds for every source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from undertow.documents import WRITTEN_BY_US, Document, normalised_for_identity, parse_date_reading
from undertow.ingest.clean import clean_text, has_nothing_to_read
from undertow.ingest.items import ReadOptions
from undertow.ingest.thread import new_text


def derived_id(account_id: str, day: str | None, text: str) -> str:
    """An id for a document whose source gives none: the same note gets the same id from any export."""
    parts = [str(account_id), day or "", normalised_for_identity(text)]
    return "doc-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


def build_document(fields: dict, options: ReadOptions) -> tuple[Document, list[str]]:
    """The Document and the warnings a person should see. Raises ValueError/ValidationError."""
    fields = dict(fields)
    warnings: list[str] = []
    raw = fields.get("text")
    if isinstance(raw, str):
        readable = clean_text(raw)
        if has_nothing_to_read(readable):
            raise ValueError("text has no readable characters")
        text = new_text(readable, note=fields.get("source", "note") in WRITTEN_BY_US) or readable.strip()
        if len(text) > options.max_chars:
            warnings.append(f"text of {len(text):,} characters cut to the limit of {options.max_chars:,} (--max-chars)")
            text = cut_at_sentence(text, options.max_chars)
        fields["text"] = text
        if text != raw:
            fields["original_text"] = raw
    if isinstance(fields.get("date"), str) and fields["date"].strip():
        fields["date"], warning = _read_date(fields["date"], options)
        if warning:
            warnings.append(warning)
    if not fields.get("id") and fields.get("account_id") and isinstance(fields.get("text"), str):
        day = fields["date"].date().isoformat() if isinstance(fields.get("date"), dt.datetime) else None
        fields["id"] = derived_id(fields["account_id"], day, fields["text"])
    return Document.model_validate(fields), warnings


def cut_at_sentence(text: str, limit: int) -> str:
    """The longest prefix within `limit` that ends at a sentence or line end (a word end at worst)."""
    window = text[: limit + 1]
    ends = [m.end() for m in re.finditer(r"[.!?…](?=\s)|\n", window)]
    cut = ends[-1] if ends and ends[-1] > limit // 2 else window.rfind(" ")
    return text[: cut if cut > 0 else limit].rstrip()


def _read_date(value: str, options: ReadOptions) -> tuple[dt.datetime, str | None]:
    if options.date_format:
        try:
            return dt.datetime.strptime(value.strip(), options.date_format), None
        except ValueError:
            raise ValueError(f"date {value!r} does not match --date-format {options.date_format!r}") from None
    parsed, ambiguous = parse_date_reading(value, dayfirst=options.dayfirst is not False)
    if ambiguous and options.dayfirst is None:
        return parsed, (
            f"date {value!r} could be day or month first; read as {parsed:%d %B %Y} "
            "(pass --dayfirst or --monthfirst to decide)"
        )
    return parsed, None
