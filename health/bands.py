"""Combined health and its band: green, yellow or red, by fixed cut-offs or portfolio quantiles."""

from __future__ import annotations

import math
from dataclasses import dataclass

from undertow.health.config import Bands

BAND_RANK = {"green": 0, "yellow": 1, "red": 2}


def health_score(quant_score: float | None, qual_risk: float, qualitative_penalty: float) -> float | None:
    """Numbers scaled down by what the customer says; a quiet account keeps its numbers."""
    if quant_score is None:
        return None
    return round(quant_score * (1.0 - qualitative_penalty * qual_risk), 1)


@dataclass(frozen=True)
class Cuts:
    green: float  # score >= green is green
    red: float  # score < red is red


def _quantile_cut(ordered: list[float], share: float) -> float:
    # The score of the first account above the share: everything strictly below it is inside.
    k = round(share * len(ordered))
    return ordered[k] if k < len(ordered) else math.inf


def cuts_for(scores: list[float | None], bands: Bands) -> Cuts:
    if bands.method == "fixed":
        return Cuts(green=bands.green, red=bands.red)
    ordered = sorted(s for s in scores if s is not None)
    if not ordered:
        return Cuts(green=bands.green, red=bands.red)
    return Cuts(green=_quantile_cut(ordered, bands.red_share + bands.yellow_share), red=_quantile_cut(ordered, bands.red_share))


def band_of(score: float | None, cuts: Cuts) -> str:
    if score is None:
        return ""
    if score < cuts.red:
        return "red"
    return "green" if score >= cuts.green else "yellow"
