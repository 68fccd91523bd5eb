"""Trends from stored snapshots: each `annotate` run leaves one per account and day."""

from __future__ import annotations

import datetime as dt

from undertow.store.records import RecordStore

FLAT_POINTS = 2.0  # moves smaller than this are noise in the inputs, not a trend


def as_of_datetime(as_of: dt.date) -> dt.datetime:
    return dt.datetime(as_of.year, as_of.month, as_of.day)


def previous_snapshots(records: RecordStore, as_of: dt.date, scored_only: bool = False) -> dict[str, dict]:
    """The latest snapshot of each account taken before `as_of` (never the day's own); with
    `scored_only`, the latest that has a score, so that a day without numbers does not reset a
    trend or hide a drop."""
    latest: dict[str, dict] = {}
    for row in records.snapshots(before=as_of_datetime(as_of)):  # ordered by date, so the last wins
        if not scored_only or row["health_score"] is not None:
            latest[row["account_id"]] = row
    return latest


def points_moved(previous_health: float, health: float) -> int:
    """The change as a reader sees it: between the whole-point scores shown, so that 80.4 to 51.7
    reads "80 to 52, -28" in the trend column, the review reason and `ask` alike."""
    return round(health) - round(previous_health)


def trend(previous_health: float | None, health: float | None) -> tuple[str, float | None]:
    """('new' | 'flat' | 'up' | 'down', change in points)."""
    if previous_health is None or health is None:
        return "new", None
    delta = round(health - previous_health, 1)
    if abs(delta) < FLAT_POINTS:
        return "flat", delta
    return ("up" if delta > 0 else "down"), delta
