"""CSM corrections kept as decisions: the corrected document, and any note that says the same
thing, gets the verdict the CSM gave, whatever the heads score.

Why a memory and not moved heads: with 20 corrections drawn from real dev
(`eval/feedback_effect.py`), nudging the heads as retraining would fixed 16 of the 20 documents
and cost 0.02 macro F1 and five points of quiet false alarms on the documents nobody corrected;
what one customer's note teaches a head spills onto unrelated notes (and a CSM saw a correct
flag vanish after four corrections about other signals). A remembered correction fixes its
document and its near copies (a re-sent notice, the same note translated) and touches nothing
else. `undertow train --full` is how many corrections teach the model itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from undertow.extractor.sentences import EmbeddedText, document_vector

if TYPE_CHECKING:
    from undertow.extractor.training import LabelledExample

# Cosine between document vectors. Two wordings of one notice sit at 0.6-0.76 (a German
# translation 0.76), two different routine notes of one kind at about 0.5; in real dev no other
# document comes closer than 0.59 to any of the 20 corrected ones, and at 0.5 and below memories
# start to decide documents they should not (macro F1 on the rest of real dev falls).
RADIUS = 0.6
CONFIRMED, REJECTED = 1, -1


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


@dataclass
class CorrectionMemory:
    vectors: np.ndarray  # (corrections x dim): each corrected document's vector, unit length
    verdicts: np.ndarray  # (corrections x signals) int8: CONFIRMED, REJECTED, or 0 where not judged
    radius: float = RADIUS

    def __len__(self) -> int:
        return len(self.vectors)

    def decide(self, document_vectors: np.ndarray) -> np.ndarray:
        """(documents x signals) int8: per signal, the verdict of the nearest correction within the
        radius that judged it; 0 where none did."""
        decided = np.zeros((len(document_vectors), self.verdicts.shape[1]), dtype=np.int8)
        if not len(self) or not len(document_vectors):
            return decided
        similarity = _unit(document_vectors) @ _unit(self.vectors).T
        similarity[similarity < self.radius] = -np.inf
        for k in range(self.verdicts.shape[1]):
            judged = np.flatnonzero(self.verdicts[:, k])
            if not len(judged):
                continue
            nearest = similarity[:, judged].argmax(axis=1)
            within = np.isfinite(similarity[np.arange(len(decided)), judged[nearest]])
            decided[within, k] = self.verdicts[judged[nearest[within]], k]
        return decided

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "memory_vectors": self.vectors.astype(np.float16),
            "memory_verdicts": self.verdicts.astype(np.int8),
            "memory_radius": np.array([self.radius], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays) -> CorrectionMemory | None:
        """The memory a model file keeps, or None in a file without one."""
        if "memory_vectors" not in arrays:
            return None
        return cls(
            vectors=np.asarray(arrays["memory_vectors"], dtype=np.float32),
            verdicts=np.asarray(arrays["memory_verdicts"], dtype=np.int8),
            radius=float(np.asarray(arrays["memory_radius"])[0]),
        )


def remember(judged: Sequence[tuple[set[str], set[str]]], document_vectors: np.ndarray, signals: list[str]) -> CorrectionMemory:
    """A memory of corrected documents: for each, (signals the CSM judged, those confirmed present)
    and its document vector, in the same order."""
    verdicts = np.zeros((len(judged), len(signals)), dtype=np.int8)
    for row, (signals_judged, present) in enumerate(judged):
        for k, signal in enumerate(signals):
            if signal in signals_judged:
                verdicts[row, k] = CONFIRMED if signal in present else REJECTED
    vectors = _unit(document_vectors) if len(judged) else np.zeros((0, 0), dtype=np.float32)
    return CorrectionMemory(vectors=vectors, verdicts=verdicts)


def correction_memory(examples: Sequence[LabelledExample], embedded: Sequence[EmbeddedText], signals: list[str]) -> CorrectionMemory:
    """The memory of corrected documents as training examples carry them (a signal the CSM
    confirmed is among the labels; `known_signals` are those judged), with their embeddings."""
    judged = [(set(e.known_signals if e.known_signals is not None else signals), set(e.doc.labels or [])) for e in examples]
    return remember(judged, np.array([document_vector(e) for e in embedded]), signals)
