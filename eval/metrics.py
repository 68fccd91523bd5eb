"""Extraction accuracy: per-signal precision/recall/F1, quiet false alarms, evidence hits.

Conventions (pinned by tests): precision with no predictions is 0, recall with no support is 0;
a signal with no support and no predictions has no F1 and is left out of the macro average
(nothing to find, nothing wrongly found); one with no support but false alarms scores 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from undertow.documents import Document


@dataclass
class Prediction:
    labels: list[str]
    evidence: dict[str, list[str]]


def _spans(text: str, quotes: list[str]) -> list[tuple[int, int]]:
    spans = []
    for quote in quotes:
        start = text.find(quote) if quote else -1
        if start >= 0:
            spans.append((start, start + len(quote)))
    return spans


def evidence_hits(text: str, predicted_quotes: list[str], gold_quotes: list[str]) -> bool:
    gold = _spans(text, gold_quotes)
    return any(a < d and c < b for a, b in _spans(text, predicted_quotes) for c, d in gold)


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float | None]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    if tp + fp + fn == 0:
        return precision, recall, None
    return precision, recall, (2 * tp / (2 * tp + fp + fn))


def _macro(f1s: list[float | None]) -> float:
    scored = [f for f in f1s if f is not None]
    return round(sum(scored) / len(scored), 4) if scored else 0.0


def judged_signals(doc: Document, signals: list[str]) -> set[str]:
    """The signals this document's annotator judged: a set labelled before a signal existed says
    nothing about that signal, so a flag for it is neither right nor wrong there."""
    return {signal for signal in signals if doc.judges(signal)}


def score(gold: list[Document], predicted: list[Prediction], signals: list[str]) -> dict:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold documents but {len(predicted)} predictions")
    counts = {s: {"tp": 0, "fp": 0, "fn": 0} for s in signals}
    by_language: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: {s: {"tp": 0, "fp": 0, "fn": 0} for s in signals})
    language_docs: dict[str, int] = defaultdict(int)
    quiet = quiet_alarmed = hits = true_positives = 0
    for doc, pred in zip(gold, predicted):
        gold_labels, pred_labels = set(doc.labels or []), set(pred.labels) & judged_signals(doc, signals)
        language = doc.language or "unknown"
        language_docs[language] += 1
        if not gold_labels:
            quiet += 1
            quiet_alarmed += bool(pred_labels)
        for signal in signals:
            outcome = (
                "tp" if signal in gold_labels and signal in pred_labels
                else "fp" if signal in pred_labels
                else "fn" if signal in gold_labels
                else None
            )
            if outcome is None:
                continue
            counts[signal][outcome] += 1
            by_language[language][signal][outcome] += 1
            if outcome == "tp":
                true_positives += 1
                hits += evidence_hits(doc.text, pred.evidence.get(signal, []), (doc.evidence or {}).get(signal, []))
    per_signal = {}
    for signal, c in counts.items():
        precision, recall, f1 = _f1(c["tp"], c["fp"], c["fn"])
        per_signal[signal] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4) if f1 is not None else None,
            "support": c["tp"] + c["fn"],
        }
    total = {k: sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn")}
    micro = _f1(total["tp"], total["fp"], total["fn"])[2]
    per_language = {}
    if len(language_docs) > 1:
        for language, lang_counts in sorted(by_language.items()):
            f1s = [_f1(c["tp"], c["fp"], c["fn"])[2] for c in lang_counts.values()]
            per_language[language] = {"macro_f1": _macro(f1s), "n_docs": language_docs[language]}
        for language in language_docs.keys() - by_language.keys():
            per_language[language] = {"macro_f1": 0.0, "n_docs": language_docs[language]}
    return {
        "n_docs": len(gold),
        "macro_f1": _macro([m["f1"] for m in per_signal.values()]),
        "micro_f1": round(micro or 0.0, 4),
        "quiet_false_alarm_rate": round(quiet_alarmed / quiet, 4) if quiet else 0.0,
        "evidence_hit_rate": round(hits / true_positives, 4) if true_positives else 0.0,
        "per_signal": per_signal,
        "per_language": per_language,
    }


def errors(gold: list[Document], predicted: list[Prediction], confidence: list[dict[str, float]], signals: list[str]) -> list[dict]:
    """False positives and negatives, the most confident mistakes first."""
    found = []
    for doc, pred, conf in zip(gold, predicted, confidence):
        gold_labels = set(doc.labels or [])
        for signal in judged_signals(doc, signals):
            if signal in pred.labels and signal not in gold_labels:
                kind, weight = "false_positive", conf.get(signal, 0.5)
            elif signal in gold_labels and signal not in pred.labels:
                kind, weight = "false_negative", 1 - conf.get(signal, 0.5)
            else:
                continue
            found.append({
                "kind": kind, "signal": signal, "id": doc.id, "language": doc.language, "confidence": conf.get(signal),
                "text": doc.text, "predicted_evidence": pred.evidence.get(signal, []),
                "gold_evidence": (doc.evidence or {}).get(signal, []), "_weight": weight,
            })
    found.sort(key=lambda e: -e["_weight"])
    for entry in found:
        entry.pop("_weight")
    return found
