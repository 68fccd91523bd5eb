"""`undertow nightly --config FILE`: the whole nightly job, and the summary a person reads in the morning."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import JsonOption, err_console, is_terminal, notice, print_json
from undertow.cli.progress import FileProgress
from undertow.cli.render_nightly import render_plan, render_report
from undertow.errors import InputError
from undertow.services.nightly import example_config
from undertow.services.nightly import nightly as run_nightly


def nightly(
    config: Annotated[Path | None, typer.Option("--config", help="The nightly job's TOML file (see --print-example-config).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the config and list what would be read; read and write nothing.")] = False,
    print_example: Annotated[bool, typer.Option("--print-example-config", help="Print a commented example config and exit.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Ingest every source, score the accounts export and write the outputs, from one config file."""
    if print_example:
        typer.echo(example_config(), nl=False)
        return
    if config is None:
        raise InputError("pass --config FILE; `undertow nightly --print-example-config` prints one to start from")
    with FileProgress("Ingesting", enabled=is_terminal() and not dry_run) as progress:
        result = run_nightly(
            config, dry_run=dry_run, on_step=notice, on_progress=progress.update, on_notice=notice,
            on_failure=lambda failure: err_console.print(f"rejected {failure}", style="yellow", highlight=False, markup=False, soft_wrap=True),
        )
    if as_json:
        print_json(result.as_dict())
    elif dry_run:
        render_plan(result)
    else:
        render_report(result)
    raise typer.Exit(result.exit_code)
