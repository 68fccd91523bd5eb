"""The one shape every ingested document takes, whatever file it came from."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Source = Literal["call_note", "email", "ticket", "chat", "meeting_transcript", "note"]
# What our own team writes: no quoted replies or signatures to trim, and its author is a CSM.
WRITTEN_BY_US = frozenset({"call_note", "meeting_transcript", "note"})
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
    # The text as the source had it, when it differs from `text` (the new part of a thread,
    # cleaned of invisible characters, that the classifier and the evidence read).
    original_text: str | None = None
    labels: list[str] | None = None
    evidence: dict[str, list[str]] | None = None
    # The signals an annotator judged, when a set was labelled before a signal existed: the
    # others are unknown for this document, not absent. None means every signal was judged.
    labelled_signals: list[str] | None = None

    @field_validator("id", "account_id", mode="before")
    @classmethod
    def _identifier(cls, value):
        return identifier(value)

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
    def text_key(self) -> str:
        """Same account, day and words: the same document, whatever id an export gave it."""
        parts = [self.account_id, self.day or "", normalised_for_identity(self.text)]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

    @property
    def day(self) -> str | None:
        return self.date.date().isoformat() if self.date else None


def identifier(value: object) -> str:
    """An id or account id as text. Zendesk and HubSpot JSON write them as numbers, and a CSV
    export of the same records gives their decimal digits, so an integer is read that way; a
    float or a boolean is refused, since 7.0 or true is no one's id.

    Whitespace is left alone here: stored rows go back through Document, and changing a stored
    id would part it from its flags. Readers strip what they read (see ingest.jsonl)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"must be text or a whole number, not {_json_kind(value)}")


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, float):
        return f"a decimal number ({value!r})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def normalised_for_identity(text: str) -> str:
    """Case and spacing differ between exports of the same note; the words do not."""
    return " ".join(text.casefold().split())


_NUMERIC_DATE = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


def parse_date(value: str, dayfirst: bool = True) -> dt.datetime:
    """ISO dates and date-times, the numeric forms CRM exports use, and e-mail dates."""
    return parse_date_reading(value, dayfirst)[0]


def parse_date_reading(value: str, dayfirst: bool = True) -> tuple[dt.datetime, bool]:
    """(date, ambiguous): ambiguous when a numeric date reads as a valid date both day and month first."""
    value = value.strip()
    ambiguous = False
    numeric = _NUMERIC_DATE.fullmatch(value)
    try:
        if numeric:
            parsed, ambiguous = _numeric_date(numeric, dayfirst)
        else:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in ("%Y/%m/%d", "%Y/%m/%d %H:%M"):
            try:
                parsed = dt.datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            from email.utils import parsedate_to_datetime

            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                raise ValueError(f"unreadable date {value!r}") from None
    # Stored naive in UTC so comparisons across sources never mix aware and naive values.
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed, ambiguous


def _numeric_date(match: re.Match, dayfirst: bool) -> tuple[dt.datetime, bool]:
    first, separator, second, year = int(match[1]), match[2], int(match[3]), int(match[4])
    clock = [int(part) for part in match.groups()[4:] if part is not None]
    # Dotted dates are European (day first) everywhere they are written.
    if separator == "." or first > 12:
        order = (first, second)
    elif second > 12:
        order = (second, first)
    else:
        order = (first, second) if dayfirst else (second, first)
    day, month = order
    ambiguous = separator != "." and first <= 12 and second <= 12 and first != second
    return dt.datetime(year, month, day, *clock), ambiguous
