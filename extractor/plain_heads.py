"""The plain view of the local model: one logistic head per signal on each sentence (with its
neighbours) and one on the whole document (mean and max of its sentence vectors), nothing else.

Why a second view: the stacked view (n-gram heads and a combiner) reads text written for this
project very well and real customers' text poorly; it learns its writers' style. These heads see
only meaning, so they carry over to writers they never saw. On the real-text development set the
plain view alone recalls more of every signal; averaged with the stacked view it keeps most of
the synthetic accuracy as well (figures in the README and eval/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from undertow.extractor.sentences import EmbeddedText, document_vector


def document_features(embedded: list[EmbeddedText]) -> np.ndarray:
    """(documents x 2*dim): each document's vector (normalised mean) and the element-wise max of its sentence vectors."""
    return np.array([np.concatenate([document_vector(e), e.vectors.max(axis=0)]) for e in embedded], dtype=np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass
class PlainHeads:
    sentence_weights: np.ndarray  # (window features x signals)
    sentence_bias: np.ndarray  # (signals,)
    document_weights: np.ndarray  # (2*dim x signals)
    document_bias: np.ndarray  # (signals,)

    def scores(self, windows: np.ndarray, embedded: list[EmbeddedText], sentence_share: float) -> tuple[list[np.ndarray], np.ndarray]:
        """(per-document sentence scores, document scores) from the stacked sentence-window
        features of all documents; sentences x signals and documents x signals. A document's score
        is its best sentence's, `sentence_share` of it, and the document head's for the rest."""
        sentence = _sigmoid(windows @ self.sentence_weights + self.sentence_bias)
        per_sentence = np.split(sentence, np.cumsum([len(e.sentences) for e in embedded])[:-1])
        document = _sigmoid(document_features(embedded) @ self.document_weights + self.document_bias)
        best = np.array([s.max(axis=0) for s in per_sentence])
        return per_sentence, sentence_share * best + (1 - sentence_share) * document

    def arrays(self) -> dict[str, np.ndarray]:
        return {"plain_sw": self.sentence_weights, "plain_sb": self.sentence_bias, "plain_dw": self.document_weights, "plain_db": self.document_bias}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "PlainHeads":
        return cls(arrays["plain_sw"], arrays["plain_sb"], arrays["plain_dw"], arrays["plain_db"])
