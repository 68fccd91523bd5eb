"""The morning digest: what changed between two scorings, from the stored snapshots and flags.

The period runs from the last snapshot before the window (`since` days ending with the as-of day)
to the as-of day's snapshot, so after a night the nightly job missed the digest still covers
everything since the last one it saw. In it:

- accounts that entered the review queue (no triggers before, some now) and why;
- new flags of high severity: on documents written in the period, or stored during the window
  (a late export still counts), each with its evidence;
- score drops of at least `min_drop` points.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from undertow.health.history import as_of_datetime, previous_snapshots
from undertow.store.records import RecordStore

HIGH_SEVERITY = 0.9  # signals.yaml: champion departure, churn intent, a competitor in a trial
MIN_DROP = 5.0  # points; smaller moves are mostly noise in the inputs


@dataclass
class Digest:
    as_of: dt.date
    since_days: int
    previous_day: dt.date | None  # the snapshot compared with; None when there is none earlier
    entered: list[dict] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # accounts no longer in the queue
    flags: list[dict] = field(default_factory=list)
    drops: list[dict] = field(default_factory=list)
    min_severity: float = HIGH_SEVERITY
    min_drop: float = MIN_DROP

    @property
    def empty(self) -> bool:
        return not (self.entered or self.flags or self.drops)

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "since_days": self.since_days,
            "previous_snapshot": self.previous_day.isoformat() if self.previous_day else None,
            "entered_review": self.entered,
            "left_review": self.left,
            "new_flags": self.flags,
            "score_drops": self.drops,
            "min_severity": self.min_severity,
            "min_drop": self.min_drop,
        }


def _triggers(snapshot: dict | None) -> list[dict]:
    return json.loads(snapshot["review"]) if snapshot and snapshot.get("review") else []


def build_digest(records: RecordStore, severity: dict[str, float], as_of: dt.date, since_days: int,
                 min_severity: float = HIGH_SEVERITY, min_drop: float = MIN_DROP) -> Digest:
    window_start = as_of + dt.timedelta(days=1 - since_days)
    window_end = as_of + dt.timedelta(days=1)
    now, before = previous_snapshots(records, window_end), previous_snapshots(records, window_start)
    # The accounts export's name (kept with the snapshot) first, the documents' where it gave none.
    names = {row["account_id"]: row["account_name"] for row in records.accounts() if row["account_name"]}
    names |= {account_id: snapshot["account_name"] for account_id, snapshot in now.items() if snapshot.get("account_name")}
    previous_day = max((s["as_of"].date() for s in before.values()), default=None)
    digest = Digest(as_of, since_days, previous_day, min_severity=min_severity, min_drop=min_drop)

    for account_id, snapshot in sorted(now.items(), key=lambda item: (item[1]["health_score"] or 0.0, item[0])):
        earlier = before.get(account_id)
        if earlier is not None and earlier["as_of"] == snapshot["as_of"]:
            continue  # not scored since: nothing of it changed
        line = {"account_id": account_id, "account_name": names.get(account_id) or account_id, "band": snapshot["band"],
                "health_score": snapshot["health_score"], "previous_health": earlier["health_score"] if earlier else None}
        triggers, had = _triggers(snapshot), _triggers(earlier)
        if triggers and not had:
            digest.entered.append({**line, "new_account": earlier is None, "reasons": [t["reason"] for t in triggers]})
        elif had and not triggers:
            digest.left.append(account_id)
        if earlier and None not in (snapshot["health_score"], earlier["health_score"]):
            change = round(snapshot["health_score"] - earlier["health_score"], 1)
            if -change >= min_drop:
                digest.drops.append({**line, "change": change, "previous_band": earlier["band"]})
    digest.drops.sort(key=lambda d: (d["change"], d["account_id"]))
    digest.flags = _new_flags(records, severity, names, previous_day or window_start - dt.timedelta(days=1), as_of,
                              (as_of_datetime(window_start), as_of_datetime(window_end)), min_severity)
    return digest


def _new_flags(records, severity, names, after_day, as_of, stored_window, min_severity) -> list[dict]:
    found = []
    for flag in records.flags():
        weight = severity.get(flag["signal"], 0.0)
        written = flag["date"].date() if flag.get("date") else None
        new = (written is not None and after_day < written <= as_of) or stored_window[0] <= flag["created_at"] < stored_window[1]
        if weight < min_severity or not new or (written is not None and written > as_of):
            continue
        evidence = flag.get("evidence") or [{}]
        found.append({"account_id": flag["account_id"], "account_name": names.get(flag["account_id"]) or flag["account_id"],
                      "signal": flag["signal"], "severity": weight, "confidence": round(float(flag["confidence"]), 2),
                      "date": written.isoformat() if written else None, "source": flag.get("source") or "", "doc_id": flag["doc_id"],
                      "quote": (evidence[0].get("quote") or "").strip()})  # fmt: skip
    found.sort(key=lambda f: (f["date"] or "", f["account_id"]), reverse=True)  # newest first ...
    return sorted(found, key=lambda f: -f["severity"])  # ... within each severity, most severe first
