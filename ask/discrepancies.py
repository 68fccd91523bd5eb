"""Where the numbers and the customer's words disagree, and other reasons to look now.

Snapshots keep the scores but not `annotate`'s review reasons, so the reasons that can be told
from snapshots and flags are worked out again here, with the same scorecard thresholds.
"""

from __future__ import annotations

from undertow.ask.models import Scores, SignalSummary
from undertow.health.config import HealthConfig

STALE_SCORE_DAYS = 30  # an older score predates most of what a CSM would ask about


def _names(signals: list[str]) -> str:
    return ", ".join(s.replace("_", " ") for s in signals)


def find_discrepancies(scores: Scores | None, signals: list[SignalSummary], qual_risk: float, config: HealthConfig) -> list[str]:
    if scores is None:
        return []  # the brief's note already says how to add scores
    active = [s.signal for s in signals if s.active]

    latest, reasons = scores.latest, []
    day = latest.as_of.isoformat()
    if latest.band == "green" and active and qual_risk >= config.review.qual_risk_high:
        reasons.append(
            f"the score is green ({latest.health_score:.0f} on {day}) but the customer's words say otherwise: "
            f"{_names(active)} (risk {qual_risk:.2f})"
        )
    unscored = [s for s in active if s not in latest.signals]
    if unscored:
        reasons.append(f"{_names(unscored)} not in the score of {day}: re-run `undertow annotate ACCOUNTS.csv` to count them")
    faded = [s for s in latest.signals if s not in active]
    if faded:
        reasons.append(f"{_names(faded)} counted in the score of {day} but no longer active in this window")
    previous = scores.previous
    if previous and previous.health_score is not None and latest.health_score is not None:
        drop = previous.health_score - latest.health_score
        if drop >= config.review.score_drop:
            reasons.append(
                f"health fell {drop:.0f} points from {previous.as_of.isoformat()} to {day} "
                f"({previous.health_score:.0f} to {latest.health_score:.0f})"
            )
    if latest.band == "red":
        reasons.append(f"health {latest.health_score:.0f} is in the red band")
    if scores.age_days > STALE_SCORE_DAYS:
        reasons.append(f"the latest score is {scores.age_days} days old")
    return reasons
