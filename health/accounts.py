"""Account records and outcomes from CSV, in the ACCOUNTS.md columns or mapped from a CRM export.

A bad value is reported (`file:line: reason`) and left out, so the account is scored on what is
left; a row without a usable id, or repeating an id, is reported and skipped. Nothing else in the
file is lost.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from undertow.columns import match_columns
from undertow.documents import parse_date
from undertow.errors import InputError
from undertow.health.conventions import (
    COMMA_THOUSANDS,
    DECIMAL_COMMA,
    DOT_THOUSANDS,
    LONE_DOT_GROUP,
    Cell,
    Conventions,
    bare_number,
    read_conventions,
)
from undertow.ingest.decode import RejectedInput
from undertow.ingest.tabular import excel_separator, repeated_column, sniff_dialect
from undertow.ingest.textfile import open_text

# Canonical column -> (lowest, highest) accepted value; None means unbounded.
NUMERIC: dict[str, tuple[float | None, float | None]] = {
    "arr": (0, None),
    "seats_licensed": (0, None),
    "seats_active": (0, None),
    "logins_30d": (0, None),
    "logins_prev_30d": (0, None),
    "tickets_open": (0, None),
    "tickets_30d": (0, None),
    "nps": (-100, 100),
    "csat": (1, 5),
    "days_since_last_contact": (0, None),
    "invoices_overdue": (0, None),
}
TEXT = ("account_id", "account_name", "segment", "renewal_date", "csm_owner", "csm_sentiment")
COLUMNS = (*TEXT, *NUMERIC)
SENTIMENTS = {"green": "green", "yellow": "yellow", "amber": "yellow", "red": "red"}

# Header spellings seen in CRM exports beyond the canonical names (matched after normalising).
ALIASES: dict[str, tuple[str, ...]] = {
    "account_id": ("id", "account", "company_id", "organization_id", "customer_id"),
    "account_name": ("name", "company", "company_name", "organization", "customer"),
    "csm_owner": ("csm", "owner", "account_owner"),
    "csm_sentiment": ("csm_health", "health", "sentiment"),
}


class AccountFileError(InputError):
    """The file as a whole cannot be read (no id column, a mapping to a column that is not there)."""


@dataclass
class RowProblem:
    path: str
    line: int
    reason: str
    skipped: bool = False  # True: the row was left out; False: only the value named was

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}" if self.line else f"{self.path}: {self.reason}"  # 0: the file as a whole


@dataclass
class AccountRow:
    line: int
    raw: dict[str, str]  # every column as read, written back unchanged
    account_id: str
    values: dict[str, float] = field(default_factory=dict)  # valid numbers, by canonical name
    text: dict[str, str] = field(default_factory=dict)  # segment, csm_sentiment, ... by canonical name
    renewal: dt.date | None = None  # renewal_date read as a date


@dataclass
class AccountTable:
    path: Path
    header: list[str]
    columns: dict[str, str]  # canonical name -> column in the file
    rows: list[AccountRow]
    problems: list[RowProblem]
    nps_scale: str = "segment"  # "person" when every answer is a 0-10 score
    notes: list[RowProblem] = field(default_factory=list)  # readings the file left open: warnings, not bad input

    @property
    def missing(self) -> list[str]:
        return [name for name in COLUMNS if name not in self.columns]


def _normalise(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def resolve_columns(header: list[str], mapping: dict[str, str], path: Path) -> dict[str, str]:
    match = match_columns(header, {name: ALIASES.get(name, ()) for name in COLUMNS}, mapping, required=("account_id",))
    if match.unknown_fields:
        raise AccountFileError(f"{path}: --map names unknown fields {match.unknown_fields}; the fields are {', '.join(COLUMNS)}")
    if match.absent_columns:
        name, column = next(iter(match.absent_columns.items()))
        raise AccountFileError(f"{path}: --map {name}={column}: no column {column!r} among {header}")
    if match.missing:
        raise AccountFileError(f"{path}: no account_id column among {header}; map one with --map account_id=COLUMN")
    return match.columns


def parse_number(text: str, thousands_dot: bool = False) -> float:
    """Numbers as CRM exports write them: `1,250`, `$12,000.50`, `4,5` (a decimal comma), and
    European exports' `1.250,50` or `1.250.000`; a lone `1.250` is one and a quarter unless the
    file writes its numbers the European way (`thousands_dot`, health/conventions.py)."""
    value = bare_number(text)
    if COMMA_THOUSANDS.fullmatch(value):
        value = value.replace(",", "")
    elif DOT_THOUSANDS.fullmatch(value) or (thousands_dot and LONE_DOT_GROUP.fullmatch(value)):
        value = value.replace(".", "").replace(",", ".")
    elif DECIMAL_COMMA.fullmatch(value):
        value = value.replace(",", ".")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _check_number(name: str, text: str, thousands_dot: bool = False) -> tuple[float | None, str | None]:
    try:
        number = parse_number(text, thousands_dot)
    except ValueError:
        return None, f"{name} is not a number: {text!r}; the value is ignored"
    low, high = NUMERIC[name]
    if (low is not None and number < low) or (high is not None and number > high):
        span = f"{low}..{high}" if high is not None else f">= {low}"
        return None, f"{name} {text!r} is outside {span}; the value is ignored"
    return number, None


@contextmanager
def _table(path: Path, problems: list[RowProblem]) -> Iterator[csv.DictReader]:
    """Rows of a CRM export as the documents' CSV reader takes them: comma, semicolon, tab or
    pipe, in UTF-8 or another encoding, which is then named as a problem on line 1 (a wrong
    guess would quietly turn every accent in a name into something else)."""
    try:
        source = open_text(path)
    except RejectedInput as error:
        raise AccountFileError(f"{path}: {error}; expected a CSV with a header row with account_id and the columns of docs/formats.md (Accounts export)") from None
    if source.warning:
        problems.append(RowProblem(str(path), 1, source.warning))
    with source.stream as handle:
        sample = handle.read(64 * 1024)
        handle.seek(0)
        reader = csv.DictReader(handle, dialect=sniff_dialect(sample))
        if excel_separator(sample) is not None:
            next(reader.reader)  # the `sep=;` line, read through the reader so that line numbers stay the file's
        yield reader


def read_accounts(path: Path, mapping: dict[str, str] | None = None, nps_scale: str = "auto") -> AccountTable:
    problems: list[RowProblem] = []
    with _table(path, problems) as reader:
        header = [h for h in (reader.fieldnames or []) if h is not None]
        if not header:
            raise AccountFileError(f"{path}: empty file; expected a header row with account_id and the columns of docs/formats.md (Accounts export)")
        columns = resolve_columns(header, mapping or {}, path)
        # A DictReader keeps the last of two columns of one name: refuse rather than score on either.
        repeated = repeated_column(header, columns, mapping or {})
        if repeated:
            raise AccountFileError(f"{path}:{reader.line_num}: {repeated}")
        read: list[tuple[int, dict, str]] = []  # (line, raw, account_id): parsed once the whole file is seen
        first_line: dict[str, int] = {}
        for record in reader:
            line = reader.line_num
            raw = {h: record.get(h) or "" for h in header}
            account_id = raw[columns["account_id"]].strip()
            if not account_id:
                problems.append(RowProblem(str(path), line, "no account_id: row skipped", skipped=True))
                continue
            if account_id in first_line:
                problems.append(
                    RowProblem(str(path), line, f"duplicate account_id {account_id!r} (first on line {first_line[account_id]}): row skipped", skipped=True)
                )
                continue
            first_line[account_id] = line
            read.append((line, raw, account_id))
    conventions = _conventions(read, columns)
    rows = [_parse_row(path, line, raw, account_id, columns, problems, conventions) for line, raw, account_id in read]
    problems.sort(key=lambda problem: problem.line)  # skipped rows were named in the first pass, values in the second
    if not rows and not problems:
        # A header and nothing under it is what a CRM export looks like when it failed: say so, so
        # that a nightly job's "0 scored" does not pass for a quiet night.
        problems.append(RowProblem(str(path), 1, "no account rows under the header: nothing was scored (an empty export?)", skipped=True))
    table = AccountTable(path, header, columns, rows, problems, notes=[RowProblem(str(path), line, note) for line, note in conventions.notes])
    _normalise_nps(table, nps_scale)
    return table


def _conventions(read: list[tuple[int, dict, str]], columns: dict) -> Conventions:
    numbers = [Cell(line, name, raw[column]) for line, raw, _ in read for name, column in columns.items() if name in NUMERIC and raw[column].strip()]
    dates = [Cell(line, "renewal_date", raw[columns["renewal_date"]]) for line, raw, _ in read] if "renewal_date" in columns else []
    return read_conventions(numbers, dates)


def _parse_row(path: Path, line: int, raw: dict, account_id: str, columns: dict, problems: list[RowProblem],
               conventions: Conventions) -> AccountRow:
    row = AccountRow(line=line, raw=raw, account_id=account_id)
    columns_in_file_order = sorted(columns.items(), key=lambda item: list(raw).index(item[1]))
    for name, column in columns_in_file_order:
        text = raw[column].strip()
        if not text or name == "account_id":
            continue
        if name in NUMERIC:
            number, reason = _check_number(name, text, conventions.thousands_dot)
            if reason:
                problems.append(RowProblem(str(path), line, f"{account_id}: {reason}"))
            else:
                row.values[name] = number
        elif name == "csm_sentiment":
            sentiment = SENTIMENTS.get(text.lower())
            if sentiment is None:
                problems.append(RowProblem(str(path), line, f"{account_id}: csm_sentiment {text!r} is not green, yellow or red; ignored"))
            else:
                row.text[name] = sentiment
        elif name == "renewal_date":
            row.text[name] = text
            try:
                row.renewal = parse_date(text, dayfirst=conventions.dayfirst).date()
            except ValueError:
                problems.append(RowProblem(str(path), line, f"{account_id}: renewal_date {text!r} is not a date (use YYYY-MM-DD); ignored"))
        else:
            row.text[name] = text
    if row.values.get("seats_active", 0) > row.values.get("seats_licensed", float("inf")):
        # Active seats are some of the paid ones: more of them means one of the two is wrong.
        problems.append(RowProblem(str(path), line, f"{account_id}: seats_active {row.values.pop('seats_active'):g} is more than seats_licensed "
                                                    f"{row.values['seats_licensed']:g}; seats_active is ignored"))
    return row


def _normalise_nps(table: AccountTable, scale: str = "auto") -> None:
    """One person's 0-10 answer becomes the -100..100 scale: promoter 100, passive 0, detractor -100.

    The scale is decided for the whole column (`nps_scale` in the scorecard, or "auto"): a
    portfolio of segment NPS values will have some outside 0..10, while a column of individual
    answers never does. Decided that way it depends on the other rows, so it is named in a note.
    """
    answers = [row.values["nps"] for row in table.rows if "nps" in row.values]
    other = next((a for a in answers if not (0 <= a <= 10 and float(a).is_integer())), None)  # not one person's 0-10
    if not answers or scale == "segment" or (scale == "auto" and other is not None):
        return
    if other is not None:
        raise AccountFileError(f"{table.path}: nps_scale is 'person' (0-10 answers) but the nps column holds values such as {other:g}")
    if scale == "auto":
        first = next(row for row in table.rows if "nps" in row.values)
        table.notes.append(RowProblem(str(table.path), first.line, "nps: every value is a whole number from 0 to 10, so each is read as one "
                                      "person's answer (9-10 promoter, 7-8 passive, 0-6 detractor); if they are segment NPS scores, "
                                      "set nps_scale: segment in scorecard.yaml"))
    table.nps_scale = "person"
    for row in table.rows:
        if "nps" in row.values:
            answer = row.values["nps"]
            row.values["nps"] = 100.0 if answer >= 9 else 0.0 if answer >= 7 else -100.0


def unknown_account_problems(table: AccountTable, known_ids: set[str]) -> list[RowProblem]:
    """Rows whose account has no documents in the store: scored on numbers alone."""
    return [
        RowProblem(str(table.path), row.line, f"account {row.account_id!r} has no documents in the store; scored on numbers alone (check the id, or ingest its documents)")
        for row in table.rows
        if row.account_id not in known_ids
    ]


# --- outcomes ------------------------------------------------------------------------------------
_TRUE = {"true", "yes", "y", "1", "churned"}
_FALSE = {"false", "no", "n", "0", "renewed", "retained"}


@dataclass
class Outcomes:
    churned: dict[str, bool]
    problems: list[RowProblem]


def read_outcomes(path: Path, mapping: dict[str, str] | None = None) -> Outcomes:
    """`account_id`, `churned` (true/false), `outcome_date` (not needed for scoring)."""
    mapping = mapping or {}
    problems: list[RowProblem] = []
    with _table(path, problems) as reader:
        header = [h for h in (reader.fieldnames or []) if h is not None]
        by_normal = {_normalise(h): h for h in header}
        id_column = mapping.get("account_id") or by_normal.get("account_id") or by_normal.get("id")
        churn_column = mapping.get("churned") or by_normal.get("churned") or by_normal.get("churn")
        if id_column not in header or churn_column not in header:
            raise AccountFileError(
                f"{path}: expected columns account_id and churned, found {header}; map them with --map account_id=COLUMN --map churned=COLUMN"
            )
        churned: dict[str, bool] = {}
        first_line: dict[str, int] = {}
        for record in reader:
            line = reader.line_num
            account_id = (record.get(id_column) or "").strip()
            value = (record.get(churn_column) or "").strip().lower()
            if not account_id:
                problems.append(RowProblem(str(path), line, "no account_id: row skipped", skipped=True))
            elif account_id in first_line:
                problems.append(RowProblem(str(path), line, f"duplicate account_id {account_id!r} (first on line {first_line[account_id]}): row skipped", skipped=True))
            elif value not in _TRUE | _FALSE:
                problems.append(RowProblem(str(path), line, f"{account_id}: churned must be true or false, got {value!r}: row skipped", skipped=True))
            else:
                first_line[account_id] = line
                churned[account_id] = value in _TRUE
    return Outcomes(churned, problems)
