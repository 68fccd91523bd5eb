"""`undertow report ACCOUNTS.csv --html FILE`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import (
    AsOfOption, HomeOption, JsonOption, MapOption, ScorecardOption, err_console, notice, parse_date, parse_mapping, print_json, settings_for,
)
from undertow.services import report as report_service


def report(
    accounts_csv: Annotated[Path, typer.Argument(metavar="ACCOUNTS.csv", help="Account records, as for `undertow annotate`.")],
    html: Annotated[Path, typer.Option("--html", metavar="FILE.html", help="Write the portfolio as one self-contained HTML page.")],
    as_of: AsOfOption = None,
    column_map: MapOption = [],
    scorecard: ScorecardOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The portfolio on one static page to attach to an e-mail: bands, ARR at risk, renewals, the review queue."""
    result = report_service.portfolio_report(
        settings_for(home), accounts_csv, html, as_of=parse_date("--as-of", as_of), mapping=parse_mapping(column_map),
        scorecard=scorecard, on_notice=notice,
    )
    summary = result.summary
    if as_json:
        print_json({"html": str(result.html), **summary})
    else:
        err_console.print(
            f"{summary['accounts']} accounts as of {summary['as_of']}: {summary['review']} to review, "
            f"ARR at risk {summary['arr_at_risk']:,.0f}; written to {result.html}",
            highlight=False, markup=False,
        )
    raise typer.Exit(1 if result.bad_input else 0)
