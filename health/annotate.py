"""`annotate`: score the accounts of a CSV against the store, keep a snapshot, write the rows back."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from undertow.atomic import atomic_path, atomic_write_text
from undertow.errors import InputError
from undertow.health.account import NEW_COLUMNS, AccountHealth
from undertow.health.accounts import AccountTable, RowProblem, read_accounts, unknown_account_problems
from undertow.health.config import HealthConfig
from undertow.health.history import previous_snapshots
from undertow.health.qualitative import qualitative_risk, severities
from undertow.health.portfolio import attention_order, flags_by_account, score_accounts, snapshot_rows
from undertow.ingest.tabular import account_slug
from undertow.store.records import RecordStore

OUTPUT_SUFFIXES = (".csv", ".json", ".parquet", ".xlsx")


@dataclass
class Annotation:
    table: AccountTable
    accounts: list[AccountHealth]  # in order of need of attention (health/attention.py)
    as_of: dt.date
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def bad_input(self) -> int:
        """Rows or values left out because they were bad; unknown accounts are only a warning."""
        return len(self.table.problems)


def annotate_accounts(
    path: Path, records: RecordStore, config: HealthConfig, as_of: dt.date, mapping: dict[str, str] | None = None, save: bool = True
) -> Annotation:
    table = read_accounts(path, mapping, config.nps_scale)
    known = {row["account_id"] for row in records.accounts()}
    _match_exported_names(table, known)
    flags = flags_by_account(records.flags())
    problems = list(table.problems) + table.notes + (unknown_account_problems(table, known) if known else [])
    problems += _signals_outside_the_export(table, flags, as_of, config)
    accounts = score_accounts(table, flags, as_of, config, previous_snapshots(records, as_of, scored_only=True))
    if save:
        records.save_snapshots(snapshot_rows(accounts, as_of))
    return Annotation(table, attention_order(accounts), as_of, sorted(problems, key=lambda p: p.line))


def _signals_outside_the_export(table: AccountTable, flags: dict[str, list[dict]], as_of: dt.date, config: HealthConfig) -> list[RowProblem]:
    """Accounts whose documents raise active signals but that have no row in the export: no
    score, no review, so the one place they can be seen is here (a churned-off CRM record, an id
    that differs between the two systems)."""
    in_export = {row.account_id for row in table.rows}
    severity = severities(config.qualitative)
    found = []
    for account_id in sorted(set(flags) - in_export):
        active = qualitative_risk(flags[account_id], as_of, config.qualitative, severity).active
        if active:
            found.append(RowProblem(str(table.path), 0, f"account {account_id!r} has active signals in the store ({', '.join(active)}) "
                                                        "but no row in this export: it is not scored or reviewed (check its id)"))
    return found


def _match_exported_names(table: AccountTable, known: set[str]) -> None:
    """An accounts file that names 'Acme Corp' where a ticket export stored its documents under
    acme-corp (ingest makes ids of CSV exports' names) means that account, not an unknown one.
    A row that becomes another row's account this way ('ACME' beside 'acme') is that account
    twice: the first row counts, as for any repeated id."""
    lines = {row.account_id: row.line for row in table.rows}
    kept = []
    for row in table.rows:
        slug = account_slug(row.account_id)
        if row.account_id not in known and slug in known:
            if slug in lines and lines[slug] != row.line:
                table.problems.append(RowProblem(
                    str(table.path), row.line,
                    f"duplicate account_id {row.account_id!r}: the store knows it as {slug!r}, as on line {lines[slug]}: row skipped", skipped=True))
                continue
            lines[slug] = row.line
            row.account_id = slug
        kept.append(row)
    table.rows = kept


def check_output_path(path: Path) -> None:
    """Before scoring: a wrong --out would otherwise fail after the work, naming the temporary file."""
    if str(path) == "-":
        return
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"--out {path}: use a .csv, .json, .parquet or .xlsx file name (or '-' for CSV on stdout)")
    folder = path.parent
    if not folder.exists():
        raise InputError(f"--out {path}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise InputError(f"--out {path}: {folder} is not a folder")


def output_records(annotation: Annotation) -> list[dict]:
    """The input rows, unchanged, followed by the new columns, in order of need of attention.
    Columns of ours that are already in the input (a re-annotated output file) are replaced
    rather than repeated."""
    records = []
    for account in annotation.accounts:
        kept = {k: v for k, v in account.row.raw.items() if k not in NEW_COLUMNS}
        records.append(kept | account.columns())
    return records


def output_header(annotation: Annotation) -> list[str]:
    return [h for h in annotation.table.header if h not in NEW_COLUMNS] + list(NEW_COLUMNS)


def _flat(record: dict) -> dict:
    out = dict(record)
    out["signals"] = ", ".join(record["signals"])
    out["review_reasons"] = "; ".join(record["review_reasons"])
    return out


def write_output(annotation: Annotation, path: Path, stdout=None) -> None:
    import pandas as pd

    # Written whole or not at all: a cron job killed mid-write must not leave half a table that
    # a person, a dashboard or next month's backtest reads as complete.
    records = output_records(annotation)
    if path.suffix.lower() == ".json":
        atomic_write_text(path, json.dumps(records, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    header = output_header(annotation)
    if path.suffix.lower() == ".xlsx":
        from undertow.health.workbook import write_workbook

        write_workbook(path, annotation, header, [_flat(r) for r in records])
        return
    frame = pd.DataFrame([_flat(r) for r in records], columns=header)
    for column in ("quant_score", "qual_risk", "health_score", "health_delta", "arr_at_risk", "priority"):
        frame[column] = frame[column].astype("float64")
    frame["days_to_renewal"] = frame["days_to_renewal"].astype("Int64")
    if path.suffix.lower() == ".parquet":
        frame["review"] = frame["review"].astype(bool)
        with atomic_path(path) as temp:
            frame.to_parquet(temp, index=False)
        return
    frame["review"] = frame["review"].map({True: "true", False: "false"})
    if str(path) == "-":
        frame.to_csv(stdout, index=False)
    else:
        with atomic_path(path) as temp:
            frame.to_csv(temp, index=False)
