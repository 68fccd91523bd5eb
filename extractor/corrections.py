"""CSM corrections kept as decisions: the corrected document, and any note that says the same
thing, gets the verdict the CSM gave, whatever the heads score.

Why a memory and not moved heads: with 20 corrections drawn from real dev
(`eval/feedback_effect.py`), nudging the heads as retraining would fixed 16 of the 20 documents
and cost 0.02 macro F1 and five points of quiet false alarms on the documents nobody corrected;
what one customer's note teaches a head spills onto unrelated notes (and a CSM saw a correct
flag vanish after four corrections about other signals). A remembered correction fixes its
document and its near copies (a re-sent notice, the same note translated) and touches nothing
else. `undertow train --full` is how many corrections teach the model itself.

"The same thing" takes two tests. The whole note must be close (document vectors), and so must
the sentence the verdict is about: the confirmed evidence, or for a rejection the sentence the
model flagged on. Two weekly-sync notes from one template sit at cosine 0.75 as wholes, yet
"Maria is leaving in June" and "Peter joins the analytics team in June" are 0.49 apart: a
confirmation of the first must not flag the second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from undertow.extractor.sentences import EmbeddedText, document_vector, sentences_quoting

if TYPE_CHECKING:
    from undertow.extractor.training import LabelledExample

# Cosine between document vectors. Two wordings of one notice sit at 0.6-0.76 (a German
# translation 0.76), two different routine notes of one kind at about 0.5; in real dev no other
# document comes closer than 0.59 to any of the 20 corrected ones, and at 0.5 and below memories
# start to decide documents they should not (macro F1 on the rest of real dev falls).
RADIUS = 0.6
# Cosine between the sentence a verdict is about and the closest sentence of another document: a
# sentence and its translation sit at 0.81-0.87, one template's different news at 0.5 or less.
SENTENCE_RADIUS = 0.75
CONFIRMED, REJECTED = 1, -1


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-9)


@dataclass
class CorrectionMemory:
    vectors: np.ndarray  # (corrections x dim): each corrected document's vector, unit length
    verdicts: np.ndarray  # (corrections x signals) int8: CONFIRMED, REJECTED, or 0 where not judged
    anchors: np.ndarray  # (anchors x dim): the sentences the verdicts are about, unit length
    anchor_rows: np.ndarray  # (anchors,) the correction each anchor belongs to
    anchor_signals: np.ndarray  # (anchors,) the signal (column) it is the sentence of
    radius: float = RADIUS
    sentence_radius: float = SENTENCE_RADIUS

    def __len__(self) -> int:
        return len(self.vectors)

    def decide(self, embedded: Sequence[EmbeddedText]) -> np.ndarray:
        """(documents x signals) int8: per signal, the verdict of the nearest correction that
        judged it, whose document is within the radius and whose sentence for it has a close
        match in the document; 0 where none."""
        decided = np.zeros((len(embedded), self.verdicts.shape[1]), dtype=np.int8)
        if not len(self) or not len(embedded):
            return decided
        similarity = _unit(np.array([document_vector(e) for e in embedded])) @ _unit(self.vectors).T
        anchors = _unit(self.anchors).T
        for i in np.flatnonzero((similarity >= self.radius).any(axis=1)):
            # Which anchors have a close sentence in this document.
            matched = (_unit(embedded[i].vectors) @ anchors).max(axis=0) >= self.sentence_radius
            for k in range(self.verdicts.shape[1]):
                rows = np.unique(self.anchor_rows[matched & (self.anchor_signals == k)])
                rows = rows[(similarity[i, rows] >= self.radius) & (self.verdicts[rows, k] != 0)]
                if len(rows):
                    decided[i, k] = self.verdicts[rows[np.argmax(similarity[i, rows])], k]
        return decided

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "memory_vectors": self.vectors.astype(np.float16),
            "memory_verdicts": self.verdicts.astype(np.int8),
            "memory_anchors": self.anchors.astype(np.float16),
            "memory_anchor_rows": self.anchor_rows.astype(np.int32),
            "memory_anchor_signals": self.anchor_signals.astype(np.int16),
            "memory_radius": np.array([self.radius, self.sentence_radius], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays) -> CorrectionMemory | None:
        """The memory a model file keeps, or None in a file without one."""
        if "memory_vectors" not in arrays:
            return None
        radius, sentence_radius = (float(r) for r in np.asarray(arrays["memory_radius"]))
        return cls(
            vectors=np.asarray(arrays["memory_vectors"], dtype=np.float32),
            verdicts=np.asarray(arrays["memory_verdicts"], dtype=np.int8),
            anchors=np.asarray(arrays["memory_anchors"], dtype=np.float32),
            anchor_rows=np.asarray(arrays["memory_anchor_rows"], dtype=np.int32),
            anchor_signals=np.asarray(arrays["memory_anchor_signals"], dtype=np.int16),
            radius=radius,
            sentence_radius=sentence_radius,
        )


def remember(corrections: Sequence[tuple[np.ndarray, dict[int, int], dict[int, list[np.ndarray]]]], signals: int, dimension: int) -> CorrectionMemory:
    """A memory from corrected documents, each (document vector, {signal column: verdict},
    {signal column: vectors of the sentences that verdict is about})."""
    verdicts = np.zeros((len(corrections), signals), dtype=np.int8)
    anchors, rows, columns = [], [], []
    for row, (_, judged, about) in enumerate(corrections):
        for k, verdict in judged.items():
            verdicts[row, k] = verdict
            for vector in about.get(k, []):
                anchors.append(vector)
                rows.append(row)
                columns.append(k)
    vectors = _unit(np.array([vector for vector, _, _ in corrections])) if corrections else np.zeros((0, dimension), dtype=np.float32)
    return CorrectionMemory(
        vectors=vectors,
        verdicts=verdicts,
        anchors=_unit(np.array(anchors)) if anchors else np.zeros((0, dimension), dtype=np.float32),
        anchor_rows=np.array(rows, dtype=np.int32),
        anchor_signals=np.array(columns, dtype=np.int16),
    )


def correction_memory(
    examples: Sequence[LabelledExample],
    embedded: Sequence[EmbeddedText],
    signals: list[str],
    sentence_scores: Callable[[EmbeddedText], np.ndarray],
) -> CorrectionMemory:
    """The memory of corrected documents as training examples carry them (a signal the CSM
    confirmed is among the labels, with its evidence; `known_signals` are those judged).
    `sentence_scores` (sentences x signals, the model's) finds what a rejection is about: the
    sentence the model scored highest for that signal, the one its flag quoted."""
    corrections = []
    for example, emb in zip(examples, embedded):
        judged = example.known_signals if example.known_signals is not None else set(signals)
        labels, evidence = set(example.doc.labels or []), example.doc.evidence or {}
        scores = None
        verdicts, about = {}, {}
        for k, signal in enumerate(signals):
            if signal not in judged:
                continue
            verdicts[k] = CONFIRMED if signal in labels else REJECTED
            quoted = sentences_quoting(emb, evidence.get(signal, [])) if signal in labels else []
            if not quoted:
                scores = sentence_scores(emb) if scores is None else scores
                quoted = [int(np.argmax(scores[:, k]))]
            about[k] = [emb.vectors[i] for i in quoted]
        corrections.append((document_vector(emb), verdicts, about))
    return remember(corrections, len(signals), embedded[0].vectors.shape[1] if embedded else 0)

