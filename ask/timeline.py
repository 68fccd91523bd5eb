"""What changed, in order: when each signal was first and last seen, and documents per month."""

from __future__ import annotations

from collections import Counter

from undertow.ask.models import MonthCount, SignalSummary, Timeline, TimelineEvent

MAX_EVENTS = 10
MAX_MONTHS = 12


def build_timeline(documents: list[dict], flags: list[dict], signals: list[SignalSummary]) -> Timeline:
    """`documents` and `flags` are already limited to the time window."""
    events: list[TimelineEvent] = []
    for summary in signals:
        dated = sorted((f["date"], f["doc_id"]) for f in flags if f["signal"] == summary.signal and f.get("date"))
        if not dated:
            continue
        name = summary.signal.replace("_", " ")
        first, last = dated[0], dated[-1]
        events.append(TimelineEvent(date=first[0].date(), event=f"{name} first seen", doc_id=first[1]))
        if last[0].date() != first[0].date():
            more = len({doc_id for _, doc_id in dated}) - 1
            events.append(TimelineEvent(date=last[0].date(), event=f"{name} last seen ({more} more since)", doc_id=last[1]))
    events.sort(key=lambda e: (e.date, e.event))

    per_month = Counter(d["date"].strftime("%Y-%m") for d in documents if d.get("date"))
    flagged_ids = {f["doc_id"] for f in flags}
    flagged_month = Counter(d["date"].strftime("%Y-%m") for d in documents if d.get("date") and d["id"] in flagged_ids)
    months = [MonthCount(month=m, documents=per_month[m], flagged=flagged_month[m]) for m in sorted(per_month)]
    dates = [d["date"] for d in documents if d.get("date")]
    return Timeline(
        events=events[-MAX_EVENTS:],
        months=months[-MAX_MONTHS:],
        last_document=max(dates).date() if dates else None,
    )
