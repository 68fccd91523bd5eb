"""`undertow train`: fit the local classifier's head and calibrate its thresholds.

Sentences overlapping a gold evidence span are the positives of that signal; every other
sentence of the training set is a negative. A CSM's rejection of a flag makes all sentences of
that document negatives for that signal only (its other signals stay unknown, so are masked).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from undertow.documents import Document
from undertow.extractor import lexical
from undertow.extractor.embedding import Embedder
from undertow.extractor.local import LocalModel, sentence_features
from undertow.extractor.sentences import EmbeddedText, embed_texts


@dataclass
class LabelledExample:
    """A document with per-signal knowledge: labels/evidence where known, masked where not."""

    doc: Document
    known_signals: set[str] | None = None  # None: every signal is known (a fully labelled document)


def sentence_targets(embedded: EmbeddedText, example: LabelledExample, signals: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(targets, mask), both (sentences x signals).

    In a document labelled with a signal, only the evidence sentences are positives; its other
    sentences are masked rather than negatives, because annotators quote one clear sentence and
    the next one often says the same thing in other words.
    """
    n, k = len(embedded.sentences), len(signals)
    targets = np.zeros((n, k), dtype=np.float32)
    mask = np.ones((n, k), dtype=bool)
    evidence = example.doc.evidence or {}
    for j, signal in enumerate(signals):
        if example.known_signals is not None and signal not in example.known_signals:
            mask[:, j] = False
            continue
        for quote in evidence.get(signal, []):
            start = embedded.text.find(quote)
            while start >= 0:
                end = start + len(quote)
                for i, sentence in enumerate(embedded.sentences):
                    if sentence.start < end and start < sentence.end:
                        targets[i, j] = 1.0
                start = embedded.text.find(quote, start + 1)
        if signal in (example.doc.labels or []):
            mask[:, j] = targets[:, j] > 0
    return targets, mask


def _logistic(x, y: np.ndarray, regularisation: float) -> tuple[np.ndarray, float]:
    # Balanced weights: a signal is in perhaps 1 sentence of 40; unweighted it would never fire.
    head = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=3000)
    head.fit(x, y)
    return head.coef_[0].astype(np.float32), float(head.intercept_[0])


def fit_head(
    examples: list[LabelledExample],
    signals: list[str],
    embedder: Embedder,
    context: str = "window",
    regularisation: float = 0.3,
    lexical_regularisation: float = 3.0,
) -> tuple[LocalModel, list[EmbeddedText]]:
    embedded = embed_texts([e.doc.text for e in examples], embedder)
    features, targets, masks = [], [], []
    for example, emb in zip(examples, embedded):
        y, m = sentence_targets(emb, example, signals)
        features.append(sentence_features(emb.vectors, context))
        targets.append(y)
        masks.append(m)
    x, y, m = np.vstack(features), np.vstack(targets), np.vstack(masks)
    counts = lexical.window_counts([[s.text for s in e.sentences] for e in embedded])
    idf = lexical.fit_idf(counts)
    x_lexical = lexical.weigh(counts, idf)
    weights = np.zeros((x.shape[1], len(signals)), dtype=np.float32)
    biases = np.zeros(len(signals), dtype=np.float32)
    lexical_weights = np.zeros((lexical.N_FEATURES, len(signals)), dtype=np.float32)
    lexical_bias = np.zeros(len(signals), dtype=np.float32)
    for j, signal in enumerate(signals):
        rows = m[:, j]
        yj = y[rows, j]
        if yj.sum() == 0 or yj.sum() == len(yj):
            raise ValueError(
                f"signal {signal!r} needs both positive and negative examples to train (it has {int(yj.sum())} positive sentences)"
            )
        weights[:, j], biases[j] = _logistic(x[rows], yj, regularisation)
        lexical_weights[:, j], lexical_bias[j] = _logistic(x_lexical[rows], yj, lexical_regularisation)
    doc_weights, doc_bias = _document_head(examples, embedded, signals, regularisation)
    model = LocalModel(
        signals=list(signals),
        doc_weights=doc_weights,
        doc_bias=doc_bias,
        weights=[weights],
        biases=[biases],
        thresholds=np.full(len(signals), 0.5, dtype=np.float32),
        embed_model=embedder.name,
        context=context,
        lexical_weights=lexical_weights,
        lexical_bias=lexical_bias,
        idf=idf,
    )
    return model, embedded


