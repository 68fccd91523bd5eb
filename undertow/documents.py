"""The one shape every ingested document takes, whatever file it came from."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Source = Literal["call_note", "email", "ticket", "chat", "meeting_transcript", "note"]
SOURCES: tuple[str, ...] = Source.__args__  # type: ignore[attr-defined]


class Document(BaseModel):
    """A normalised customer document. `labels`/`evidence` are only set in labelled sets."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    account_name: str = ""
    source: Source = "note"
    date: dt.datetime | None = None
    author: str = ""
    language: str = ""
    subject: str = ""
    text: str = Field(min_length=1)
    labels: list[str] | None = None
    evidence: dict[str, list[str]] | None = None
    # The signals an annotator judged, when a set was labelled before a signal existed: the
    # others are unknown for this document, not absent. None means every signal was judged.
    labelled_signals: list[str] | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _parse_date(cls, value):
        if value in (None, ""):
            return None
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
        return parse_date(str(value))

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value

    def judges(self, signal: str) -> bool:
        """Whether this document's annotator judged `signal` (see `labelled_signals`)."""
        return self.labelled_signals is None or signal in self.labelled_signals

    @property
    def content_hash(self) -> str:
        """Hash of what the classifier and the store see; metadata-only edits still count."""
        parts = [self.account_id, self.source, self.subject, self.text, self.day or ""]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

    @property
    def day(self) -> str | None:
        return self.date.date().isoformat() if self.date else None


def parse_date(value: str) -> dt.datetime:
    """ISO dates and date-times, plus the formats CRM exports use (`2026-09-14 10:22`, `14/09/2026`)."""
    value = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in ("%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%Y/%m/%d"):
            try:
                parsed = dt.datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            from email.utils import parsedate_to_datetime

            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                raise ValueError(f"unreadable date {value!r}") from None
    # Stored naive in UTC so comparisons across sources never mix aware and naive values.
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed
