"""One account's health: the numbers, what was said, the combined score and why to look at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from undertow.health.accounts import AccountRow
from undertow.health.qualitative import QualRisk
from undertow.health.scorecard import QuantScore

if TYPE_CHECKING:
    from undertow.health.attention import Attention
    from undertow.health.review import Trigger

NEW_COLUMNS = (
    "quant_score", "qual_risk", "health_score", "band", "trend", "health_delta", "signals", "top_evidence", "review", "review_reasons",
    "days_to_renewal", "arr_at_risk", "priority",
)


@dataclass
class AccountHealth:
    row: AccountRow
    quant: QuantScore
    qual: QualRisk
    health_score: float | None
    band: str = ""
    quant_band: str = ""
    trend: str = "new"
    delta: float | None = None
    previous: dict | None = None  # the last snapshot before this one
    review_triggers: list[Trigger] = field(default_factory=list)
    attention: Attention | None = None  # ARR, renewal and priority (health/attention.py)

    @property
    def account_id(self) -> str:
        return self.row.account_id

    @property
    def name(self) -> str:
        return self.row.text.get("account_name", self.row.account_id)

    @property
    def review_reasons(self) -> list[str]:
        return [trigger.reason for trigger in self.review_triggers]

    @property
    def review(self) -> bool:
        return bool(self.review_triggers)

    def columns(self) -> dict:
        """The values `annotate` adds to the row, as plain types (lists stay lists)."""
        top = self.qual.top if self.qual.active else None
        attention = self.attention
        return {
            "quant_score": self.quant.score,
            "qual_risk": round(self.qual.risk, 3),
            "health_score": self.health_score,
            "band": self.band,
            "trend": self.trend,
            "health_delta": self.delta,
            "signals": list(self.qual.active),
            "top_evidence": top.evidence_line() if top else "",
            "review": self.review,
            "review_reasons": list(self.review_reasons),
            "days_to_renewal": attention.days_to_renewal if attention else None,
            "arr_at_risk": attention.arr_at_risk if attention else None,
            "priority": round(attention.priority, 2) if attention else None,
        }

    def details(self) -> dict:
        """What `--json` adds for people who want to check the arithmetic."""
        return {
            "account_id": self.account_id,
            "profile": self.quant.profile,
            "quant_parts": [p.__dict__ for p in self.quant.parts],
            "quant_missing": self.quant.missing,
            "quant_band": self.quant_band,
            "signal_weights": {
                s.signal: {"weight": round(s.weight, 4), "confidence": s.confidence, "age_days": s.age_days, "doc_id": s.doc_id,
                           "source": s.source, "date": s.date.date().isoformat() if s.date else None, "quote": s.quote}
                for s in self.qual.signals
            },
            "previous": {"as_of": self.previous["as_of"].date().isoformat(), "health_score": self.previous["health_score"]} if self.previous else None,
        }
