"""`undertow train`: fit the local classifier's heads and combiner, and calibrate its thresholds.

Sentences overlapping a gold evidence span are the positives of that signal; every other
sentence of the training set is a negative. A CSM's rejection of a flag makes all sentences of
that document negatives for that signal only (its other signals stay unknown, so are masked).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, parallel_config
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from undertow.documents import Document
from undertow.extractor import lexical, plain_heads, stacking
from undertow.extractor.embedding import Embedder
from undertow.extractor.local import LocalModel, sentence_features
from undertow.extractor.sentences import EmbeddedText, document_vector, embed_texts


@dataclass
class LabelledExample:
    """A document with per-signal knowledge: labels/evidence where known, masked where not."""

    doc: Document
    known_signals: set[str] | None = None  # None: every signal is known (a fully labelled document)
    # A CSM's correction is a judgement on the customer's own text, worth more than one example
    # among thousands; see FEEDBACK_WEIGHT in extractor/feedback.py.
    weight: float = 1.0


def labelled_example(doc: Document) -> LabelledExample:
    """A training document; signals its annotator never judged stay masked."""
    return LabelledExample(doc, set(doc.labelled_signals) if doc.labelled_signals is not None else None)


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


def _logistic(x, y: np.ndarray, regularisation: float, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    if y.min() == y.max():
        # A fold that holds out every example of a signal (a small team set written in one batch)
        # learns nothing about it: a constant head, rather than no out-of-fold scores at all.
        return np.zeros(x.shape[1], dtype=np.float32), (-10.0 if y.max() == 0 else 10.0)
    # Balanced weights: a signal is in perhaps 1 sentence of 40; unweighted it would never fire.
    head = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=3000)
    if not sparse.issparse(x):
        head.fit(x, y, sample_weight=sample_weight)
        return head.coef_[0].astype(np.float32), float(head.intercept_[0])
    # Most hashed n-gram columns never occur in a given training set, and under an L2 penalty
    # their weight is exactly zero: fitting only the columns that occur gives the same head faster.
    used = np.unique(x.indices)
    head.fit(x[:, used], y, sample_weight=sample_weight)
    weights = np.zeros(x.shape[1], dtype=np.float32)
    weights[used] = head.coef_[0]
    return weights, float(head.intercept_[0])


def _first_stage(
    examples: list[LabelledExample],
    embedded: list[EmbeddedText],
    signals: list[str],
    embed_model: str,
    context: str,
    regularisation: float,
    lexical_regularisation: float,
    lexical_counts: tuple | None = None,
    strict: bool = True,
) -> LocalModel:
    """Sentence heads (semantic and lexical, on the sentence windows) and document heads.
    `lexical_counts` are these documents' n-gram counts when the caller already has them."""
    x, y, m, w = sentence_matrix(examples, embedded, signals, context)
    windows, whole = lexical_counts or lexical.counts([[s.text for s in e.sentences] for e in embedded])
    idf, doc_idf = lexical.fit_idf(windows), lexical.fit_idf(whole)
    x_lexical = lexical.weigh(windows, idf)
    weights = np.zeros((x.shape[1], len(signals)), dtype=np.float32)
    biases = np.zeros(len(signals), dtype=np.float32)
    lexical_weights = np.zeros((lexical.N_FEATURES, len(signals)), dtype=np.float32)
    lexical_bias = np.zeros(len(signals), dtype=np.float32)
    for j, signal in enumerate(signals):
        rows = m[:, j]
        yj = y[rows, j]
        if strict and (yj.sum() == 0 or yj.sum() == len(yj)):
            raise ValueError(
                f"signal {signal!r} needs both positive and negative examples to train (it has {int(yj.sum())} positive sentences)"
            )
        weights[:, j], biases[j] = _logistic(x[rows], yj, regularisation, w[rows])
        lexical_weights[:, j], lexical_bias[j] = _logistic(x_lexical[rows], yj, lexical_regularisation, w[rows])
    means = np.array([document_vector(e) for e in embedded])
    doc_weights, doc_bias = _document_heads(examples, means, signals, regularisation)
    doc_lexical_weights, doc_lexical_bias = _document_heads(examples, lexical.weigh(whole, doc_idf), signals, DOCUMENT_LEXICAL_REGULARISATION)
    return LocalModel(
        signals=list(signals),
        weights=[weights],
        biases=[biases],
        thresholds=np.full(len(signals), 0.5, dtype=np.float32),
        embed_model=embed_model,
        context=context,
        lexical_weights=lexical_weights,
        lexical_bias=lexical_bias,
        idf=idf,
        doc_weights=doc_weights,
        doc_bias=doc_bias,
        doc_lexical_weights=doc_lexical_weights,
        doc_lexical_bias=doc_lexical_bias,
        doc_idf=doc_idf,
    )


