"""`undertow train`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, notice, print_json, settings_for
from undertow.errors import InputError
from undertow.services.training import train as run_train


def train(
    data: Annotated[list[Path], typer.Option("--data", help="Extra labelled JSONL to train on (repeatable).")] = [],
    dev: Annotated[
        list[Path], typer.Option(help="Development set that calibrates thresholds (repeatable; default: the synthetic one and, in a source checkout, the real one).")
    ] = [],
    out: Annotated[Path | None, typer.Option(help="Where to write the model (default: HOME/models/local.npz).")] = None,
    no_bundled: Annotated[bool, typer.Option("--no-bundled", help="Train only on --data, not on the standard training sets.")] = False,
    no_feedback: Annotated[bool, typer.Option("--no-feedback", help="Ignore CSM feedback stored in the home folder.")] = False,
    feedback_only: Annotated[
        bool, typer.Option("--feedback-only", help="Apply the stored CSM feedback to the last model trained on the data (seconds); no retraining.")
    ] = False,
    full: Annotated[bool, typer.Option("--full", help="Retrain from the data even when only feedback changed since the model was trained.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the offline classifier on the bundled set, your own labelled data and CSM feedback.

    When only feedback changed since the model was trained, the corrections are applied to it in
    seconds: each corrected document (and a near copy of it) gets the CSM's verdict."""
    if feedback_only and full:
        raise InputError("choose one of --feedback-only and --full")
    mode = "refit" if feedback_only else "full" if full else "auto"
    result = run_train(settings_for(home), data=data, dev=dev, out=out, bundled=not no_bundled, feedback=not no_feedback, mode=mode, on_notice=notice)
    report = result.report
    if as_json:
        print_json({**report.__dict__, "kind": result.kind, "total_seconds": result.seconds, "path": str(result.path)})
    elif result.kind == "refit":
        notice(f"feedback refit of {report.base_version}: model {report.version} -> {result.path} in {result.seconds}s "
               f"({report.remembered} corrected documents remembered: each decides itself and its near copies; "
               "no head or threshold moved, so no other flag changes; `--full` retrains on everything)")
    elif result.kind == "restored":
        notice(f"model {report.version} ({result.path}) in {result.seconds}s; `undertow reclassify` re-flags the stored documents with it")
    else:
        notice(f"full training: model {report.version} -> {result.path} in {result.seconds}s; thresholds {report.thresholds}")
