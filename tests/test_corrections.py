"""The memory of CSM corrections: which verdict decides a document, and which documents it leaves alone."""

from __future__ import annotations

import numpy as np

from undertow.extractor.corrections import CONFIRMED, REJECTED, CorrectionMemory, remember

SIGNALS = ["churn_intent", "budget_pressure"]


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_each_signal_is_decided_by_the_nearest_correction_that_judged_it():
    memory = remember(
        [({"churn_intent"}, {"churn_intent"}), ({"churn_intent", "budget_pressure"}, set())],
        np.array([unit(1, 0, 0), unit(1, 0.3, 0)]),
        SIGNALS,
    )
    near_first, near_second = unit(1, 0.05, 0), unit(1, 0.35, 0)
    decided = memory.decide(np.array([near_first, near_second]))
    # churn: the nearer correction decides; budget: only the second judged it, and it is within reach of both
    assert decided.tolist() == [[CONFIRMED, REJECTED], [REJECTED, REJECTED]]


def test_documents_outside_the_radius_are_left_alone():
    memory = remember([({"churn_intent"}, {"churn_intent"})], np.array([unit(1, 0, 0)]), SIGNALS)
    far = unit(np.cos(np.arccos(memory.radius) + 0.05), np.sin(np.arccos(memory.radius) + 0.05), 0)
    close = unit(np.cos(np.arccos(memory.radius) - 0.05), np.sin(np.arccos(memory.radius) - 0.05), 0)
    assert memory.decide(np.array([far, close])).tolist() == [[0, 0], [CONFIRMED, 0]]


def test_an_empty_memory_and_the_file_round_trip():
    empty = remember([], np.zeros((0, 3)), SIGNALS)
    assert len(empty) == 0 and memory_decides_nothing(empty)
    memory = remember([({"budget_pressure"}, set())], np.array([unit(0, 1, 1)]), SIGNALS)
    again = CorrectionMemory.from_arrays(memory.arrays())
    assert again.radius == memory.radius and again.verdicts.tolist() == [[0, REJECTED]]
    assert CorrectionMemory.from_arrays({}) is None


def memory_decides_nothing(memory: CorrectionMemory) -> bool:
    return not memory.decide(np.array([unit(1, 2, 3)])).any()