# Whole documents are few and their n-grams many: a weaker penalty than the sentence heads'.
DOCUMENT_LEXICAL_REGULARISATION = 10.0


def sentence_matrix(examples: list[LabelledExample], embedded: list[EmbeddedText], signals: list[str], context: str) -> tuple[np.ndarray, ...]:
    """Every training sentence as a row: (window features, targets, masks, example weights)."""
    features, targets, masks = [], [], []
    for example, emb in zip(examples, embedded):
        y, m = sentence_targets(emb, example, signals)
        features.append(sentence_features(emb.vectors, context))
        targets.append(y)
        masks.append(m)
    weights = np.concatenate([np.full(len(e.sentences), ex.weight, dtype=np.float32) for ex, e in zip(examples, embedded)])
    return np.vstack(features), np.vstack(targets), np.vstack(masks), weights


def _document_heads(examples, x, signals, regularisation) -> tuple[np.ndarray, np.ndarray]:
    """Per-signal logistic heads on one row per document, over documents whose label is known."""
    weights = np.zeros((x.shape[1], len(signals)), dtype=np.float32)
    biases = np.zeros(len(signals), dtype=np.float32)
    known = _known(examples, signals)
    targets = _document_targets(examples, signals)
    document_weights = np.array([ex.weight for ex in examples], dtype=np.float32)
    for j in range(len(signals)):
        rows = known[:, j]
        weights[:, j], biases[j] = _logistic(x[rows], targets[rows, j], regularisation, document_weights[rows])
    return weights, biases


def _known(examples: list[LabelledExample], signals: list[str]) -> np.ndarray:
    return np.array([[ex.known_signals is None or s in ex.known_signals for s in signals] for ex in examples])


def _document_targets(examples: list[LabelledExample], signals: list[str]) -> np.ndarray:
    return np.array([[s in (ex.doc.labels or []) for s in signals] for ex in examples])


def fit_plain_heads(examples: list[LabelledExample], embedded: list[EmbeddedText], signals: list[str], context: str) -> plain_heads.PlainHeads:
    """The plain view: a sentence head and a document head per signal, on embeddings only."""
    x, y, m, w = sentence_matrix(examples, embedded, signals, context)
    sentence_weights = np.zeros((x.shape[1], len(signals)), dtype=np.float32)
    sentence_bias = np.zeros(len(signals), dtype=np.float32)
    for j in range(len(signals)):
        sentence_weights[:, j], sentence_bias[j] = _logistic(x[m[:, j]], y[m[:, j], j], plain_heads.REGULARISATION, w[m[:, j]])
    documents = plain_heads.document_features(embedded)
    document_weights, document_bias = _document_heads(examples, documents, signals, plain_heads.REGULARISATION)
    return plain_heads.PlainHeads(sentence_weights, sentence_bias, document_weights, document_bias)


FOLDS = 5
TRAINING_WORKERS = 2


