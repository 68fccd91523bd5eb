"""Which column of a CSV export holds which field: the header spellings we know, and `--map`.

Shared by the document reader (ingest) and the accounts reader (annotate); each keeps its own
table of spellings and words its own errors from the ColumnMatch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnMatch:
    columns: dict[str, str]  # field -> column, as written in the header
    missing: list[str]  # required fields no column was found or mapped for
    unknown_fields: list[str]  # mapped fields that are not fields of this table
    absent_columns: dict[str, str]  # field -> a mapped column that is not in the header


def header_key(name: str) -> str:
    """`Ticket ID`, `ticket_id` and ` ticket-id ` are one spelling: lower case, runs of other
    characters as one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def match_columns(
    header: list[str], aliases: Mapping[str, Iterable[str]], mapping: Mapping[str, str] | None = None, required: Iterable[str] = ()
) -> ColumnMatch:
    """field -> column for the fields in `aliases` (field -> other spellings; the field's own name
    counts too). An explicit `mapping` (field -> column, from --map) wins and claims its column
    first; a column serves one field only; a header repeated is read at its first place."""
    mapping = dict(mapping or {})
    columns = {name: column for name, column in mapping.items() if name in aliases and column in header}
    by_key: dict[str, str] = {}
    for column in header:
        by_key.setdefault(header_key(column), column)
    for name, spellings in aliases.items():
        if name in mapping:
            continue
        for spelling in (name, *spellings):
            column = by_key.get(header_key(spelling))
            if column is not None and column not in columns.values():
                columns[name] = column
                break
    return ColumnMatch(
        columns=columns,
        missing=[name for name in required if name not in columns and name not in mapping],
        unknown_fields=sorted(set(mapping) - set(aliases)),
        absent_columns={name: column for name, column in mapping.items() if column not in header},
    )
