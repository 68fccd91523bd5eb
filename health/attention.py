"""Need of attention: which account a CSM should open first, and how much revenue is at stake.

    priority = risk x ARR x renewal factor

- risk = 1 - health/100 (0 for a perfect score, 1 for zero; 1 when the account has no numbers)
- ARR = the account's `arr`; an account without one counts as the portfolio's median ARR (so it
  is ranked by risk alone against a typical account); with no ARR anywhere every account counts 1
- renewal factor = 1 + 3 x (1 - d/365), d = days to renewal clamped to 0..365: 4 when the
  renewal is today or already past, 1 when it is a year or more away or unknown

Every output lists the accounts to review first, then the others; each group by priority,
highest first (ties: lower health, then the account id). `arr_at_risk` is an account's whole
ARR when its band is red or yellow or it is in the review queue, 0 when it is neither, and empty
when its ARR is unknown; the portfolio's ARR at risk is the sum of the column.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from undertow.health.account import AccountHealth

RENEWAL_HORIZON_DAYS = 365
RENEWAL_BOOST = 3.0  # the factor is 1 + this for a renewal due today
AT_RISK_BANDS = frozenset({"red", "yellow"})


@dataclass(frozen=True)
class Attention:
    arr: float | None
    renewal: dt.date | None
    days_to_renewal: int | None  # negative: the renewal date has passed
    at_risk: bool  # red or yellow, or in the review queue
    risk: float
    renewal_factor: float
    priority: float

    @property
    def arr_at_risk(self) -> float | None:
        if self.arr is None:
            return None
        return self.arr if self.at_risk else 0.0


def risk_of(health_score: float | None) -> float:
    if health_score is None:
        return 1.0
    return min(max(1.0 - health_score / 100.0, 0.0), 1.0)


def renewal_factor(days_to_renewal: int | None) -> float:
    if days_to_renewal is None:
        return 1.0
    days = min(max(days_to_renewal, 0), RENEWAL_HORIZON_DAYS)
    return 1.0 + RENEWAL_BOOST * (1.0 - days / RENEWAL_HORIZON_DAYS)


def attention_for(accounts: list[AccountHealth], as_of: dt.date) -> list[Attention]:
    """One Attention per account, in the same order; needs the whole portfolio (the median ARR)."""
    known = [a.row.values["arr"] for a in accounts if "arr" in a.row.values]
    typical = statistics.median(known) if known else 1.0
    found = []
    for account in accounts:
        arr = account.row.values.get("arr")
        renewal = account.row.renewal
        days = (renewal - as_of).days if renewal is not None else None
        risk, factor = risk_of(account.health_score), renewal_factor(days)
        found.append(Attention(
            arr=arr, renewal=renewal, days_to_renewal=days, at_risk=account.band in AT_RISK_BANDS or account.review,
            risk=risk, renewal_factor=factor, priority=risk * (typical if arr is None else arr) * factor,
        ))  # fmt: skip
    return found


def order_key(account: AccountHealth) -> tuple:
    attention = account.attention
    priority = attention.priority if attention is not None else risk_of(account.health_score)
    health = account.health_score if account.health_score is not None else -1.0
    return (not account.review, -priority, health, account.account_id)
