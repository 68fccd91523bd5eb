"""`classify` and `eval`: run a backend over documents, without ever showing it the labels."""

from __future__ import annotations

import time
from collections.abc import Callable

from undertow.documents import Document
from undertow.eval.calibration import calibration_report
from undertow.eval.metrics import Prediction, errors, score
from undertow.extractor.backends import Classifier
from undertow.extractor.results import Classification

CHUNK = 64


def classify_all(classifier: Classifier, docs: list[Document], on_progress: Callable[[int, int], None] | None = None) -> list[Classification]:
    results: list[Classification] = []
    for start in range(0, len(docs), CHUNK):
        # Labels are stripped so no backend can read the answer it is scored on.
        chunk = [doc.model_copy(update={"labels": None, "evidence": None}) for doc in docs[start : start + CHUNK]]
        results.extend(classifier.classify(chunk))
        if on_progress:
            on_progress(min(start + CHUNK, len(docs)), len(docs))
    return results


def evaluate(classifier: Classifier, docs: list[Document], signals: list[str], on_progress=None) -> tuple[dict, list[dict], list[Classification]]:
    started = time.perf_counter()
    results = classify_all(classifier, docs, on_progress)
    seconds = time.perf_counter() - started
    predictions = [Prediction(r.labels, {f.signal: [e.quote for e in f.evidence] for f in r.flags}) for r in results]
    report = score(docs, predictions, signals)
    report["calibration"] = calibration_report(docs, [r.confidence for r in results], signals)
    report["backend"] = classifier.name
    report["seconds"] = round(seconds, 3)
    stats = classifier.stats
    if stats:
        # LLM backends report what they sent, cached, fell back on and cost.
        report["llm"] = dict(stats)
    mistakes = errors(docs, predictions, [r.confidence for r in results], signals)
    return report, mistakes, results
