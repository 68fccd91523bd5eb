"""Does a confidence of 0.8 come true eight times in ten? Expected calibration error per signal.

A CSM reads "silent_dissatisfaction 0.97" as near certainty; this measures whether it is. Each
signal's confidences are put in ten equal-width bins; ECE is the document-weighted mean gap
between a bin's mean confidence and how often the signal was really there. Only documents whose
annotator judged the signal count (see metrics.judged_signals).
"""

from __future__ import annotations

from undertow.documents import Document

BINS = 10


def _bin(confidence: float) -> int:
    return min(int(confidence * BINS), BINS - 1)


def expected_calibration_error(confidences: list[float], outcomes: list[bool]) -> float | None:
    if not confidences:
        return None
    totals = [[0, 0.0, 0] for _ in range(BINS)]  # documents, summed confidence, times present
    for confidence, present in zip(confidences, outcomes):
        cell = totals[_bin(confidence)]
        cell[0] += 1
        cell[1] += confidence
        cell[2] += int(present)
    gap = sum(abs(summed / n - hits / n) * n for n, summed, hits in totals if n)
    return round(gap / len(confidences), 4)


def calibration_report(gold: list[Document], confidences: list[dict[str, float]], signals: list[str]) -> dict:
    """ECE per signal and a reliability table over all signals (bins with their observed rate)."""
    per_signal: dict[str, tuple[list[float], list[bool]]] = {s: ([], []) for s in signals}
    for doc, confidence in zip(gold, confidences):
        labels = set(doc.labels or [])
        for signal in signals:
            if doc.judges(signal) and signal in confidence:
                per_signal[signal][0].append(float(confidence[signal]))
                per_signal[signal][1].append(signal in labels)
    ece = {signal: expected_calibration_error(*values) for signal, values in per_signal.items()}
    pooled = [(c, o) for values in per_signal.values() for c, o in zip(*values)]
    table = []
    for index in range(BINS):
        cell = [(c, o) for c, o in pooled if _bin(c) == index]
        if cell:
            table.append({
                "bin": f"{index / BINS:.1f}-{(index + 1) / BINS:.1f}",
                "n": len(cell),
                "mean_confidence": round(sum(c for c, _ in cell) / len(cell), 3),
                "observed": round(sum(o for _, o in cell) / len(cell), 3),
            })
    known = [value for value in ece.values() if value is not None]
    return {"ece": ece, "max_ece": max(known) if known else None, "reliability": table}
