"""Review triggers: the reasons, in plain words, why a person should look at an account now.

The one set of rules: `annotate` applies it to the accounts it scores, and `ask` to the snapshots
`annotate` stored, so both say the same about the same account.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from undertow.health.account import AccountHealth
from undertow.health.bands import BAND_RANK
from undertow.health.config import HealthConfig
from undertow.health.history import points_moved

# Triggers that read the accounts export itself (the CSM's call, days since contact, missing
# numbers). Snapshots do not keep those columns, so `ask` cannot tell them from the store.
FROM_ACCOUNT_ROW = frozenset({"csm_sentiment", "no_contact", "no_numbers"})


@dataclass(frozen=True)
class ReviewFacts:
    """What the rules look at. None means unknown: the rules that need it stay silent."""

    health_score: float | None
    band: str
    quant_score: float | None
    quant_band: str  # the band of the numbers alone, with the same cut-offs as the combined score
    qual_risk: float
    signals: tuple[str, ...]  # active signals, strongest first
    previous_score: float | None = None
    previous_day: dt.date | None = None
    csm_sentiment: str | None = None
    days_since_contact: float | None = None
    profile: str | None = None

    @classmethod
    def of_account(cls, account: AccountHealth) -> ReviewFacts:
        previous = account.previous or {}
        return cls(
            health_score=account.health_score,
            band=account.band,
            quant_score=account.quant.score,
            quant_band=account.quant_band,
            qual_risk=account.qual.risk,
            signals=tuple(account.qual.active),
            previous_score=previous.get("health_score"),
            previous_day=previous["as_of"].date() if previous else None,
            csm_sentiment=account.row.text.get("csm_sentiment"),
            days_since_contact=account.row.values.get("days_since_last_contact"),
            profile=account.quant.profile,
        )


@dataclass(frozen=True)
class Trigger:
    kind: str  # green_numbers | review_signal | csm_sentiment | score_drop | no_contact | red_band | no_numbers
    reason: str


def _names(signals: tuple[str, ...]) -> str:
    return ", ".join(s.replace("_", " ") for s in signals)


def review_triggers(facts: ReviewFacts, config: HealthConfig) -> list[Trigger]:
    rules = config.review
    found: list[Trigger] = []
    # The numbers' band, not the combined one: the combined score already counts the words, so
    # an account the words pull down to yellow is exactly the one this trigger is for.
    if facts.quant_band == "green" and facts.qual_risk >= rules.qual_risk_high:
        found.append(Trigger("green_numbers", (
            f"numbers look green (quant {facts.quant_score:.0f}) but the customer's words say otherwise: "
            f"{_names(facts.signals) or 'older flags'} (risk {facts.qual_risk:.2f})"
        )))  # fmt: skip

    always_reviewed = config.review.signal_reasons
    for signal in facts.signals:
        if signal in always_reviewed:
            found.append(Trigger("review_signal", f"{always_reviewed[signal]} ({_names((signal,))})"))

    sentiment = facts.csm_sentiment
    if sentiment and facts.band and BAND_RANK[sentiment] > BAND_RANK[facts.band]:
        found.append(Trigger("csm_sentiment", f"the CSM calls it {sentiment}, the score says {facts.band}: ask what the CSM knows"))

    previous, health = facts.previous_score, facts.health_score
    if previous is not None and health is not None and previous - health >= rules.score_drop:
        day = facts.previous_day.isoformat() if facts.previous_day else "the last score"
        # The fall is told between the rounded scores a reader sees, so the three figures add up.
        found.append(Trigger("score_drop", f"health fell {-points_moved(previous, health)} points since {day} (from {round(previous)} to {round(health)})"))

    days = facts.days_since_contact
    limit = config.profiles[facts.profile].no_contact_days if facts.profile in config.profiles else None
    if days is not None and limit is not None and days >= limit:
        found.append(Trigger("no_contact", f"no contact for {days:.0f} days (the {facts.profile} limit is {limit:.0f})"))

    if facts.band == "red":
        found.append(Trigger("red_band", f"health {health:.0f} is in the red band"))
    if health is None:
        found.append(Trigger("no_numbers", "no account numbers to score: check the columns (--map FIELD=COLUMN)"))
    return found