def _document_head(examples, embedded, signals, regularisation) -> tuple[np.ndarray, np.ndarray]:
    """Logistic heads on each document's mean sentence vector, over documents whose label is known."""
    means = np.array([e.vectors.mean(axis=0) for e in embedded])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    weights = np.zeros((means.shape[1], len(signals)), dtype=np.float32)
    biases = np.zeros(len(signals), dtype=np.float32)
    for j, signal in enumerate(signals):
        rows = np.array([ex.known_signals is None or signal in ex.known_signals for ex in examples])
        y = np.array([signal in (ex.doc.labels or []) for ex in examples])[rows]
        weights[:, j], biases[j] = _logistic(means[rows], y, regularisation)
    return weights, biases


# Calibration trades F1 against false alarms on quiet documents: each point of a signal's quiet
# false-alarm rate costs this many points of F1 (a CSM pays for every false alarm in attention).
FALSE_ALARM_PENALTY = 2.0


def calibrate_thresholds(model: LocalModel, docs: list[Document], embedded: list[EmbeddedText]) -> dict[str, float]:
    """Per signal, the document-level threshold with the best F1, less the false-alarm penalty,
    on a development set."""
    doc_scores = np.array([scored[1] for scored in model.scores(embedded)])
    quiet = np.array([not d.labels for d in docs])
    thresholds: dict[str, float] = {}
    for j, signal in enumerate(model.signals):
        gold = np.array([signal in (d.labels or []) for d in docs])
        if not gold.any():
            thresholds[signal] = float(model.thresholds[j])
            continue
        candidates = np.unique(np.round(doc_scores[:, j], 4))
        best = (-np.inf, 0.5)
        for threshold in candidates:
            predicted = doc_scores[:, j] >= threshold
            tp = float((predicted & gold).sum())
            f1 = 2 * tp / max(float(predicted.sum() + gold.sum()), 1.0)
            false_alarms = float((predicted & quiet).sum()) / max(float(quiet.sum()), 1.0)
            objective = f1 - FALSE_ALARM_PENALTY * false_alarms
            if objective >= best[0]:  # ties go to the higher threshold: fewer false alarms
                best = (objective, float(threshold))
        thresholds[signal] = best[1]
    model.thresholds = np.array([thresholds[s] for s in model.signals], dtype=np.float32)
    return thresholds


def model_version(signals: list[str], train_docs: list[Document], context: str) -> str:
    digest = hashlib.sha256()
    for doc in train_docs:
        digest.update(doc.content_hash.encode())
        digest.update(",".join(sorted(doc.labels or [])).encode())
    digest.update(",".join(signals).encode() + context.encode())
    return f"local-{digest.hexdigest()[:12]}"


@dataclass
class TrainReport:
    signals: list[str]
    train_documents: int
    train_sentences: int
    dev_documents: int
    feedback_documents: int
    thresholds: dict[str, float]
    version: str
    seconds: float


def train_model(
    train_docs: list[Document],
    dev_docs: list[Document],
    signals: list[str],
    embedder: Embedder,
    feedback_examples: list[LabelledExample] = (),
    context: str = "window",
    regularisation: float = 0.3,
) -> tuple[LocalModel, TrainReport]:
    import time

    started = time.perf_counter()
    examples = [LabelledExample(doc) for doc in train_docs] + list(feedback_examples)
    model, embedded = fit_head(examples, signals, embedder, context=context, regularisation=regularisation)
    dev_embedded = embed_texts([d.text for d in dev_docs], embedder)
    thresholds = calibrate_thresholds(model, dev_docs, dev_embedded)
    model.meta = {
        "version": model_version(signals, [e.doc for e in examples], context),
        "train_documents": len(train_docs),
        "feedback_documents": len(feedback_examples),
        "dev_documents": len(dev_docs),
        "regularisation": regularisation,
    }
    report = TrainReport(
        signals=list(signals),
        train_documents=len(train_docs),
        train_sentences=sum(len(e.sentences) for e in embedded),
        dev_documents=len(dev_docs),
        feedback_documents=len(feedback_examples),
        thresholds={k: round(v, 4) for k, v in thresholds.items()},
        version=model.version,
        seconds=round(time.perf_counter() - started, 2),
    )
    return model, report
