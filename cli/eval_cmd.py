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
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="INPUT...", help="Files or folders (.jsonl, .csv, .eml, .mbox, .txt, .md); '-' reads JSONL from stdin."),
    ],
    backend: BackendOption = "local",
    account: Annotated[str | None, typer.Option(help="Account id for documents that carry none (notes without front matter).")] = None,
    home: HomeOption = None,
) -> None:
    """Classify documents and print one JSON line per document: id, labels, evidence, confidence.

    A bad line or file is reported as `file:line: reason` and skipped; the rest is classified
    and the exit code is 1."""
    from undertow.eval.runner import classify_all
    from undertow.extractor.backends import make_classifier
    from undertow.ingest.items import ReadDocument, ReadFailure
    from undertow.ingest.sources import ReadOptions, read_all

    settings = settings_for(home)
    with user_errors():
        paths = [_stdin_as_file() if str(path) == "-" else path for path in inputs]
        docs, rejected = [], 0
        for item in read_all(paths, ReadOptions(defaults={"account_id": account} if account else {})):
            if isinstance(item, ReadFailure):
                err_console.print(str(item), highlight=False, markup=False, soft_wrap=True)
                rejected += 1
            elif isinstance(item, ReadDocument):
                docs.append(item.document)
            else:
                err_console.print(f"skipped {item}", highlight=False, markup=False, soft_wrap=True)
        classifier = make_classifier(backend, settings)
        for result in classify_all(classifier, docs):
            sys.stdout.write(json.dumps(result.to_output(), ensure_ascii=False) + "\n")
        if note := classifier.summary():
            err_console.print(note, highlight=False)
    if rejected:
        err_console.print(f"{rejected} input line(s) or file(s) rejected; {len(docs)} documents classified", highlight=False)
        raise typer.Exit(1)


def _stdin_as_file() -> Path:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as tmp:
        tmp.write(sys.stdin.read())
    return Path(tmp.name)


def _evaluate_one(dataset: Path, backend: str, settings):
    from undertow.eval.datasets import load_documents
    from undertow.eval.runner import evaluate
    from undertow.extractor.backends import make_classifier
    from undertow.prompts import signal_names

    docs = load_documents(dataset, labelled=True)
    classifier = make_classifier(backend, settings)
    err_console.print(f"evaluating {backend} on {len(docs)} documents from {dataset} ...")
    return evaluate(classifier, docs, signal_names(settings.signals_file))


def _score_predictions(dataset: Path, predictions: Path, signals: list[str]) -> dict:
    """Score `undertow classify` output (one JSON line per document) against a labelled set."""
    from undertow.eval.datasets import jsonl_rows, load_documents
    from undertow.eval.metrics import Prediction, score
    docs = load_documents(dataset, labelled=True)
    predicted: dict[str, Prediction] = {}
    for line_no, row in jsonl_rows(predictions):
        try:
            predicted[row["id"]] = Prediction(list(row.get("labels", [])), dict(row.get("evidence", {})))
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{predictions}:{line_no}: not a classify output line ({error})") from None
    missing = [doc.id for doc in docs if doc.id not in predicted]
    if missing:
        raise ValueError(f"{predictions}: no prediction for {len(missing)} documents of {dataset}, e.g. {missing[0]}")
    return score(docs, [predicted[doc.id] for doc in docs], signals) | {"backend": "predictions", "predictions": str(predictions)}


def _print_summary(result: dict, dataset: Path) -> None:
    """The figures of the Markdown report, without its list of errors."""
    from undertow.eval.report import markdown

    out_console.print(markdown(result, [], str(dataset)).split("## Worst errors")[0].rstrip(), markup=False, highlight=False)


def _set_name(path: Path) -> str:
    """'real test' for eval/data/real/test.jsonl, 'synthetic test' for the bundled one."""
    kind = "real" if path.parent.name == "real" else "synthetic"
    return f"{kind} {path.stem}"


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
    from undertow.eval.datasets import standard_sets
    from undertow.eval.report import comparison_table, write_report
    from undertow.prompts import signal_names

    settings = settings_for(home)
    datasets = [dataset] if dataset else standard_sets("test")
    if predictions:
        if dataset is None:
            raise fail("--predictions needs the labelled DATASET.jsonl they were made from")
        with user_errors():
            result = _score_predictions(dataset, predictions, signal_names(settings.signals_file))
        if as_json:
            print_json(result)
        else:
            _print_summary(result, dataset)
        return
    with user_errors():
        if compare:
            if len(compare) < 2:
                raise fail("--compare needs two or more backends, e.g. --compare local --compare hybrid")
            for path in datasets:
                reports = {name: _evaluate_one(path, name, settings)[0] for name in compare}
                if as_json:
                    print_json(reports if len(datasets) == 1 else {_set_name(path): reports})
                else:
                    out_console.print(f"# {_set_name(path)}: {path}", markup=False, highlight=False)
                    out_console.print(comparison_table(reports))
            return
        results = {path: _evaluate_one(path, backend, settings) for path in datasets}
    if report:
        path = datasets[0]
        result, mistakes, _ = results[path]
        write_report(report, result, mistakes, str(path))
        err_console.print(f"report written to {report} ({_set_name(path)})")
    if as_json:
        if len(datasets) == 1:
            print_json(results[datasets[0]][0])
        else:
            print_json({_set_name(path): {"dataset": str(path), **result} for path, (result, _, _) in results.items()})
        return
    for path, (result, _, _) in results.items():
        _print_summary(result, path)
