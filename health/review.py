"""Review triggers: the reasons, in plain words, why a person should look at an account now."""

from __future__ import annotations

from undertow.health.account import AccountHealth
from undertow.health.bands import BAND_RANK
from undertow.health.config import HealthConfig
from undertow.prompts import load_signals


def review_reasons(account: AccountHealth, config: HealthConfig) -> list[str]:
    rules = config.review
    reasons: list[str] = []
    qual = account.qual
    if account.quant_band == "green" and qual.risk >= rules.qual_risk_high:
        signals = ", ".join(s.replace("_", " ") for s in qual.active) or "older flags"
        reasons.append(f"numbers look green (quant {account.quant.score:.0f}) but the customer's words say otherwise: {signals} (risk {qual.risk:.2f})")

    always_reviewed = {signal.name: signal.review_reason for signal in load_signals() if signal.review_reason}
    for signal in qual.active:
        if signal in always_reviewed:
            reasons.append(f"{always_reviewed[signal]} ({signal.replace('_', ' ')})")

    sentiment = account.row.text.get("csm_sentiment")
    if sentiment and account.band and BAND_RANK[sentiment] > BAND_RANK[account.band]:
        reasons.append(f"the CSM calls it {sentiment}, the score says {account.band}: ask what the CSM knows")

    previous = (account.previous or {}).get("health_score")
    if previous is not None and account.health_score is not None and previous - account.health_score >= rules.score_drop:
        day = account.previous["as_of"].date().isoformat()
        reasons.append(f"health fell {previous - account.health_score:.0f} points since {day} (from {previous:.0f} to {account.health_score:.0f})")

    days = account.row.values.get("days_since_last_contact")
    limit = config.profiles[account.quant.profile].no_contact_days
    if days is not None and limit is not None and days >= limit:
        reasons.append(f"no contact for {days:.0f} days (the {account.quant.profile} limit is {limit:.0f})")

    if account.band == "red":
        reasons.append(f"health {account.health_score:.0f} is in the red band")
    if account.health_score is None:
        reasons.append("no account numbers to score: check the columns (--map FIELD=COLUMN)")
    return reasons
