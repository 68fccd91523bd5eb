"""`undertow annotate ACCOUNTS.csv` and `undertow backtest ACCOUNTS.csv OUTCOMES.csv`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import (
    AsOfOption, HomeOption, JsonOption, MapOption, ScorecardOption, err_console, is_terminal, notice, out_console, parse_date,
    parse_mapping, print_json, settings_for,
)
from undertow.errors import InputError
from undertow.services import health


def annotate(
    accounts_csv: Annotated[Path, typer.Argument(metavar="ACCOUNTS.csv", help="Account records: account_id and the columns of docs/formats.md, Accounts export (or mapped with --map).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the annotated rows, most urgent first, to FILE.csv, .json, .parquet or .xlsx ('-' for CSV on stdout).")] = None,
    as_of: AsOfOption = None,
    column_map: MapOption = [],
    scorecard: ScorecardOption = None,
    no_snapshot: Annotated[bool, typer.Option("--no-snapshot", help="Do not store this run's scores (try a scorecard without touching history).")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Show only the first N accounts of the table.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add health scores, bands, signals, evidence and review reasons to account records."""
    from undertow.health.report import review_table

    settings = settings_for(home)
    day = parse_date("--as-of", as_of)
    if limit is not None and limit < 0:
        raise InputError(f"--limit {limit}: give how many accounts to show, 0 or more")
    if as_json and out is not None and str(out) == "-":
        raise InputError("--json and --out - both write to stdout: pick one, or write the rows to a file")
    result = health.annotate(
        settings, accounts_csv, as_of=day, mapping=parse_mapping(column_map), scorecard=scorecard, out=out, save=not no_snapshot,
        stdout=sys.stdout, on_notice=notice,
    )
    title = f"{len(result.accounts)} accounts as of {result.as_of.isoformat()}: {result.review} to review"
    if as_json:
        print_json(result.as_dict())
        if is_terminal():
            err_console.print(review_table(result.accounts, title, limit))
    elif out is None:
        out_console.print(review_table(result.accounts, title, limit))
    else:
        if is_terminal() and str(out) != "-":
            err_console.print(review_table(result.accounts, title, limit))
        err_console.print(f"{title}; written to {out}", highlight=False, markup=False)
    # Exit 1 tells a script that some rows or values were bad; everything else was scored.
    raise typer.Exit(1 if result.bad_input else 0)


def backtest(
    accounts_csv: Annotated[Path, typer.Argument(metavar="ACCOUNTS.csv", help="Account records as they were before the outcomes.")],
    outcomes_csv: Annotated[Path, typer.Argument(metavar="OUTCOMES.csv", help="account_id, churned (true/false), outcome_date.")],
    as_of: AsOfOption = None,
    column_map: MapOption = [],
    scorecard: ScorecardOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """How well the quantitative score and the combined score predicted churn, side by side."""
    from undertow.health.report import backtest_table

    settings = settings_for(home)
    result = health.backtest(
        settings, accounts_csv, outcomes_csv, as_of=parse_date("--as-of", as_of), mapping=parse_mapping(column_map), scorecard=scorecard,
        on_notice=notice,
    )
    if as_json:
        print_json(result.figures)
        return
    out_console.print(backtest_table(result.figures))
