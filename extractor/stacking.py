"""The second stage of the local model: per signal, a small logistic combiner of what the
first-stage heads say about a document.

A fixed blend (best sentence, plus a little of the document head) cannot learn that a strong
sentence in a note that reads as a vendor hand-over is weaker evidence, nor that a competitor
score means more next to a strategy score. The combiner learns those weights from out-of-fold
scores: first-stage heads scored on writers they were not trained on, so it learns how far to
trust them on text from new people, not on text they have memorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

OWN_FEATURES = 7  # per signal, before the other signals' best-sentence scores


@dataclass
class FirstStageScores:
    """Everything the first stage says about a batch of documents."""

    sentence_semantic: np.ndarray  # (all sentences x signals)
    sentence_lexical: np.ndarray  # (all sentences x signals)
    lengths: list[int]  # sentences per document
    document_semantic: np.ndarray  # (documents x signals)
    document_lexical: np.ndarray  # (documents x signals)

    @property
    def sentence_scores(self) -> np.ndarray:
        return (self.sentence_semantic + self.sentence_lexical) / 2.0

    def per_document(self, sentence_scores: np.ndarray) -> list[np.ndarray]:
        return np.split(sentence_scores, np.cumsum(self.lengths)[:-1])


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def document_features(scores: FirstStageScores) -> np.ndarray:
    """(documents x signals x features) inputs of the combiner.

    Reduced over every document's sentences at once (`reduceat`): done document by document in
    Python, this was a sixth of classifying a nightly batch."""
    both = scores.sentence_scores
    starts = np.concatenate([[0], np.cumsum(scores.lengths)[:-1]]).astype(np.intp)
    lengths = np.asarray(scores.lengths)
    best_raw = np.maximum.reduceat(both, starts, axis=0)
    best = _logit(best_raw)
    own = np.stack(
        [
            _logit(np.maximum.reduceat(scores.sentence_semantic, starts, axis=0)),
            _logit(np.maximum.reduceat(scores.sentence_lexical, starts, axis=0)),
            _logit(scores.document_semantic),
            best,
            _logit(_top_two_mean(both, starts, lengths, best_raw)),
            # how many sentences say it, damped so long notes do not win by length
            np.add.reduceat((both > 0.5).astype(np.int64), starts, axis=0) / np.sqrt(lengths)[:, None],
            _logit(scores.document_lexical),
        ],
        axis=2,
    )  # (documents x signals x OWN_FEATURES)
    n_signals = both.shape[1]
    # each signal's view of the others: the best-sentence scores of every signal but itself
    others = best[:, [[j for j in range(n_signals) if j != k] for k in range(n_signals)]]
    return np.concatenate([own, others], axis=2).astype(np.float32)


def _top_two_mean(both: np.ndarray, starts: np.ndarray, lengths: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Per document and signal, the mean of its two best sentence scores (the one score of a
    one-sentence document). The runner-up is the best once the first best sentence is set aside."""
    document = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(len(both))[:, None]
    first_best = np.where(both == best[document], position, len(both))
    first_best = np.minimum.reduceat(first_best, starts, axis=0)
    rest = np.where(position == first_best[document], -np.inf, both)
    second = np.maximum.reduceat(rest, starts, axis=0)
    pair = np.stack([np.where(lengths[:, None] > 1, second, best), best]).astype(both.dtype)
    return np.where(lengths[:, None] > 1, pair.mean(axis=0), best)


def fit_combiner(
    features: np.ndarray, targets: np.ndarray, known: np.ndarray, regularisation: float, max_iter: int = 2000
) -> tuple[np.ndarray, np.ndarray]:
    """Per signal, logistic weights over its features, from documents whose label is known.

    Strong regularisation (`TrainingConfig.combiner_c`): the inputs are a handful of correlated
    scores and the combiner should stay a gentle re-weighting, not a second model that can overfit."""
    n_signals, n_features = features.shape[1], features.shape[2]
    weights = np.zeros((n_signals, n_features), dtype=np.float32)
    bias = np.zeros(n_signals, dtype=np.float32)
    for k in range(n_signals):
        rows = known[:, k]
        combiner = LogisticRegression(C=regularisation, max_iter=max_iter)
        combiner.fit(features[rows, k, :], targets[rows, k])
        weights[k], bias[k] = combiner.coef_[0], combiner.intercept_[0]
    return weights, bias


def combined_scores(features: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(documents x signals) probabilities."""
    logits = np.einsum("dsf,sf->ds", features, weights) + bias
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))
