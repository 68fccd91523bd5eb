"""Each signal an account shows, with its strongest quotes, weighed the way `annotate` weighs it
(severity x confidence x decay with age, health/qualitative.py), so both commands agree on what
is active."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from undertow.ask.models import Quote, SignalSummary
from undertow.ask.playbook import Playbook
from undertow.health.config import Qualitative
from undertow.health.qualitative import flag_weight

QUOTES_PER_SIGNAL = 3


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _ordinal(value: dt.datetime | None) -> int:
    return value.toordinal() if value else 0


def _quote(flag: dict) -> Quote:
    # The strongest span only, verbatim: evidence is stored strongest first, and two spans glued
    # together would be words the customer never wrote in that order.
    spans = [(e.get("quote") or "").strip() for e in flag.get("evidence") or []]
    text = next((span for span in spans if span), "")
    return Quote(
        doc_id=flag["doc_id"],
        date=_day(flag.get("date")),
        source=flag.get("source") or "",
        subject=flag.get("subject") or "",
        quote=text,
        confidence=round(float(flag["confidence"]), 3),
    )


def summarise_signals(
    flags: list[dict], as_of: dt.date, config: Qualitative, severity: dict[str, float], playbook: Playbook
) -> list[SignalSummary]:
    by_signal: dict[str, list[tuple[float, dict]]] = defaultdict(list)
    for flag in flags:
        weight, _age = flag_weight(flag, as_of, config, severity)
        by_signal[flag["signal"]].append((weight, flag))

    summaries = []
    for signal, weighted in by_signal.items():
        # Strongest first; among equals the most recent, which is what a CSM would quote.
        weighted.sort(key=lambda pair: (-pair[0], -_ordinal(pair[1].get("date")), pair[1]["doc_id"]))
        dates = [flag["date"] for _, flag in weighted if flag.get("date")]
        top_weight = weighted[0][0]
        active = top_weight >= config.active_threshold
        summaries.append(
            SignalSummary(
                signal=signal,
                active=active,
                weight=round(top_weight, 4),
                documents=len({flag["doc_id"] for _, flag in weighted}),
                first_seen=_day(min(dates)) if dates else None,
                last_seen=_day(max(dates)) if dates else None,
                evidence=[_quote(flag) for _, flag in weighted[:QUOTES_PER_SIGNAL]],
                next_steps=playbook.steps(signal) if active else [],
            )
        )
    return sorted(summaries, key=lambda s: (not s.active, -s.weight, s.signal))
