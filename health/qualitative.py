"""Qualitative risk of an account from its stored flags: severity x confidence x decay with age.

Each signal counts once, by its strongest flag: the same champion leaving, told in three emails,
is one event. The signals then combine by noisy-OR (the chance that at least one of them is a
real risk), so two independent signals weigh more than either alone and the total stays below 1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from undertow.health.config import Qualitative

DEFAULT_SEVERITY = 0.8  # a flag for a signal that is no longer defined still counts


@dataclass
class SignalRisk:
    signal: str
    weight: float
    confidence: float
    age_days: float | None
    doc_id: str
    date: dt.datetime | None
    source: str
    quote: str

    def evidence_line(self) -> str:
        # Starts with a quotation mark on purpose: a spreadsheet never reads it as a formula.
        day = self.date.date().isoformat() if self.date else "undated"
        return f"\u201c{self.quote}\u201d ({self.signal}; {self.source}, {day})"


@dataclass
class QualRisk:
    risk: float
    signals: list[SignalRisk] = field(default_factory=list)  # strongest flag per signal, heaviest first
    active: list[str] = field(default_factory=list)

    @property
    def top(self) -> SignalRisk | None:
        return self.signals[0] if self.signals else None


def decay(age_days: float, half_life_days: float) -> float:
    return 0.5 ** (max(age_days, 0.0) / half_life_days)


def severities(config: Qualitative) -> dict[str, float]:
    """Per signal; the loaded scorecard holds them for every signal (see config._with_signals)."""
    return dict(config.severity)


def flag_weight(flag: dict, as_of: dt.date, config: Qualitative, severity: dict[str, float]) -> tuple[float, float | None]:
    """(weight, age in days); weight 0 for flags dated after `as_of` or older than max_age_days."""
    date = flag.get("date")
    if date is None:
        age = config.undated_age_days
    else:
        age = (as_of - date.date()).days
        if age < 0 or age > config.max_age_days:
            return 0.0, float(age)
    weight = severity.get(flag["signal"], DEFAULT_SEVERITY) * float(flag["confidence"]) * decay(age, config.half_life_days)
    return weight, (float(age) if date is not None else None)


def qualitative_risk(flags: list[dict], as_of: dt.date, config: Qualitative, severity: dict[str, float] | None = None) -> QualRisk:
    severity = severity if severity is not None else severities(config)
    strongest: dict[str, SignalRisk] = {}
    for flag in flags:
        weight, age = flag_weight(flag, as_of, config, severity)
        if weight <= 0:
            continue
        current = strongest.get(flag["signal"])
        if current is None or weight > current.weight:
            evidence = flag.get("evidence") or [{}]
            strongest[flag["signal"]] = SignalRisk(
                signal=flag["signal"],
                weight=weight,
                confidence=float(flag["confidence"]),
                age_days=age,
                doc_id=flag["doc_id"],
                date=flag.get("date"),
                source=flag.get("source") or "",
                quote=(evidence[0].get("quote") or "").strip(),
            )
    ranked = sorted(strongest.values(), key=lambda s: (-s.weight, s.signal))
    quiet = 1.0
    for item in ranked:
        quiet *= 1.0 - min(item.weight, 1.0)
    return QualRisk(
        risk=round(1.0 - quiet, 4),
        signals=ranked,
        active=[s.signal for s in ranked if s.weight >= config.active_threshold],
    )
