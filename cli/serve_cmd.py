"""`undertow serve [ACCOUNTS.csv]` and `undertow serve --demo`"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import AsOfOption, MapOption, ScorecardOption, err_console, notice, parse_date, parse_mapping, settings_for
from undertow.cli.demo_cmd import DEMO_HOME
from undertow.services import serve as serve_service


def serve(
    accounts_csv: Annotated[Path | None, typer.Argument(metavar="[ACCOUNTS.csv]", help="Account records, as for `undertow annotate`; --demo finds the demo's.", show_default=False)] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Open the portfolio `undertow demo` built (its home: UNDERTOW_DEMO_HOME or ~/.undertow-demo).")] = False,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but loopback needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free one).")] = 8765,
    token: Annotated[str | None, typer.Option("--token", envvar="UNDERTOW_WEB_TOKEN", help="Require this token on every request ('auto' makes one).", show_default=False)] = None,
    user: Annotated[str, typer.Option("--user", help="Who signs feedback and reviews until a person types a name (default: your login).")] = "",
    as_of: AsOfOption = None,
    column_map: MapOption = [],
    scorecard: ScorecardOption = None,
    home: Annotated[Path | None, typer.Option("--home", help="Folder for the store (default UNDERTOW_HOME or ~/.undertow; with --demo the demo's).", show_default=False)] = None,
) -> None:
    """Open the workspace in a browser: the portfolio, each account, feedback on flags, the review queue."""
    plan = serve_service.plan_server(host, port, token)
    if home is None and demo:
        home = Path(os.environ.get("UNDERTOW_DEMO_HOME") or DEMO_HOME).expanduser()

    def ready(url: str, accounts: int) -> None:
        err_console.print(f"{accounts} accounts; the workspace is at {url}  (Ctrl-C stops it)", highlight=False, markup=False, soft_wrap=True)

    serve_service.serve(
        settings_for(home), accounts_csv, plan, demo=demo, as_of=parse_date("--as-of", as_of), mapping=parse_mapping(column_map),
        scorecard=scorecard, user=user, on_ready=ready, on_notice=notice,
    )
