"""`classify` and `eval`: run a backend over documents, and measure it on labelled sets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from undertow.errors import InputError
from undertow.services._shared import Notice, make_classifier, named_files, quiet
from undertow.settings import Settings


@dataclass
class ClassifyResult:
    outputs: list[dict]  # one per document: id, labels, evidence, confidence
    rejected: int  # input lines or files that could not be read
    classifier_note: str | None


@dataclass
class EvalResult:
    results: dict[Path, tuple[dict, list[dict], list]]  # dataset -> (figures, mistakes, classifications)
    report: Path | None = None  # the Markdown or HTML report written, of the first dataset


def set_name(path: Path) -> str:
    """'real test' for eval/data/real/test.jsonl, 'synthetic test' for the bundled one."""
    kind = "real" if path.parent.name == "real" else "synthetic"
    return f"{kind} {path.stem}"


UNASSIGNED = "unassigned"


def classify(
    settings: Settings, inputs: list[Path], *, backend: str = "local", account: str | None = None, on_notice: Notice = quiet,
    redact: bool | None = None, on_progress: Callable[[str, int, int], None] | None = None,
) -> ClassifyResult:
    """Every readable document classified; a bad line or file goes to `on_notice` and is counted,
    and so is what a reader had to guess (an encoding, a date, a text cut), as ingest says it.
    `redact` False sends text to a remote LLM unredacted."""
    from undertow.services._shared import with_redaction

    settings = with_redaction(settings, redact)
    from undertow.eval.runner import classify_all
    from undertow.ingest.items import ReadDocument, ReadFailure
    from undertow.ingest.sources import ReadOptions, read_all

    docs, rejected = [], 0
    # Classifying needs no account: a note or a pasted text without one is read, not refused.
    for item in read_all(list(inputs), ReadOptions(defaults={"account_id": account or UNASSIGNED})):
        if isinstance(item, ReadFailure):
            on_notice(str(item))
            rejected += 1
        elif isinstance(item, ReadDocument):
            docs.append(item.document)
            for line in item.warning_lines():
                on_notice(f"warning {line}")
        else:
            on_notice(f"skipped {item}")
    classifier = make_classifier(backend, settings)
    progress = (lambda done, total: on_progress("documents", done, total)) if on_progress else None
    outputs = [result.to_output() for result in classify_all(classifier, docs, progress)]
    return ClassifyResult(outputs, rejected, classifier.summary())


def datasets_for(dataset: Path | None) -> list[Path]:
    """`dataset`, or the held-out test sets (synthetic and, in a source checkout, real)."""
    from undertow.eval.datasets import standard_sets

    return [dataset] if dataset else standard_sets("test")


def evaluate(
    settings: Settings, dataset: Path | None, *, backend: str = "local", report: Path | None = None, on_notice: Notice = quiet
) -> EvalResult:
    """`backend` on each dataset; `report` gets the worst errors on the first one."""
    from undertow.eval.report import write_report

    datasets = datasets_for(dataset)
    results = {path: _evaluate_one(settings, path, backend, on_notice) for path in datasets}
    if report is None:
        return EvalResult(results)
    result, mistakes, _ = results[datasets[0]]
    with named_files():
        write_report(report, result, mistakes, str(datasets[0]))
    return EvalResult(results, report)


def compare(settings: Settings, dataset: Path | None, backends: list[str], *, on_notice: Notice = quiet) -> dict[Path, dict[str, dict]]:
    """{dataset: {backend: figures}}, each backend on each dataset."""
    if len(backends) < 2:
        raise InputError("--compare needs two or more backends, e.g. --compare local --compare hybrid")
    return {path: {name: _evaluate_one(settings, path, name, on_notice)[0] for name in backends} for path in datasets_for(dataset)}


def score_predictions(settings: Settings, dataset: Path | None, predictions: Path, *, backend: str = "local",
                      compare: list[str] = (), report: Path | None = None) -> dict:
    """Score `undertow classify` output (one JSON line per document) against a labelled set. The
    lines are held to what classify writes, as the labelled set is to the contract: a misspelt
    label would otherwise count as no label, and a repeated id as whichever came last."""
    from undertow.eval.datasets import jsonl_rows
    from undertow.eval.metrics import Prediction, score
    from undertow.store.home import Home

    if dataset is None:
        raise InputError("--predictions needs the labelled DATASET.jsonl they were made from")
    if backend != "local" or compare or report:
        raise InputError("--predictions scores lines already classified: --backend, --compare and --report run a backend instead; pick one")
    signals = Home(settings).signal_names
    predicted: dict[str, Prediction] = {}
    first_line: dict[str, int] = {}
    with named_files():
        docs = _labelled(dataset, signals)
        for line_no, row in jsonl_rows(predictions):
            doc_id, prediction = _prediction(row, signals, f"{predictions}:{line_no}")
            if doc_id in first_line:
                raise InputError(f"{predictions}:{line_no}: id {doc_id!r} again (first on line {first_line[doc_id]})")
            first_line[doc_id], predicted[doc_id] = line_no, prediction
    missing = [doc.id for doc in docs if doc.id not in predicted]
    if missing:
        raise InputError(f"{predictions}: no prediction for {len(missing)} documents of {dataset}, e.g. {missing[0]}")
    return score(docs, [predicted[doc.id] for doc in docs], signals) | {"backend": "predictions", "predictions": str(predictions)}


def _prediction(row, signals: list[str], where: str):
    """(id, Prediction) of one classify output line, or an InputError naming `where`."""
    from undertow.eval.datasets import undefined_labels
    from undertow.eval.metrics import Prediction

    if not isinstance(row, dict) or not isinstance(row.get("id"), (str, int)) or isinstance(row.get("id"), bool):
        raise InputError(f"{where}: not a classify output line: an object with an 'id' is expected")
    labels, evidence = row.get("labels", []), row.get("evidence", {})
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise InputError(f"{where}: 'labels' must be a list of signal names, got {labels!r}")
    undefined = undefined_labels(labels, signals)
    if undefined:
        raise InputError(f"{where}: {undefined}")
    if not isinstance(evidence, dict) or not all(isinstance(q, list) and all(isinstance(x, str) for x in q) for q in evidence.values()):
        raise InputError(f"{where}: 'evidence' must map each signal to a list of quotes")
    return str(row["id"]), Prediction(labels, evidence)


def _labelled(dataset: Path, signals: list[str]) -> list:
    from undertow.eval.datasets import load_documents

    docs = load_documents(dataset, labelled=True, signals=signals, unique_ids=True)
    if not docs:  # scores of 0 for no documents would read as a model that found nothing
        raise InputError(f"{dataset}: no labelled documents: nothing to score")
    return docs


def _evaluate_one(settings: Settings, dataset: Path, backend: str, on_notice: Notice):
    from undertow.eval.runner import evaluate as run
    from undertow.store.home import Home

    signals = Home(settings).signal_names
    with named_files():
        docs = _labelled(dataset, signals)
    classifier = make_classifier(backend, settings)
    on_notice(f"evaluating {backend} on {len(docs)} documents from {dataset} ...")
    return run(classifier, docs, signals)
