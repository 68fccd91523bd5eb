"""The account's scores from the snapshots `undertow annotate` stores: latest, trend, history."""

from __future__ import annotations

import datetime as dt
import json

from undertow.ask.models import ScorePoint, Scores
from undertow.health.bands import band_of, cuts_for
from undertow.health.config import Bands
from undertow.health.history import trend
from undertow.store.records import RecordStore

HISTORY_POINTS = 6


def _point(row: dict) -> ScorePoint:
    return ScorePoint(
        as_of=row["as_of"].date(),
        health_score=row["health_score"],
        quant_score=row["quant_score"],
        qual_risk=row["qual_risk"],
        band=row["band"] or "",
        signals=[s for s in (row["signals"] or "").split(",") if s],
        review=json.loads(row["review"]) if row.get("review") is not None else None,
    )


def quant_band(records: RecordStore, latest: dict, bands: Bands) -> str:
    """The band of the numbers alone, cut as `annotate` cut them: quantiles over that day's portfolio."""
    day = records.snapshots_on(latest["as_of"]) if bands.method == "quantile" else []
    return band_of(latest["quant_score"], cuts_for([row["quant_score"] for row in day], bands))


def account_scores(records: RecordStore, account_id: str, as_of: dt.date, bands: Bands) -> Scores | None:
    """None when the account was never scored; snapshots taken after `as_of` are not looked at."""
    day_after = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    rows = records.snapshots(account_id, before=day_after)
    if not rows:
        return None
    points = [_point(row) for row in rows]
    latest = points[-1]
    # `annotate` compares with the last snapshot that has a score: a day without numbers has none.
    previous = next((p for p in reversed(points[:-1]) if p.health_score is not None), None)
    direction, delta = trend(previous.health_score if previous else None, latest.health_score)
    return Scores(
        latest=latest,
        previous=previous,
        quant_band=quant_band(records, rows[-1], bands),
        trend=direction,
        delta=delta,
        age_days=(as_of - latest.as_of).days,
        history=points[-HISTORY_POINTS:],
    )
