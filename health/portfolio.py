"""Score a whole portfolio: numbers, flags and history in, one AccountHealth per account out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict

from undertow.health.account import AccountHealth
from undertow.health.accounts import AccountTable
from undertow.health.attention import attention_for, order_key
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
    for account, attention in zip(accounts, attention_for(accounts, as_of)):
        account.attention = attention
    return accounts


def attention_order(accounts: list[AccountHealth]) -> list[AccountHealth]:
    """Accounts to review first, then the others; each group by priority = risk x ARR x renewal
    factor (health/attention.py), highest first."""
    return sorted(accounts, key=order_key)


def snapshot_rows(accounts: list[AccountHealth], as_of: dt.date) -> list[dict]:
    return [
        {
            "account_id": a.account_id,
            "account_name": a.name if a.name != a.account_id else None,
            "as_of": as_of_datetime(as_of),
            "quant_score": a.quant.score,
            "qual_risk": a.qual.risk,
            "health_score": a.health_score,
            "band": a.band,
            "signals": ",".join(a.qual.active),
            "review": json.dumps([dataclasses.asdict(t) for t in a.review_triggers]),
        }
        # Unscored accounts too (no numbers that day): `ask` then says the account was annotated
        # and why it is in review, rather than that it was never scored.
        for a in accounts
    ]


BANDS = ("red", "yellow", "green")
RENEWAL_WINDOW_DAYS = 90


def _band_name(band: str | None) -> str:
    return band or "unscored"


def portfolio_summary(accounts: list[AccountHealth], as_of: dt.date, evidence_per_account: int = 2) -> dict:
    """The portfolio in figures, from the same AccountHealth objects `annotate` writes: accounts and
    ARR by band, ARR at risk (the sum of the `arr_at_risk` column), renewals in the next 90 days,
    the review queue in order of need, the health distribution and how bands moved since each
    account's previous snapshot."""
    ordered = attention_order(accounts)
    bands: dict[str, dict] = {band: {"accounts": 0, "arr": 0.0} for band in BANDS}
    for account in ordered:
        cell = bands.setdefault(_band_name(account.band), {"accounts": 0, "arr": 0.0})
        cell["accounts"] += 1
        cell["arr"] += account.row.values.get("arr", 0.0)
    renewals = [a for a in ordered if a.attention and a.attention.days_to_renewal is not None and 0 <= a.attention.days_to_renewal <= RENEWAL_WINDOW_DAYS]
    renewals.sort(key=lambda a: (a.attention.days_to_renewal, a.account_id))
    return {
        "as_of": as_of.isoformat(),
        "accounts": len(ordered),
        "review": sum(a.review for a in ordered),
        "bands": bands,
        "arr_total": sum(a.row.values.get("arr", 0.0) for a in ordered),
        "arr_at_risk": sum((a.attention.arr_at_risk or 0.0) for a in ordered if a.attention),
        "arr_unknown": sum("arr" not in a.row.values for a in ordered),
        "renewal_window_days": RENEWAL_WINDOW_DAYS,
        "renewals_90d": [_account_line(a, 0) for a in renewals],
        "review_queue": [_account_line(a, evidence_per_account) for a in ordered if a.review],
        "distribution": _distribution(ordered),
        "moves": _band_moves(ordered),
    }


def _account_line(account: AccountHealth, evidence: int) -> dict:
    attention = account.attention
    line = {
        "account_id": account.account_id,
        "account_name": account.name,
        "csm_owner": account.row.text.get("csm_owner", ""),
        "band": account.band,
        "health_score": account.health_score,
        "trend": account.trend,
        "health_delta": account.delta,
        "arr": attention.arr if attention else None,
        "arr_at_risk": attention.arr_at_risk if attention else None,
        "renewal_date": attention.renewal.isoformat() if attention and attention.renewal else None,
        "days_to_renewal": attention.days_to_renewal if attention else None,
        "priority": round(attention.priority, 2) if attention else None,
        "review": account.review,
        "reasons": list(account.review_reasons),
        "signals": list(account.qual.active),
    }
    if evidence:
        active = [s for s in account.qual.signals if s.signal in account.qual.active][:evidence]
        line["evidence"] = [
            {"signal": s.signal, "quote": s.quote, "source": s.source, "date": s.date.date().isoformat() if s.date else None} for s in active
        ]
    return line


def _distribution(accounts: list[AccountHealth], width: int = 10) -> list[dict]:
    bins = [{"from": low, "to": low + width, **{band: 0 for band in BANDS}} for low in range(0, 100, width)]
    for account in accounts:
        if account.health_score is None or account.band not in BANDS:
            continue
        index = min(max(int(account.health_score // width), 0), len(bins) - 1)
        bins[index][account.band] += 1
    return bins


def _band_moves(accounts: list[AccountHealth]) -> dict | None:
    """{previous band: {band now: accounts}} over the accounts with an earlier snapshot; None
    when none has one."""
    compared = [a for a in accounts if a.previous]
    if not compared:
        return None
    names = [*BANDS, "unscored"]
    matrix = {before: {after: 0 for after in names} for before in names}
    for account in compared:
        matrix[_band_name(account.previous.get("band"))][_band_name(account.band)] += 1
    days = sorted(a.previous["as_of"].date() for a in compared)
    steps = [(BAND_RANK[a.previous.get("band")], BAND_RANK[a.band]) for a in compared if a.previous.get("band") in BAND_RANK and a.band in BAND_RANK]
    return {
        "since": [days[0].isoformat(), days[-1].isoformat()],
        "compared": len(compared),
        "new": len(accounts) - len(compared),
        "matrix": matrix,
        "worse": sum(1 for before, after in steps if after > before),
        "better": sum(1 for before, after in steps if after < before),
    }
