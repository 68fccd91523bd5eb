"""`undertow classify` and `undertow eval`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, err_console, fail, out_console, print_json, settings_for, user_errors

BackendOption = Annotated[str, typer.Option("--backend", help="local (offline), llm, or hybrid.")]


def classify(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT.jsonl", help="Documents in the SIGNALS.md format; '-' reads stdin.")],
    backend: BackendOption = "local",
    home: HomeOption = None,
) -> None:
    """Classify documents and print one JSON line per document: id, labels, evidence, confidence."""
    from undertow.eval.datasets import load_documents
    from undertow.extractor.backends import make_classifier
    from undertow.eval.runner import classify_all

    settings = settings_for(home)
    with user_errors():
        if str(input_path) == "-":
            import tempfile

            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as tmp:
                tmp.write(sys.stdin.read())
            input_path = Path(tmp.name)
        docs = load_documents(input_path, labelled=False)
        classifier = make_classifier(backend, settings)
        for result in classify_all(classifier, docs):
            sys.stdout.write(json.dumps(result.to_output(), ensure_ascii=False) + "\n")
        if hasattr(classifier, "summary"):
            err_console.print(classifier.summary(), highlight=False)


def _evaluate_one(dataset: Path, backend: str, settings):
    from undertow.eval.datasets import load_documents
    from undertow.eval.runner import evaluate
    from undertow.extractor.backends import make_classifier
    from undertow.prompts import signal_names

    docs = load_documents(dataset, labelled=True)
    classifier = make_classifier(backend, settings)
    err_console.print(f"evaluating {backend} on {len(docs)} documents from {dataset} ...")
    return evaluate(classifier, docs, signal_names())


def eval_command(
    dataset: Annotated[Path | None, typer.Argument(metavar="DATASET.jsonl", help="Labelled set (default: the bundled development set).")] = None,
    backend: BackendOption = "local",
    compare: Annotated[list[str], typer.Option("--compare", help="Compare backends side by side, e.g. --compare local --compare hybrid.")] = [],
    report: Annotated[Path | None, typer.Option("--report", help="Write a Markdown (.md) or HTML (.html) report with the worst errors.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure extraction accuracy on a labelled set (labels are never shown to the backend)."""
    from undertow.eval.datasets import bundled_path
    from undertow.eval.report import comparison_table, write_report

    settings = settings_for(home)
    dataset = dataset or bundled_path("dev")
    with user_errors():
        if compare:
            if len(compare) < 2:
                raise fail("--compare needs two or more backends, e.g. --compare local --compare hybrid")
            reports = {name: _evaluate_one(dataset, name, settings)[0] for name in compare}
            if as_json:
                print_json(reports)
            else:
                out_console.print(comparison_table(reports))
            return
        result, mistakes, _ = _evaluate_one(dataset, backend, settings)
    if report:
        write_report(report, result, mistakes, str(dataset))
        err_console.print(f"report written to {report}")
    if as_json:
        print_json(result)
        return
    from undertow.eval.report import markdown

    out_console.print(markdown(result, [], str(dataset)).split("## Worst errors")[0].rstrip(), markup=False, highlight=False)
