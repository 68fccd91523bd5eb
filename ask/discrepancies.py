"""Why to look at the account now: `annotate`'s review triggers, and where the words have moved
on since the score.

The triggers come from health/review.py, the rules `annotate` applies, fed from the snapshots
`annotate` stored; only the triggers that read the accounts export itself (health.review
FROM_ACCOUNT_ROW) cannot be told from the store.
"""

from __future__ import annotations

from collections.abc import Collection

from undertow.ask.models import Scores, SignalSummary
from undertow.health.config import HealthConfig
from undertow.health.review import ReviewFacts, Trigger, review_triggers

STALE_SCORE_DAYS = 30  # an older score predates most of what a CSM would ask about


def _names(signals: list[str]) -> str:
    return ", ".join(s.replace("_", " ") for s in signals)


def scored_triggers(scores: Scores | None, config: HealthConfig) -> list[Trigger]:
    """The review triggers of the latest score, as `annotate` gave them that day."""
    if scores is None:
        return []  # the brief's note already says how to add scores
    latest, previous = scores.latest, scores.previous
    if latest.review is not None:
        return latest.review
    # A snapshot from before `annotate` kept its triggers: the same rules, on what it did keep.
    facts = ReviewFacts(
        health_score=latest.health_score,
        band=latest.band,
        quant_score=latest.quant_score,
        quant_band=scores.quant_band,
        qual_risk=latest.qual_risk or 0.0,
        signals=tuple(latest.signals),
        previous_score=previous.health_score if previous else None,
        previous_day=previous.as_of if previous else None,
    )
    return review_triggers(facts, config)


def find_discrepancies(
    scores: Scores | None, signals: list[SignalSummary], active_with_earlier_notes: Collection[str] = ()
) -> list[str]:
    """Where the signals in the window and the stored score no longer match, and an old score.

    `active_with_earlier_notes`: the signals active on the as-of day once notes dated before `--since`
    count too. The score counts those notes, so such a signal is not faded, only outside the window.
    """
    if scores is None:
        return []
    active = [s.signal for s in signals if s.active]
    latest, reasons = scores.latest, []
    unscored = [s for s in active if s not in latest.signals]
    if unscored:
        reasons.append(f"{_names(unscored)} not in the {latest.named}: re-run `undertow annotate ACCOUNTS.csv` to count them")
    outside = [s for s in latest.signals if s not in active and s in active_with_earlier_notes]
    if outside:
        reasons.append(f"{_names(outside)} counted in the {latest.named} from notes before this window")
    faded = [s for s in latest.signals if s not in active and s not in active_with_earlier_notes]
    if faded:
        reasons.append(f"{_names(faded)} counted in the {latest.named} but no longer active in this window")
    if scores.age_days > STALE_SCORE_DAYS:
        reasons.append(f"the latest {latest.kind} is {scores.age_days} days old")
    return reasons
