"""Score a whole portfolio: numbers, flags and history in, one AccountHealth per account out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict

from undertow.health.account import AccountHealth
from undertow.health.accounts import AccountTable
from undertow.health.bands import BAND_RANK, band_of, cuts_for, health_score
from undertow.health.config import HealthConfig
from undertow.health.history import as_of_datetime, trend
from undertow.health.qualitative import qualitative_risk, severities
from undertow.health.review import ReviewFacts, review_triggers
from undertow.health.scorecard import quant_score


def flags_by_account(flags: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for flag in flags:
        grouped[flag["account_id"]].append(flag)
    return grouped


def score_accounts(
    table: AccountTable,
    flags: dict[str, list[dict]],
    as_of: dt.date,
    config: HealthConfig,
    previous: dict[str, dict] | None = None,
) -> list[AccountHealth]:
    previous = previous or {}
    severity = severities(config.qualitative)
    accounts = []
    for row in table.rows:
        quant = quant_score(row.values, row.text.get("segment"), config)
        qual = qualitative_risk(flags.get(row.account_id, []), as_of, config.qualitative, severity)
        accounts.append(AccountHealth(row=row, quant=quant, qual=qual, health_score=health_score(quant.score, qual.risk, config.combined.qualitative_penalty)))
    # Quantile bands need the whole portfolio, so bands come after every score is known.
    health_cuts = cuts_for([a.health_score for a in accounts], config.bands)
    quant_cuts = cuts_for([a.quant.score for a in accounts], config.bands)
    for account in accounts:
        account.band = band_of(account.health_score, health_cuts)
        account.quant_band = band_of(account.quant.score, quant_cuts)
        account.previous = previous.get(account.account_id)
        account.trend, account.delta = trend((account.previous or {}).get("health_score"), account.health_score)
        account.review_triggers = review_triggers(ReviewFacts.of_account(account), config)
    return accounts


def attention_order(accounts: list[AccountHealth]) -> list[AccountHealth]:
    """Accounts to review first, the worst band first, then the lowest health."""
    return sorted(
        accounts,
        key=lambda a: (not a.review, -BAND_RANK.get(a.band, 3), a.health_score if a.health_score is not None else -1.0, a.account_id),
    )


def snapshot_rows(accounts: list[AccountHealth], as_of: dt.date) -> list[dict]:
    return [
        {
            "account_id": a.account_id,
            "as_of": as_of_datetime(as_of),
            "quant_score": a.quant.score,
            "qual_risk": a.qual.risk,
            "health_score": a.health_score,
            "band": a.band,
            "signals": ",".join(a.qual.active),
            "review": json.dumps([dataclasses.asdict(t) for t in a.review_triggers]),
        }
        for a in accounts
        if a.health_score is not None
    ]
