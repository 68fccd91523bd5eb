"""How one accounts export writes its numbers and dates, read from the file as a whole.

A single cell cannot say whether `48.000` is forty-eight thousand or forty-eight, or whether
`03/11/2026` is the 3rd of November or the 11th of March; the rest of the file usually can. A
file that writes `1.250.000,00` or `4,5` elsewhere uses the dot for thousands; one that writes
`13/11/2026` somewhere puts the day first everywhere. Where the file does not say, the reading
taken is named in a note, so that a wrong guess is seen rather than scored.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

# How numbers are written, as parse_number reads them: comma thousands (`1,250.50`), dot
# thousands (`1.250,50`, `1.250.000`), a decimal comma (`4,5`) or point (`4.5`).
COMMA_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")
DOT_THOUSANDS = re.compile(r"-?\d{1,3}(\.\d{3})+,\d+|-?\d{1,3}(\.\d{3}){2,}")
DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")
_DECIMAL_POINT = re.compile(r"-?\d+\.\d{1,2}")
# One dot and three digits after it: thousands in one convention, a decimal in the other.
LONE_DOT_GROUP = re.compile(r"-?\d{1,3}\.\d{3}")
_NUMERIC_DATE = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{2}|\d{4})\b")


@dataclass
class Cell:
    line: int
    column: str  # the canonical name
    text: str


@dataclass
class Conventions:
    thousands_dot: bool = False  # a lone `48.000` is 48000
    dayfirst: bool = True
    notes: list[tuple[int, str]] = field(default_factory=list)  # (line, what was assumed)


def bare_number(text: str) -> str:
    """A cell without spaces, non-breaking spaces and a leading currency sign."""
    return text.strip().replace("\u00a0", "").replace(" ", "").lstrip("$€£")


def _any(patterns: tuple[re.Pattern, ...], cells: list[Cell]) -> bool:
    return any(p.fullmatch(bare_number(c.text)) for c in cells for p in patterns)


def read_conventions(numbers: list[Cell], dates: list[Cell]) -> Conventions:
    conventions = Conventions()
    # Cells only a decimal-comma (European) export writes, and ones only a decimal-point one does.
    european = _any((DOT_THOUSANDS, DECIMAL_COMMA), numbers)
    english = _any((COMMA_THOUSANDS, _DECIMAL_POINT), numbers)
    lone = [c for c in numbers if LONE_DOT_GROUP.fullmatch(bare_number(c.text))]
    conventions.thousands_dot = european and not english
    if lone and european == english:  # the file says neither, or both
        first = lone[0]
        reading = "a decimal point" if not conventions.thousands_dot else "thousands"
        conventions.notes.append((first.line, f"{first.column} {first.text!r}{_more(lone)} read with the dot as {reading} "
                                              f"({_as_number(first.text, conventions.thousands_dot)}): the file does not show which it uses; "
                                              "write numbers without thousands separators to be sure"))
    _read_date_order(dates, conventions)
    return conventions


def _read_date_order(dates: list[Cell], conventions: Conventions) -> None:
    day_first = month_first = False
    ambiguous: list[Cell] = []
    for cell in dates:
        match = _NUMERIC_DATE.fullmatch(cell.text.strip())
        if not match:
            continue
        first, second = int(match[1]), int(match[2])
        day_first |= first > 12 >= second
        month_first |= second > 12 >= first
        if first <= 12 and second <= 12 and first != second:
            ambiguous.append(cell)
    conventions.dayfirst = not (month_first and not day_first)
    if ambiguous and day_first == month_first:
        first = ambiguous[0]
        order = "day" if conventions.dayfirst else "month"
        shown = _as_date(first.text, conventions.dayfirst)
        conflict = " (the file writes both orders)" if day_first else ""
        conventions.notes.append((first.line, f"{first.column} {first.text!r}{_more(ambiguous)} read {order} first ({shown}){conflict}: "
                                              "the file does not show which it uses; write dates as YYYY-MM-DD to be sure"))


def _more(cells: list[Cell]) -> str:
    return f" and {len(cells) - 1} more like it" if len(cells) > 1 else ""


def _as_number(text: str, thousands_dot: bool) -> str:
    value = bare_number(text)
    return f"{float(value.replace('.', '') if thousands_dot else value):g}"


def _as_date(text: str, dayfirst: bool) -> str:
    match = _NUMERIC_DATE.fullmatch(text.strip())
    first, second, year = int(match[1]), int(match[2]), int(match[3])
    day, month = (first, second) if dayfirst else (second, first)
    year = year + 2000 if year < 100 else year
    try:
        return dt.date(year, month, day).strftime("%-d %B %Y")
    except ValueError:
        return text
