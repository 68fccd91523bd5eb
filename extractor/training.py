"""`undertow train`: fit the local classifier's heads and combiner, and calibrate its thresholds.

Sentences overlapping a gold evidence span are the positives of that signal; every other
sentence of the training set is a negative. A CSM's rejection of a flag makes all sentences of
that document negatives for that signal only (its other signals stay unknown, so are masked).

Every setting comes from one `TrainingConfig` (extractor/card.py); the model carries it, with the
digests of what it was trained and calibrated on, in its card.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed, parallel_config
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from undertow.extractor import lexical, plain_heads, stacking
from undertow.extractor.calibration import fit_map
from undertow.extractor.card import (
    DataFile,
    Figures,
    ModelCard,
    TrainingConfig,
    display_path,
    documents_digest,
    file_digest,
    library_versions,
)
from undertow.extractor.corrections import correction_memory
from undertow.extractor.embedding import Embedder
from undertow.extractor.local import LocalModel, sentence_features
from undertow.extractor.sentences import EmbeddedText, document_vector, embed_texts, sentences_quoting

from undertow.documents import Document

# Two worker processes with one BLAS thread each use both cores of a small machine; the model is
# the same whatever the number, so it is not a training setting.
TRAINING_WORKERS = 2


@dataclass
class LabelledExample:
    """A document with per-signal knowledge: labels/evidence where known, masked where not."""

    doc: Document
    known_signals: set[str] | None = None  # None: every signal is known (a fully labelled document)
    # The batch of writing it comes from (one writer's set, or one gathering of real text): out-of-
    # fold scores hold a whole group out, so they are scores on unseen writers. None: its account.
    group: str | None = None
    # A CSM's correction, judged on the customer's own text: it weighs TrainingConfig.feedback_weight.
    feedback: bool = False

    @property
    def fold_group(self) -> str:
        return self.group if self.group is not None else f"account:{self.doc.account_id}"


@dataclass
class LabelledSet:
    """A labelled file as training reads it, with the name and digest the model card records."""

    path: str
    sha256: str
    examples: list[LabelledExample]

    @property
    def docs(self) -> list[Document]:
        return [example.doc for example in self.examples]

    def card_entry(self) -> DataFile:
        return DataFile(path=self.path, sha256=self.sha256, documents=len(self.examples))


def labelled_example(doc: Document, group: str | None = None) -> LabelledExample:
    """A training document; signals its annotator never judged stay masked."""
    return LabelledExample(doc, set(doc.labelled_signals) if doc.labelled_signals is not None else None, group=group)


def load_labelled_set(path: Path, signals: Sequence[str] | None = None) -> LabelledSet:
    """A labelled JSONL file (the documented format), each line's optional `group` field kept as
    its fold group; a line that breaks the contract (or, given `signals`, uses a label none of
    them defines) stops the load with `file:line: reason`."""
    from undertow.eval.datasets import jsonl_rows, load_documents

    docs = load_documents(path, labelled=True, signals=signals)
    groups = [row.get("group") if isinstance(row, dict) else None for _, row in jsonl_rows(path)]
    examples = [labelled_example(doc, None if group is None else str(group)) for doc, group in zip(docs, groups)]
    return LabelledSet(display_path(path), file_digest(path), examples)


def documents_set(docs: Sequence[Document], name: str) -> LabelledSet:
    """Documents a caller already holds, as one set: the digest is of their content and labels."""
    return LabelledSet(name, documents_digest(list(docs)), [labelled_example(doc) for doc in docs])


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
        targets[sentences_quoting(embedded, evidence.get(signal, [])), j] = 1.0
        if signal in (example.doc.labels or []):
            mask[:, j] = targets[:, j] > 0
    return targets, mask


def _logistic(x, y: np.ndarray, regularisation: float, sample_weight: np.ndarray | None = None, max_iter: int = 3000) -> tuple[np.ndarray, float]:
    if y.min() == y.max():
        # A fold that holds out every example of a signal (a small team set written in one batch)
        # learns nothing about it: a constant head, rather than no out-of-fold scores at all.
        return np.zeros(x.shape[1], dtype=np.float32), (-10.0 if y.max() == 0 else 10.0)
    # Balanced weights: a signal is in perhaps 1 sentence of 40; unweighted it would never fire.
    head = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=max_iter)
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
    config: TrainingConfig,
    lexical_counts: tuple | None = None,
    strict: bool = True,
) -> LocalModel:
    """Sentence heads (semantic and lexical, on the sentence windows) and document heads.
    `lexical_counts` are these documents' n-gram counts when the caller already has them."""
    x, y, m, w = sentence_matrix(examples, embedded, signals, config)
    windows, whole = lexical_counts or _lexical_counts(embedded, config)
    idf, doc_idf = lexical.fit_idf(windows), lexical.fit_idf(whole)
    x_lexical = lexical.weigh(windows, idf)
    weights = np.zeros((x.shape[1], len(signals)), dtype=np.float32)
    biases = np.zeros(len(signals), dtype=np.float32)
    lexical_weights = np.zeros((config.hashed_features, len(signals)), dtype=np.float32)
    lexical_bias = np.zeros(len(signals), dtype=np.float32)
    for j, signal in enumerate(signals):
        rows = m[:, j]
        yj = y[rows, j]
        if strict and (yj.sum() == 0 or yj.sum() == len(yj)):
            raise ValueError(
                f"signal {signal!r} needs both positive and negative examples to train (it has {int(yj.sum())} positive sentences)"
            )
        weights[:, j], biases[j] = _logistic(x[rows], yj, config.semantic_c, w[rows], config.head_max_iter)
        lexical_weights[:, j], lexical_bias[j] = _logistic(x_lexical[rows], yj, config.lexical_c, w[rows], config.head_max_iter)
    means = np.array([document_vector(e) for e in embedded])
    doc_weights, doc_bias = _document_heads(examples, means, signals, config.semantic_c, config)
    doc_lexical_weights, doc_lexical_bias = _document_heads(examples, lexical.weigh(whole, doc_idf), signals, config.document_lexical_c, config)
    return LocalModel(
        signals=list(signals),
        thresholds=np.full(len(signals), 0.5, dtype=np.float32),
        embed_model=embed_model,
        weights=weights,
        bias=biases,
        lexical_weights=lexical_weights,
        lexical_bias=lexical_bias,
        idf=idf,
        doc_weights=doc_weights,
        doc_bias=doc_bias,
        doc_lexical_weights=doc_lexical_weights,
        doc_lexical_bias=doc_lexical_bias,
        doc_idf=doc_idf,
        card=ModelCard(config=config, signals=list(signals), embed_model=embed_model),
    )


