"""`undertow demo`: the whole job on a generated portfolio, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import JsonOption, err_console, is_terminal, print_json, settings_for
from undertow.cli.progress import FileProgress
from undertow.cli.render_demo import demo_json, print_demo
from undertow.services.demo import demo as run_demo

# The demo's invented accounts never land in the store the nightly job uses, unless asked.
DEMO_HOME = Path("~/.undertow-demo")
DemoHomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="UNDERTOW_DEMO_HOME", help="Folder for the demo's store (default ~/.undertow-demo).", show_default=False),
]


def demo(
    home: DemoHomeOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the generated files (default: HOME/demo).")] = None,
    accounts: Annotated[int, typer.Option("--accounts", min=2, max=40, help="How many accounts to generate.")] = 40,
    seed: Annotated[int, typer.Option("--seed", help="Another seed gives another, equally realistic portfolio.")] = 7,
    as_json: JsonOption = False,
) -> None:
    """Generate a realistic demo portfolio, ingest it, and show which accounts need a human and why."""
    settings = settings_for((home or DEMO_HOME).expanduser())
    folder = out or settings.resolved_home / "demo"
    err_console.print(f"generating {accounts} accounts into {folder} and ingesting them into {settings.resolved_home} ...", highlight=False, markup=False)
    with FileProgress("Ingesting", enabled=is_terminal()) as progress:
        run = run_demo(settings, folder, accounts, seed, on_progress=progress.update)
    if as_json:
        print_json(demo_json(run))
    else:
        print_demo(run, settings.resolved_home)
