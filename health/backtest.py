"""How well a score ranks the accounts that really churned: quantitative alone vs combined."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from undertow.errors import InputError
from undertow.health.account import AccountHealth


@dataclass
class ScoreMetrics:
    roc_auc: float | None  # None when the outcomes hold only one class
    precision_at_10pct: float
    precision_at_20pct: float
    green_churn_share: float | None  # None when nobody churned


def precision_at(scores: list[float], churned: list[bool], share: float) -> float:
    """Share of churners among the lowest-scored `share` of accounts (at least one account).
    Ties keep the file's order: a stable sort, so the figure never depends on chance."""
    k = max(1, math.ceil(share * len(scores)))
    order = np.argsort(np.asarray(scores, dtype=float), kind="stable")[:k]
    return round(float(np.mean(np.asarray(churned)[order])), 4)


def score_metrics(scores: list[float], bands: list[str], churned: list[bool]) -> ScoreMetrics:
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(churned, dtype=bool)
    # A low score means risk, so the risk ranking is the negated score.
    auc = round(float(roc_auc_score(labels, -np.asarray(scores, dtype=float))), 4) if 0 < labels.sum() < len(labels) else None
    churned_bands = [band for band, lost in zip(bands, churned) if lost]
    green = round(sum(b == "green" for b in churned_bands) / len(churned_bands), 4) if churned_bands else None
    return ScoreMetrics(auc, precision_at(scores, churned, 0.10), precision_at(scores, churned, 0.20), green)


def backtest(accounts: list[AccountHealth], churned: dict[str, bool]) -> dict:
    """Side by side on the accounts that have both a score and an outcome."""
    scored = [a for a in accounts if a.account_id in churned and a.health_score is not None]
    if not scored:
        raise InputError("no account has both a score and an outcome: check that account ids match between the two files")
    outcome = [churned[a.account_id] for a in scored]
    return {
        "n_accounts": len(scored),
        "n_churned": sum(outcome),
        "quantitative": asdict(score_metrics([a.quant.score for a in scored], [a.quant_band for a in scored], outcome)),
        "combined": asdict(score_metrics([a.health_score for a in scored], [a.band for a in scored], outcome)),
    }
