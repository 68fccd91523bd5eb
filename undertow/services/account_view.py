"""One account as `undertow serve` shows it: the scores `annotate` gave, the inputs that cost it
points, the trend from stored snapshots, every flag with its evidence inside the document it came
from and what people said about it, the playbook's next steps, and the review notes."""

from __future__ import annotations

import datetime as dt

CONTEXT_CHARS = 600  # of a long document, this much text either side of the evidence is shown


def account_view(workspace, account) -> dict:
    records, as_of = workspace.home.records, workspace.as_of
    # Rejected flags too: the page shows each with the verdict a CSM gave it.
    flags = [f for f in records.flags(account.account_id, include_rejected=True) if f.get("date") is None or f["date"].date() <= as_of]
    documents = {d["id"]: d for d in records.iter_documents(account.account_id)}
    verdicts = {(f["doc_id"], f["signal"]): f for f in records.feedback() if f["doc_id"] in documents}
    brief = _brief(workspace, account.account_id)
    return {
        "account": account,
        "as_of": as_of,
        "inputs": input_costs(account.quant),
        "trend": trend_points(records.snapshots(account.account_id), account, as_of),
        "flags": [flag_card(f, documents.get(f["doc_id"]), verdicts.get((f["doc_id"], f["signal"])), account.qual.active) for f in flags],
        "signals": brief.signals if brief else [],
        "timeline": brief.timeline if brief else None,
        "reviews": list(reversed(records.reviews(account_id=account.account_id))),
        "signal_names": workspace.home.signal_names,
    }


def _brief(workspace, account_id: str):
    """`ask`'s offline brief (signals with next steps, timeline); None for an account with no
    documents. Never the LLM's narrative: a page view must not spend tokens."""
    from undertow.services.ask import AccountNotFound, ask

    try:
        return ask(workspace.settings, account_id, as_of=workspace.as_of, use_llm=False)
    except AccountNotFound:
        return None


def input_costs(quant) -> list[dict]:
    """Each input with the points it cost the score (weight share x points short of 100), the
    costliest first; `pulls_down` marks those below the account's own score, the ones whose
    improvement would lift it most."""
    total = sum(part.weight for part in quant.parts)
    rows = [
        {"input": p.input, "value": p.value, "points": p.points, "weight": p.weight,
         "cost": p.weight * (100.0 - p.points) / total, "pulls_down": quant.score is not None and p.points < quant.score}
        for p in quant.parts
    ]  # fmt: skip
    return sorted(rows, key=lambda row: (-row["cost"], row["input"]))


def trend_points(snapshots: list[dict], account, as_of: dt.date) -> list[dict]:
    """Stored snapshots up to `as_of`, and the score shown now when that day has none stored."""
    points = [{"day": s["as_of"].date(), "health": s["health_score"], "band": s["band"] or "unscored", "stored": True}
              for s in snapshots if s["as_of"].date() <= as_of and s["health_score"] is not None]
    if account.health_score is not None and not any(p["day"] == as_of for p in points):
        points.append({"day": as_of, "health": account.health_score, "band": account.band or "unscored", "stored": False})
    return points


def flag_card(flag: dict, document: dict | None, verdict: dict | None, active: list[str]) -> dict:
    text = (document or {}).get("text") or ""
    spans = evidence_spans(text, flag.get("evidence") or [])
    return {
        "doc_id": flag["doc_id"],
        "signal": flag["signal"],
        "active": flag["signal"] in active,
        "confidence": float(flag["confidence"]),
        "date": flag["date"].date() if flag.get("date") else None,
        "source": flag.get("source") or "",
        "subject": flag.get("subject") or "",
        "author": (document or {}).get("author") or "",
        "quotes": [e.get("quote", "") for e in flag.get("evidence") or [] if e.get("quote")],
        "pieces": excerpt_pieces(text, spans),
        "verdict": verdict,
    }


def evidence_spans(text: str, evidence: list[dict]) -> list[tuple[int, int]]:
    """Where each quote is in `text`: its stored offsets when they still point at it, else its
    first occurrence; a quote no longer in the text is left out."""
    spans = []
    for item in evidence:
        quote, start, end = item.get("quote") or "", item.get("start"), item.get("end")
        if not quote:
            continue
        if not (isinstance(start, int) and isinstance(end, int) and text[start:end] == quote):
            start = text.find(quote)
            end = start + len(quote)
        if start >= 0:
            spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def excerpt_pieces(text: str, spans: list[tuple[int, int]], context: int = CONTEXT_CHARS) -> list[tuple[str, bool]]:
    """(text, is_evidence) pieces of the document around its evidence, with "…" where text was
    left out; the template escapes them, so no markup is built here."""
    if not spans:
        return [(text[: 2 * context] + ("\u2026" if len(text) > 2 * context else ""), False)] if text else []
    first, last = max(spans[0][0] - context, 0), min(spans[-1][1] + context, len(text))
    pieces: list[tuple[str, bool]] = [("\u2026", False)] if first > 0 else []
    cursor = first
    for start, end in spans:
        if start > cursor:
            pieces.append((text[cursor:start], False))
        pieces.append((text[start:end], True))
        cursor = end
    if last > cursor:
        pieces.append((text[cursor:last], False))
    if last < len(text):
        pieces.append(("\u2026", False))
    return pieces
