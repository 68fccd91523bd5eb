"""The memory of CSM corrections: which verdict decides a document, and which documents it leaves alone."""

from __future__ import annotations

import numpy as np

from undertow.extractor.corrections import CONFIRMED, REJECTED, CorrectionMemory, remember
from undertow.extractor.sentences import EmbeddedText
from undertow.text import Sentence

CHURN, BUDGET = 0, 1


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def document(*sentence_vectors: np.ndarray) -> EmbeddedText:
    """A document of one sentence per vector (its words do not matter here, only its vectors)."""
    return EmbeddedText("x" * len(sentence_vectors), [Sentence(i, i + 1, "x") for i in range(len(sentence_vectors))], np.array(sentence_vectors))


NEWS, ROUTINE, OTHER_NEWS = unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(0, 0, 1, 0)


def test_a_correction_decides_documents_close_to_it_as_a_whole_and_in_the_sentence_it_is_about():
    corrected = document(ROUTINE, NEWS)
    memory = remember([(corrected.vectors.mean(0), {CHURN: CONFIRMED}, {CHURN: [NEWS]})], signals=2, dimension=4)
    same_news_more_routine = document(ROUTINE, ROUTINE, NEWS)
    same_template_other_news = document(ROUTINE, 0.8 * ROUTINE + 0.2 * OTHER_NEWS)  # close as a whole, not in its news
    unrelated = document(OTHER_NEWS)
    decided = memory.decide([corrected, same_news_more_routine, same_template_other_news, unrelated])
    assert decided[:, CHURN].tolist() == [CONFIRMED, CONFIRMED, 0, 0]
    assert not decided[:, BUDGET].any()  # the CSM judged one signal only


def test_each_signal_is_decided_by_the_nearest_correction_that_judged_it():
    near, far = document(ROUTINE, NEWS), document(unit(0.2, 1, 0, 0), NEWS)
    memory = remember(
        [(near.vectors.mean(0), {CHURN: CONFIRMED}, {CHURN: [NEWS]}),
         (far.vectors.mean(0), {CHURN: REJECTED, BUDGET: REJECTED}, {CHURN: [NEWS], BUDGET: [NEWS]})],
        signals=2, dimension=4,
    )  # fmt: skip
    assert memory.decide([near]).tolist() == [[CONFIRMED, REJECTED]]  # budget: only the second judged it


def test_an_empty_memory_decides_nothing_and_the_file_round_trip_keeps_everything():
    assert not remember([], signals=2, dimension=4).decide([document(NEWS)]).any()
    memory = remember([(NEWS, {BUDGET: REJECTED}, {BUDGET: [NEWS, ROUTINE]})], signals=2, dimension=4)
    again = CorrectionMemory.from_arrays(memory.arrays())
    assert (again.radius, again.sentence_radius) == (memory.radius, memory.sentence_radius)
    assert again.verdicts.tolist() == [[0, REJECTED]] and again.anchor_signals.tolist() == [BUDGET, BUDGET]
    assert again.decide([document(NEWS)]).tolist() == [[0, REJECTED]]
    assert CorrectionMemory.from_arrays({}) is None
