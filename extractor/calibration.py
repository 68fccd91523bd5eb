"""Confidence that means what it says: per-signal isotonic maps from a raw score to a probability.

The raw document score of a signal is good at ranking and bad at saying how often it is right
(on real text a raw 0.95 came true 0.88 of the time, 0.85 only 0.56). Each signal gets a
monotone map fitted on held-out documents (the development sets, which training never sees),
stored as knots and applied by interpolation. Flags are still decided by the signal's threshold
on the raw score; only the confidence shown and weighed in the health score changes.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression

# A map fitted on a handful of positives is a staircase of noise; below this many (a team's new
# signal with few labels), the signal's base rate is all that can honestly be said.
MIN_POSITIVES = 8


def fit_map(scores: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x knots, y knots) of a non-decreasing map from raw score to P(signal present)."""
    scores = np.asarray(scores, dtype=np.float64)
    present = np.asarray(present, dtype=np.float64)
    if present.sum() < MIN_POSITIVES or present.sum() == len(present):
        rate = float(present.mean()) if len(present) else 0.0
        return np.array([0.0, 1.0], dtype=np.float32), np.array([rate, rate], dtype=np.float32)
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, present)
    return model.X_thresholds_.astype(np.float32), model.y_thresholds_.astype(np.float32)


def apply_map(score: float | np.ndarray, knots: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    x, y = knots
    return np.interp(score, x, y)