def writer_folds(examples: list[LabelledExample], folds: int = FOLDS) -> np.ndarray:
    """A fold number per example, keeping each batch of writing (the id up to its last '-',
    e.g. 'tr-xde') in one fold, so out-of-fold scores are scores on unseen writers.

    Batches are spread round-robin in a fixed, hashed order: the same data gives the same folds."""
    batches = [ex.doc.id.rsplit("-", 1)[0] if "-" in ex.doc.id else ex.doc.id for ex in examples]
    distinct = sorted(set(batches), key=lambda b: hashlib.sha256(b.encode()).hexdigest())
    if len(distinct) < folds:  # one writer, or ids without batches: fold by position instead
        return np.arange(len(examples)) % folds
    fold_of = {batch: i % folds for i, batch in enumerate(distinct)}
    return np.array([fold_of[b] for b in batches])


def fit_model(
    examples: list[LabelledExample],
    signals: list[str],
    embedder: Embedder,
    context: str = "window",
    regularisation: float = 0.3,
    lexical_regularisation: float = 3.0,
) -> tuple[LocalModel, list[EmbeddedText]]:
    """First-stage heads on all examples, and a combiner trained on their out-of-fold scores."""
    embedded = embed_texts([e.doc.text for e in examples], embedder)
    options = dict(signals=signals, embed_model=embedder.name, context=context, regularisation=regularisation, lexical_regularisation=lexical_regularisation)
    fold = writer_folds(examples)
    # Hashing n-grams is a quarter of the training time: count once, slice per fold.
    windows, whole = lexical.counts([[s.text for s in e.sentences] for e in embedded])
    first_row = np.concatenate([[0], np.cumsum([len(e.sentences) for e in embedded])])

    def counts_of(documents: np.ndarray) -> tuple:
        rows = np.concatenate([np.arange(first_row[i], first_row[i + 1]) for i in documents])
        return windows[rows], whole[documents]

    def out_of_fold(k: int) -> tuple[np.ndarray, np.ndarray]:
        held_out, kept = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        partial = _first_stage([examples[i] for i in kept], [embedded[i] for i in kept], **options, lexical_counts=counts_of(kept), strict=False)
        return held_out, stacking.document_features(partial.first_stage([embedded[i] for i in held_out]))

    # The folds, the final heads and the plain view are independent fits: two worker processes
    # with one BLAS thread each use both cores without fighting over them (threads did not, and
    # two BLAS threads per worker oversubscribe). One thread each also fixes the order of the
    # sums, so the model is the same on every run.
    tasks = [delayed(out_of_fold)(k) for k in range(FOLDS) if (fold == k).any()]
    tasks += [delayed(_first_stage)(examples, embedded, **options, lexical_counts=(windows, whole)), delayed(fit_plain_heads)(examples, embedded, signals, context)]
    with parallel_config(backend="loky", inner_max_num_threads=1):
        *folds, model, plain = Parallel(n_jobs=TRAINING_WORKERS)(tasks)
    features = np.zeros((len(examples),) + folds[0][1].shape[1:], dtype=np.float32)
    for held_out, scored in folds:
        features[held_out] = scored
    model.combiner_weights, model.combiner_bias = stacking.fit_combiner(features, _document_targets(examples, signals), _known(examples, signals))
    model.plain = plain
    return model, embedded


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
        # Documents whose annotator never judged this signal say nothing about its threshold.
        judged = np.array([d.judges(signal) for d in docs])
        gold = np.array([signal in (d.labels or []) for d in docs])[judged]
        scores, quiet_judged = doc_scores[judged, j], quiet[judged]
        if not gold.any():
            thresholds[signal] = float(model.thresholds[j])
            continue
        candidates = np.unique(np.round(scores, 4))
        best = (-np.inf, 0.5)
        for threshold in candidates:
            predicted = scores >= threshold
            tp = float((predicted & gold).sum())
            f1 = 2 * tp / max(float(predicted.sum() + gold.sum()), 1.0)
            false_alarms = float((predicted & quiet_judged).sum()) / max(float(quiet_judged.sum()), 1.0)
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
    examples = [labelled_example(doc) for doc in train_docs] + list(feedback_examples)
    model, embedded = fit_model(examples, signals, embedder, context=context, regularisation=regularisation)
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
