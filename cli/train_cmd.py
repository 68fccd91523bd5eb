"""`undertow train`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, err_console, print_json, settings_for
from undertow.services.training import train as run_train


def train(
    data: Annotated[list[Path], typer.Option("--data", help="Extra labelled JSONL to train on (repeatable).")] = [],
    dev: Annotated[
        list[Path], typer.Option(help="Development set that calibrates thresholds (repeatable; default: the synthetic one and, in a source checkout, the real one).")
    ] = [],
    out: Annotated[Path | None, typer.Option(help="Where to write the model (default: HOME/models/local.npz).")] = None,
    no_bundled: Annotated[bool, typer.Option("--no-bundled", help="Train only on --data, not on the standard training sets.")] = False,
    no_feedback: Annotated[bool, typer.Option("--no-feedback", help="Ignore CSM feedback stored in the home folder.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the offline classifier on the bundled set, your own labelled data and CSM feedback."""
    result = run_train(settings_for(home), data=data, dev=dev, out=out, bundled=not no_bundled, feedback=not no_feedback, on_notice=err_console.print)
    report = result.report
    if as_json:
        print_json({**report.__dict__, "path": str(result.path)})
    else:
        err_console.print(f"model {report.version} -> {result.path} ({report.seconds}s); thresholds {report.thresholds}")
