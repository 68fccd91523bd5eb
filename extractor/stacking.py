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
    """(documents x signals x features) inputs of the combiner."""
    semantic = scores.per_document(scores.sentence_semantic)
    lexical = scores.per_document(scores.sentence_lexical)
    combined = scores.per_document(scores.sentence_scores)
    n_signals = scores.document_semantic.shape[1]
    rows = []
    for i, (sem, lex, both) in enumerate(zip(semantic, lexical, combined)):
        top_two = np.sort(both, axis=0)[-2:].mean(axis=0)
        best = _logit(both.max(axis=0))
        own = np.stack(
            [
                _logit(sem.max(axis=0)),
                _logit(lex.max(axis=0)),
                _logit(scores.document_semantic[i]),
                best,
                _logit(top_two),
                # how many sentences say it, damped so long notes do not win by length
                (both > 0.5).sum(axis=0) / np.sqrt(len(both)),
                _logit(scores.document_lexical[i]),
            ],
            axis=1,
        )  # (signals x OWN_FEATURES)
        others = np.stack([np.delete(best, k) for k in range(n_signals)])  # (signals x signals-1)
        rows.append(np.hstack([own, others]))
    return np.array(rows, dtype=np.float32)


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
