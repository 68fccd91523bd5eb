"""The pages' data as JSON (/api/...): the same dictionaries the templates read, in plain types."""

from __future__ import annotations


def portfolio_json(view: dict) -> dict:
    """`portfolio_summary` of the filtered accounts, whole (every queued account, not one page)."""
    summary = dict(view["summary"])
    summary["review_queue"] = [{**line, "reviewed": _review(line.get("reviewed"))} for line in summary["review_queue"]]
    return {"source": view["source"], "filters": view["filters"].as_dict(), **summary}


def account_json(view: dict) -> dict:
    account = view["account"]
    return {
        "as_of": view["as_of"].isoformat(),
        **account.columns(),
        "account_id": account.account_id,
        "account_name": account.name,
        "inputs": view["inputs"],
        "trend": [{**p, "day": p["day"].isoformat()} for p in view["trend"]],
        "flags": [
            {"doc_id": f["doc_id"], "signal": f["signal"], "active": f["active"], "confidence": f["confidence"],
             "date": f["date"].isoformat() if f["date"] else None, "quotes": f["quotes"], "verdict": _verdict(f["verdict"])}
            for f in view["flags"]
        ],
        "next_steps": {s.signal: s.next_steps for s in view["signals"] if s.active},
        "reviews": [_review(r) for r in view["reviews"]],
    }


def _verdict(row: dict | None) -> dict | None:
    if not row:
        return None
    return {"present": row["present"], "author": row["author"], "at": row["created_at"].isoformat(timespec="seconds")}


def _review(row: dict | None) -> dict | None:
    if not row:
        return None
    return {"note": row["note"], "author": row["author"], "at": row["reviewed_at"].isoformat(timespec="seconds"),
            "as_of": row["as_of"].date().isoformat()}
