"""Labelled sets in the SIGNALS.md format: load them, and check them against the contract."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from undertow.documents import Document
from undertow.errors import InputError

BUNDLED_SPLITS = ("train", "dev", "test")
# Real texts (see eval/data/real/README.md) are kept in the source repository, not in the wheel:
# they are other people's words. Commands use them when they run from a checkout.
REAL_DIR_NAME = "data/real"
# Sets that answer one question each (e.g. `churn_holdout`: churn intent against its look-alikes),
# scored by their own module under eval/. No training or calibration path reads them.
HOLDOUT_SETS = ("churn_holdout",)


class DatasetError(InputError):
    pass


def _split_path(folder: str, split: str) -> Path:
    if split not in BUNDLED_SPLITS:
        raise ValueError(f"unknown split {split!r}: one of {', '.join(BUNDLED_SPLITS)}")
    return Path(str(resources.files("undertow.eval").joinpath(f"{folder}/{split}.jsonl")))


def bundled_path(split: str) -> Path:
    """`train`, `dev` or `test`: the labelled sets that ship with the package."""
    return _split_path("data", split)


def real_path(split: str) -> Path:
    """`train`, `dev` or `test` of the real-text corpus; it exists only in a source checkout."""
    return _split_path(REAL_DIR_NAME, split)


def holdout_path(name: str) -> Path:
    """A named held-out set that ships with the package, e.g. `churn_holdout`."""
    if name not in HOLDOUT_SETS:
        raise ValueError(f"unknown held-out set {name!r}: one of {', '.join(HOLDOUT_SETS)}")
    return Path(str(resources.files("undertow.eval").joinpath(f"data/{name}.jsonl")))


def standard_sets(split: str) -> list[Path]:
    """The synthetic set of a split, and the real one where this checkout has it."""
    return [bundled_path(split)] + [p for p in [real_path(split)] if p.exists()]


def jsonl_rows(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, parsed value) for every non-blank line; a line that is not JSON stops the
    read with `file:line: reason`, since a scored set with silently missing lines would report a
    wrong figure."""
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{path}:{line_no}: {_first_error(error)}") from None


def load_documents(path: Path, labelled: bool, *, signals: Iterable[str] | None = None, unique_ids: bool = False) -> list[Document]:
    """Every line a Document; a bad line stops the load with `file:line: reason`.

    `signals`: the labels a labelled set may use (the home's signals); `unique_ids`: refuse an id
    seen on an earlier line. A scored set needs both: a label no backend can predict scores as a
    miss, and predictions are looked up by id, so a repeated id is scored twice against one line."""
    known = set(signals) if signals is not None else None
    first_line: dict[str, int] = {}
    docs: list[Document] = []
    for line_no, raw in jsonl_rows(path):
        try:
            doc = Document.model_validate(raw)
        except ValidationError as error:
            raise DatasetError(f"{path}:{line_no}: {_first_error(error)}") from None
        if labelled:
            problem = contract_problem(doc, known)
            if problem:
                raise DatasetError(f"{path}:{line_no}: {problem}")
        if unique_ids:
            if doc.id in first_line:
                raise DatasetError(f"{path}:{line_no}: id {doc.id} repeats line {first_line[doc.id]}")
            first_line[doc.id] = line_no
        docs.append(doc)
    return docs


def undefined_labels(labels, signals) -> str | None:
    """Why labels no signal defines are refused, in the words every labelled input uses (gold and
    training sets, classify output); None when every label is defined."""
    undefined = sorted(set(labels) - set(signals))
    if not undefined:
        return None
    return f"labels {undefined} are not defined (the signals are {', '.join(sorted(signals))}; a new signal is added in the home's signals.yaml)"


def contract_problem(doc: Document, signals: set[str] | None = None) -> str | None:
    """Why a labelled document breaks the contract, or None."""
    if doc.labels is None or doc.evidence is None:
        return "a labelled set needs 'labels' and 'evidence' on every line"
    if signals is not None and set(doc.labels) - signals:
        return undefined_labels(doc.labels, signals)
    if doc.labelled_signals is not None and set(doc.labels) - set(doc.labelled_signals):
        return f"labels {sorted(set(doc.labels) - set(doc.labelled_signals))} are not among its labelled_signals"
    if set(doc.evidence) != set(doc.labels):
        return f"evidence keys {sorted(doc.evidence)} do not match labels {sorted(doc.labels)}"
    for signal, quotes in doc.evidence.items():
        if not quotes:
            return f"no evidence for {signal}"
        for quote in quotes:
            if quote not in doc.text:
                return f"evidence for {signal} is not a verbatim substring of the text: {quote[:60]!r}"
    return None


def _first_error(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "line"
        return f"{where}: {first['msg']}"
    return f"not valid JSON ({error})"