def _lexical_counts(embedded: list[EmbeddedText], config: TrainingConfig) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    return lexical.counts([[s.text for s in e.sentences] for e in embedded], config.window, config.ngram_range, config.hashed_features)


def example_weight(example: LabelledExample, config: TrainingConfig) -> float:
    return config.feedback_weight if example.feedback else 1.0


def sentence_matrix(examples: list[LabelledExample], embedded: list[EmbeddedText], signals: list[str], config: TrainingConfig) -> tuple[np.ndarray, ...]:
    """Every training sentence as a row: (window features, targets, masks, example weights)."""
    features, targets, masks = [], [], []
    for example, emb in zip(examples, embedded):
        y, m = sentence_targets(emb, example, signals)
        features.append(sentence_features(emb.vectors, config.window))
        targets.append(y)
        masks.append(m)
    weights = np.concatenate([np.full(len(e.sentences), example_weight(ex, config), dtype=np.float32) for ex, e in zip(examples, embedded)])
    return np.vstack(features), np.vstack(targets), np.vstack(masks), weights


def _document_heads(examples, x, signals, regularisation: float, config: TrainingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per-signal logistic heads on one row per document, over documents whose label is known."""
    weights = np.zeros((x.shape[1], len(signals)), dtype=np.float32)
    biases = np.zeros(len(signals), dtype=np.float32)
    known = _known(examples, signals)
    targets = _document_targets(examples, signals)
    document_weights = np.array([example_weight(ex, config) for ex in examples], dtype=np.float32)
    for j in range(len(signals)):
        rows = known[:, j]
        weights[:, j], biases[j] = _logistic(x[rows], targets[rows, j], regularisation, document_weights[rows], config.head_max_iter)
    return weights, biases


def _known(examples: list[LabelledExample], signals: list[str]) -> np.ndarray:
    return np.array([[ex.known_signals is None or s in ex.known_signals for s in signals] for ex in examples])


def _document_targets(examples: list[LabelledExample], signals: list[str]) -> np.ndarray:
    return np.array([[s in (ex.doc.labels or []) for s in signals] for ex in examples])


def fit_plain_heads(examples: list[LabelledExample], embedded: list[EmbeddedText], signals: list[str], config: TrainingConfig) -> plain_heads.PlainHeads:
    """The plain view: a sentence head and a document head per signal, on embeddings only."""
    x, y, m, w = sentence_matrix(examples, embedded, signals, config)
    sentence_weights = np.zeros((x.shape[1], len(signals)), dtype=np.float32)
    sentence_bias = np.zeros(len(signals), dtype=np.float32)
    for j in range(len(signals)):
        sentence_weights[:, j], sentence_bias[j] = _logistic(x[m[:, j]], y[m[:, j], j], config.plain_c, w[m[:, j]], config.head_max_iter)
    documents = plain_heads.document_features(embedded)
    document_weights, document_bias = _document_heads(examples, documents, signals, config.plain_c, config)
    return plain_heads.PlainHeads(sentence_weights, sentence_bias, document_weights, document_bias)


def writer_folds(examples: list[LabelledExample], folds: int) -> np.ndarray:
    """A fold number per example, keeping each example's group (`LabelledExample.group`, else its
    account) in one fold, so out-of-fold scores are scores on unseen writers.

    Groups are spread round-robin in a fixed, hashed order: the same data gives the same folds.
    With fewer groups than folds (one writer), examples are folded by position instead."""
    groups = [example.fold_group for example in examples]
    distinct = sorted(set(groups), key=lambda g: hashlib.sha256(g.encode()).hexdigest())
    if len(distinct) < folds:
        return np.arange(len(examples)) % folds
    fold_of = {group: i % folds for i, group in enumerate(distinct)}
    return np.array([fold_of[g] for g in groups])


def fit_model(
    examples: list[LabelledExample],
    signals: list[str],
    embedder: Embedder,
    config: TrainingConfig,
    workers: int = TRAINING_WORKERS,
) -> tuple[LocalModel, list[EmbeddedText]]:
    """First-stage heads on all examples, and a combiner trained on their out-of-fold scores."""
    embedded = embed_texts([e.doc.text for e in examples], embedder)
    options = dict(signals=signals, embed_model=embedder.name, config=config)
    fold = writer_folds(examples, config.folds)
    # Hashing n-grams is a quarter of the training time: count once, slice per fold.
    windows, whole = _lexical_counts(embedded, config)
    first_row = np.concatenate([[0], np.cumsum([len(e.sentences) for e in embedded])])

    def counts_of(documents: np.ndarray) -> tuple:
        rows = np.concatenate([np.arange(first_row[i], first_row[i + 1]) for i in documents])
        return windows[rows], whole[documents]

    def out_of_fold(k: int) -> tuple[np.ndarray, np.ndarray]:
        held_out, kept = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        partial = _first_stage([examples[i] for i in kept], [embedded[i] for i in kept], **options, lexical_counts=counts_of(kept), strict=False)
        return held_out, stacking.document_features(partial.first_stage([embedded[i] for i in held_out]))

    # The folds, the final heads and the plain view are independent fits: worker processes with
    # one BLAS thread each use the cores without fighting over them (threads did not, and two
    # BLAS threads per worker oversubscribe). One thread each also fixes the order of the sums,
    # so the model is the same on every run.
    tasks = [delayed(out_of_fold)(k) for k in range(config.folds) if (fold == k).any()]
    tasks += [delayed(_first_stage)(examples, embedded, **options, lexical_counts=(windows, whole)), delayed(fit_plain_heads)(examples, embedded, signals, config)]
    with parallel_config(backend="loky", inner_max_num_threads=1):
        *folds, model, plain = Parallel(n_jobs=workers)(tasks)
    features = np.zeros((len(examples),) + folds[0][1].shape[1:], dtype=np.float32)
    for held_out, scored in folds:
        features[held_out] = scored
    model.combiner_weights, model.combiner_bias = stacking.fit_combiner(
        features, _document_targets(examples, signals), _known(examples, signals), config.combiner_c, config.combiner_max_iter
    )
    model.plain = plain
    model.curvature = head_curvature(model, examples, embedded, (windows, whole))
    return model, embedded


# Each head, as `_logistic` fits it: its design matrix over a training set, its targets, mask and
# example weights, and its C. `head_curvature` and the feedback refit read heads in this order.
HEADS = ("w0", "lexical_w", "doc_w", "doc_lexical_w", "plain_sw", "plain_dw")


def head_designs(model: LocalModel, examples: list[LabelledExample], embedded: list[EmbeddedText], lexical_counts: tuple | None = None) -> dict:
    """head name -> (features, targets, mask, example weights, C), all signals at once."""
    config = model.config
    windows, whole = lexical_counts or _lexical_counts(embedded, config)
    x, y, m, w = sentence_matrix(examples, embedded, model.signals, config)
    documents_known, documents_y = _known(examples, model.signals), _document_targets(examples, model.signals).astype(np.float32)
    documents_w = np.array([example_weight(ex, config) for ex in examples], dtype=np.float32)
    means = np.array([document_vector(e) for e in embedded])
    sentence, document = (y, m, w), (documents_y, documents_known, documents_w)
    return {
        "w0": (x, *sentence, config.semantic_c),
        "lexical_w": (lexical.weigh(windows, model.idf), *sentence, config.lexical_c),
        "doc_w": (means, *document, config.semantic_c),
        "doc_lexical_w": (lexical.weigh(whole, model.doc_idf), *document, config.document_lexical_c),
        "plain_sw": (x, *sentence, config.plain_c),
        "plain_dw": (plain_heads.document_features(embedded), *document, config.plain_c),
    }


def balanced_class_weights(y: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
    """(weight of negatives, weight of positives), as LogisticRegression(class_weight="balanced") sets them."""
    totals = np.array([sample_weight[y == 0].sum(), sample_weight[y == 1].sum()], dtype=np.float64)
    if not totals.all():
        return np.zeros(2, dtype=np.float32)
    return (totals.sum() / (2 * totals)).astype(np.float32)


def head_curvature(model: LocalModel, examples: list[LabelledExample], embedded: list[EmbeddedText], lexical_counts: tuple | None = None) -> dict[str, np.ndarray]:
    """What the feedback refit needs to move each head as retraining would: per head and signal,
    the diagonal of the training objective's Hessian at the fitted weights (1 + C * sum of
    weighted p(1-p)x^2: how firmly the training data holds each weight) and the balanced class
    weights the head was fitted with. Stored as `h_<head>` (features x signals) and `cw_<head>`
    (2 x signals)."""
    found = {}
    for head, (x, y, m, w, c) in head_designs(model, examples, embedded, lexical_counts).items():
        weights, bias = model.head(head)
        squared = x.power(2) if sparse.issparse(x) else np.square(x)
        p = 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x @ weights) + bias, -40, 40)))
        diagonal = np.ones_like(weights)
        class_weights = np.zeros((2, len(model.signals)), dtype=np.float32)
        for j in range(len(model.signals)):
            rows = m[:, j]
            class_weights[:, j] = balanced_class_weights(y[rows, j], w[rows])
            per_row = np.where(rows, w * class_weights[y[:, j].astype(int), j] * p[:, j] * (1 - p[:, j]), 0.0)
            diagonal[:, j] += c * np.asarray(squared.T @ per_row).ravel()
        # float16 in the file: a weight held more firmly than this is as good as fixed
        found[f"h_{head}"], found[f"cw_{head}"] = np.minimum(diagonal, 6e4), class_weights
    return found


def calibrate_thresholds(model: LocalModel, docs: list[Document], embedded: list[EmbeddedText]) -> dict[str, float]:
    """Per signal, the document-level threshold with the best F1, less the false-alarm penalty,
    on a development set (the settings are the model's `TrainingConfig`)."""
    config = model.config
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
        candidates = np.unique(np.round(scores, config.threshold_decimals))
        best = (-np.inf, 0.5)
        for threshold in candidates:
            predicted = scores >= threshold
            tp = float((predicted & gold).sum())
            f1 = 2 * tp / max(float(predicted.sum() + gold.sum()), 1.0)
            false_alarms = float((predicted & quiet_judged).sum()) / max(float(quiet_judged.sum()), 1.0)
            objective = f1 - config.false_alarm_penalty * false_alarms
            if objective >= best[0]:  # ties go to the higher threshold: fewer false alarms
                best = (objective, float(threshold))
        thresholds[signal] = best[1]
    model.thresholds = np.array([thresholds[s] for s in model.signals], dtype=np.float32)
    return thresholds


def fit_confidence_maps(model: LocalModel, docs: list[Document], embedded: list[EmbeddedText]) -> dict[str, list[list[float]]]:
    """Per signal, the isotonic map from the document score to how often the signal was there, on
    the development documents whose annotator judged it (the model scores as its file will)."""
    doc_scores = np.array([scored[1] for scored in model.scores(embedded)])
    maps: dict[str, list[list[float]]] = {}
    for j, signal in enumerate(model.signals):
        judged = np.array([d.judges(signal) for d in docs])
        present = np.array([signal in (d.labels or []) for d in docs])[judged]
        x, y = fit_map(doc_scores[judged, j], present)
        maps[signal] = [[round(float(v), 5) for v in x], [round(float(v), 5) for v in y]]
    return maps


def figures(model: LocalModel, docs: list[Document], embedded: list[EmbeddedText]) -> Figures:
    """What `undertow eval` would report for these documents, from vectors already computed."""
    from undertow.eval.metrics import Prediction, score

    results = model.classify_many([d.id for d in docs], embedded)
    predictions = [Prediction(r.labels, {f.signal: [e.quote for e in f.evidence] for f in r.flags}) for r in results]
    report = score(docs, predictions, model.signals)
    return Figures(
        documents=len(docs), macro_f1=report["macro_f1"], quiet_false_alarm_rate=report["quiet_false_alarm_rate"],
        evidence_hit_rate=report["evidence_hit_rate"],
    )


def command_line() -> str:
    """The command that is running, as the card records who made a model."""
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else ""


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


def _as_sets(given: Sequence[LabelledSet] | Sequence[Document], name: str) -> list[LabelledSet]:
    if not given or isinstance(given[0], LabelledSet):
        return list(given)
    return [documents_set(given, name)]


def train_model(
    train: Sequence[LabelledSet] | Sequence[Document],
    dev: Sequence[LabelledSet] | Sequence[Document],
    signals: list[str],
    embedder: Embedder,
    feedback_examples: Sequence[LabelledExample] = (),
    config: TrainingConfig | None = None,
    created_by: str | None = None,
    workers: int = TRAINING_WORKERS,
) -> tuple[LocalModel, TrainReport]:
    """Fit on the training sets and the CSM feedback, calibrate thresholds on the development sets,
    and write the card. Sets from `load_labelled_set` carry their file digests and fold groups into
    the card and the folds; plain documents are one set each side, folded by account."""
    started = time.perf_counter()
    config = config or TrainingConfig()
    train_sets, dev_sets = _as_sets(train, "training documents"), _as_sets(dev, "development documents")
    feedback = [LabelledExample(e.doc, e.known_signals, e.group, feedback=True) for e in feedback_examples]
    examples = [example for s in train_sets for example in s.examples] + feedback
    model, embedded = fit_model(examples, signals, embedder, config, workers)
    dev_docs = [doc for s in dev_sets for doc in s.docs]
    dev_embedded = embed_texts([d.text for d in dev_docs], embedder)
    thresholds = calibrate_thresholds(model, dev_docs, dev_embedded)
    saved = model.copy(as_saved=True)
    model.confidence_maps = fit_confidence_maps(saved, dev_docs, dev_embedded)
    if feedback:  # after calibration, which must see what the heads score, not the CSM's verdicts
        model.memory = correction_memory(feedback, embedded[len(examples) - len(feedback) :], signals, lambda e: saved.document_scores(e)[0])
    dev_figures, start = {}, 0
    for s in dev_sets:
        dev_figures[s.path] = figures(saved, s.docs, dev_embedded[start : start + len(s.examples)])
        start += len(s.examples)
    train_documents = sum(len(s.examples) for s in train_sets)
    card = ModelCard(
        config=config,
        signals=list(signals),
        embed_model=embedder.name,
        train=[s.card_entry() for s in train_sets],
        dev=[s.card_entry() for s in dev_sets],
        feedback=feedback_entry(feedback),
        counts={
            "train_documents": train_documents, "train_sentences": sum(len(e.sentences) for e in embedded),
            "feedback_documents": len(feedback), "dev_documents": len(dev_docs),
        },
        dev_figures=dev_figures,
        libraries=library_versions(),
        created_by=command_line() if created_by is None else created_by,
    )
    model.card = card.model_copy(update={"version": card.identity()})
    report = TrainReport(
        signals=list(signals),
        train_documents=train_documents,
        train_sentences=card.counts["train_sentences"],
        dev_documents=len(dev_docs),
        feedback_documents=len(feedback),
        thresholds={k: round(v, 4) for k, v in thresholds.items()},
        version=model.version,
        seconds=round(time.perf_counter() - started, 2),
    )
    return model, report


def feedback_entry(feedback: Sequence[LabelledExample]) -> DataFile | None:
    """The card's record of the CSM corrections a model learnt from: their digest, with the
    signals each one judged."""
    if not feedback:
        return None
    judged = [",".join(sorted(e.known_signals or [])) for e in feedback]
    return DataFile(path="feedback", sha256=documents_digest([e.doc for e in feedback], judged), documents=len(feedback))
