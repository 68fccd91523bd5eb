"""`undertow annotate ACCOUNTS.csv` and `undertow backtest ACCOUNTS.csv OUTCOMES.csv`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, err_console, fail, is_terminal, out_console, print_json, settings_for, user_errors
from undertow.cli.ingest_cmd import parse_mapping

AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Score as of this date (YYYY-MM-DD); flags dated later are ignored. Default: today.")]
MapOption = Annotated[list[str], typer.Option("--map", help="Column for a field when the export names it differently, FIELD=COLUMN; repeatable.")]
ScorecardOption = Annotated[Path | None, typer.Option("--scorecard", help="Scorecard YAML merged over the bundled one (default: HOME/scorecard.yaml if present).")]


def parse_as_of(value: str | None) -> dt.date:
    from undertow.documents import parse_date

    if not value:
        return dt.datetime.now(dt.timezone.utc).date()
    try:
        return parse_date(value).date()
    except ValueError:
        raise fail(f"--as-of {value!r} is not a date: use YYYY-MM-DD") from None


def _report_problems(problems, store_empty: bool, home: Path) -> None:
    for problem in problems:
        # markup off: file names and customer values may contain [brackets].
        err_console.print(f"warning: {problem}", highlight=False, soft_wrap=True, markup=False)
    if store_empty:
        err_console.print(
            f"note: {home} holds no documents, so scores use numbers alone; run `undertow ingest PATH` first", highlight=False, markup=False
        )


def annotate(
    accounts_csv: Annotated[Path, typer.Argument(metavar="ACCOUNTS.csv", help="Account records in the ACCOUNTS.md columns (or mapped with --map).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the annotated rows to FILE.csv, .json or .parquet ('-' for CSV on stdout).")] = None,
    as_of: AsOfOption = None,
    column_map: MapOption = [],
    scorecard: ScorecardOption = None,
    no_snapshot: Annotated[bool, typer.Option("--no-snapshot", help="Do not store this run's scores (try a scorecard without touching history).")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Show only the first N accounts of the table.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add health scores, bands, signals, evidence and review reasons to account records."""
    from undertow.health.annotate import annotate_accounts, check_output_path, output_records, write_output
    from undertow.health.config import load_home_config
    from undertow.health.report import review_table
    from undertow.store.records import RecordStore

    settings = settings_for(home)
    day = parse_as_of(as_of)
    if as_json and out is not None and str(out) == "-":
        raise fail("--json and --out - both write to stdout: pick one, or write the rows to a file")
    with user_errors():
        if out is not None:
            check_output_path(out)
        config = load_home_config(settings, scorecard)
        records = RecordStore(settings.sqlite_url)
        result = annotate_accounts(accounts_csv, records, config, day, parse_mapping(column_map), save=not no_snapshot)
        _report_problems(result.problems, not records.accounts(), settings.resolved_home)
        if out is not None:
            write_output(result, out, stdout=sys.stdout)
    flagged = sum(a.review for a in result.accounts)
    title = f"{len(result.accounts)} accounts as of {day.isoformat()}: {flagged} to review"
    if as_json:
        print_json({
            "as_of": day.isoformat(),
            "accounts": len(result.accounts),
            "review": flagged,
            "problems": [str(p) for p in result.problems],
            "out": str(out) if out else None,
            "rows": output_records(result) if out is None else None,
            "details": [a.details() for a in result.accounts] if out is None else None,
        })
        if is_terminal():
            err_console.print(review_table(result.accounts, title, limit))
    elif out is None:
        out_console.print(review_table(result.accounts, title, limit))
    else:
        if is_terminal() and str(out) != "-":
            err_console.print(review_table(result.accounts, title, limit))
        err_console.print(f"{title}; written to {out}", highlight=False)
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
    from undertow.health.accounts import read_outcomes
    from undertow.health.annotate import annotate_accounts
    from undertow.health.backtest import backtest as run_backtest
    from undertow.health.config import load_home_config
    from undertow.health.report import backtest_table
    from undertow.store.records import RecordStore

    settings = settings_for(home)
    day = parse_as_of(as_of)
    with user_errors():
        config = load_home_config(settings, scorecard)
        records = RecordStore(settings.sqlite_url)
        result = annotate_accounts(accounts_csv, records, config, day, parse_mapping(column_map), save=False)
        outcomes = read_outcomes(outcomes_csv)
        _report_problems([*result.problems, *outcomes.problems], not records.accounts(), settings.resolved_home)
        scored_ids = {a.account_id for a in result.accounts}
        missing = sorted(set(outcomes.churned) - scored_ids)
        if missing:
            err_console.print(f"warning: {len(missing)} accounts in {outcomes_csv} are not in {accounts_csv}: {', '.join(missing[:5])}", highlight=False, markup=False)
        figures = run_backtest(result.accounts, outcomes.churned)
    if as_json:
        print_json(figures)
        return
    out_console.print(backtest_table(figures))

