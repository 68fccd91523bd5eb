"""`undertow eval [DATASET.jsonl]`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import BackendOption, HomeOption, JsonOption, notice, out_console, print_json, settings_for
from undertow.services import evaluation
from undertow.services.evaluation import set_name


def eval_command(
    dataset: Annotated[
        Path | None, typer.Argument(metavar="DATASET.jsonl", help="Labelled set (default: the held-out test sets, synthetic and, in a source checkout, real).")
    ] = None,
    backend: BackendOption = "local",
    compare: Annotated[list[str], typer.Option("--compare", help="Compare backends side by side, e.g. --compare local --compare hybrid.")] = [],
    report: Annotated[Path | None, typer.Option("--report", help="Write a Markdown (.md) or HTML (.html) report with the worst errors.")] = None,
    predictions: Annotated[
        Path | None, typer.Option("--predictions", help="Score these `undertow classify` output lines instead of running a backend.")
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure extraction accuracy on a labelled set (labels are never shown to the backend)."""
    from undertow.eval.report import comparison_table

    settings = settings_for(home)
    if predictions:
        result = evaluation.score_predictions(settings, dataset, predictions, backend=backend, compare=compare, report=report)
        if as_json:
            print_json(result)
        else:
            _print_summary(result, dataset)
        return
    if compare:
        compared = evaluation.compare(settings, dataset, compare, on_notice=notice)
        for path, reports in compared.items():
            if as_json:
                print_json(reports if len(compared) == 1 else {set_name(path): reports})
            else:
                out_console.print(f"# {set_name(path)}: {path}", markup=False, highlight=False)
                out_console.print(comparison_table(reports))
        return
    run = evaluation.evaluate(settings, dataset, backend=backend, report=report, on_notice=notice)
    if run.report:
        notice(f"report written to {run.report} ({set_name(next(iter(run.results)))})")
    if as_json:
        if len(run.results) == 1:
            print_json(next(iter(run.results.values()))[0])
        else:
            print_json({set_name(path): {"dataset": str(path), **result} for path, (result, _, _) in run.results.items()})
        return
    for path, (result, _, _) in run.results.items():
        _print_summary(result, path)


def _print_summary(result: dict, dataset: Path) -> None:
    """The figures of the Markdown report, without its list of errors."""
    from undertow.eval.report import markdown

    out_console.print(markdown(result, [], str(dataset)).split("## Worst errors")[0].rstrip(), markup=False, highlight=False)
