"""The quantitative score: a weighted mean of points per input, every step visible."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from undertow.health.config import HealthConfig, ScoreInput


@dataclass
class ScorePart:
    input: str
    value: float
    points: float
    weight: float


@dataclass
class QuantScore:
    score: float | None  # None when the account has none of the inputs
    profile: str
    parts: list[ScorePart] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # inputs the profile weighs but the row lacks


def measures(values: dict[str, float]) -> dict[str, float]:
    """The scorecard's inputs from the account columns; an input whose columns are absent is left out."""
    out = {name: values[name] for name in ("tickets_open", "nps", "csat", "invoices_overdue", "days_since_last_contact") if name in values}
    if "logins_30d" in values and "logins_prev_30d" in values:
        now, before = values["logins_30d"], values["logins_prev_30d"]
        # No logins in either month is the worst trend there is, not a flat one.
        out["usage_trend"] = now / before - 1.0 if before > 0 else (1.0 if now > 0 else -1.0)
    if values.get("seats_licensed", 0) > 0 and "seats_active" in values:
        out["seat_utilisation"] = values["seats_active"] / values["seats_licensed"]
    return out


def points_for(value: float, rule: ScoreInput) -> float:
    xs = [x for x, _ in rule.points]
    ys = [y for _, y in rule.points]
    return float(np.interp(value, xs, ys))


def quant_score(values: dict[str, float], segment: str | None, config: HealthConfig) -> QuantScore:
    profile_name = config.profile_name(segment)
    profile = config.profiles[profile_name]
    available = measures(values)
    result = QuantScore(score=None, profile=profile_name)
    for name, rule in profile.inputs.items():
        if rule.weight <= 0:
            continue
        if name not in available:
            result.missing.append(name)
            continue
        result.parts.append(ScorePart(name, available[name], points_for(available[name], rule), rule.weight))
    total_weight = sum(p.weight for p in result.parts)
    if total_weight > 0:
        # Dividing by the weight present re-weights over the inputs this account has.
        result.score = round(sum(p.points * p.weight for p in result.parts) / total_weight, 1)
    return result
