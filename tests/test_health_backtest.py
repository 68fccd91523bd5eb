"""Backtest metrics on a case small enough to count by hand."""

from __future__ import annotations

import pytest

from undertow.health.backtest import precision_at, score_metrics

# Ten accounts scored 10..100; the ones at 10, 40 and 90 churned.
SCORES = [float(s) for s in range(10, 101, 10)]
CHURNED = [s in (10, 40, 90) for s in range(10, 101, 10)]
BANDS = ["red" if s < 45 else "yellow" if s < 70 else "green" for s in SCORES]


def test_hand_counted_metrics():
    metrics = score_metrics(SCORES, BANDS, CHURNED)
    # Pairs (churner, stayer) where the churner scored lower: 7 + 5 + 1 of 3 x 7.
    assert metrics.roc_auc == pytest.approx(13 / 21, abs=1e-4)
    assert metrics.precision_at_10pct == 1.0  # the lowest account (10) churned
    assert metrics.precision_at_20pct == 0.5  # of 10 and 20, one churned
    assert metrics.green_churn_share == pytest.approx(1 / 3, abs=1e-4)  # the churner at 90 was green


def test_a_perfect_and_an_inverted_ranking():
    churned = [True, True, False, False]
    assert score_metrics([1.0, 2.0, 3.0, 4.0], ["red"] * 4, churned).roc_auc == 1.0
    assert score_metrics([4.0, 3.0, 2.0, 1.0], ["green"] * 4, churned).roc_auc == 0.0


def test_one_class_only_has_no_auc():
    metrics = score_metrics([1.0, 2.0], ["red", "green"], [False, False])
    assert metrics.roc_auc is None and metrics.green_churn_share is None


def test_precision_takes_at_least_one_account_and_ties_keep_file_order():
    assert precision_at([5.0, 5.0, 9.0], [False, True, False], 0.10) == 0.0
    assert precision_at([5.0, 5.0, 9.0], [True, False, False], 0.10) == 1.0
