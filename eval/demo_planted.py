"""Does the demo show what it planted? Every planted signal flagged, quoting the planted words;
and how often the quiet documents raise a flag anyway.

    python -m undertow.eval.demo_planted [--accounts 40] [--seed 7] [--json]

Runs the whole demo (generate, ingest, classify, score) in a throwaway home with the bundled
model, then reads the flags back from the store, as a user of `undertow demo` would see them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path


def _matches(stored: dict, planted_text: str) -> bool:
    return planted_text in stored["text"] or planted_text in (stored.get("original_text") or "")


def _overlaps(evidence: list[str], planted_text: str) -> bool:
    """A quote counts when it lies inside the planted words or holds them (evidence is a clause)."""
    quotes = [item["quote"] for item in evidence]
    return any(quote in planted_text or planted_text in quote for quote in quotes)


def score(documents: list, stored: list[dict], flags: list[dict]) -> dict:
    flags_by_doc: dict[str, dict[str, list[str]]] = {}
    for flag in flags:
        flags_by_doc.setdefault(flag["doc_id"], {})[flag["signal"]] = flag["evidence"]
    planted, planted_ids = [], set()
    for doc in (d for d in documents if d.signal):
        match = next((s for s in stored if s["account_id"] == doc.account.account_id and _matches(s, doc.planted_text)), None)
        evidence = flags_by_doc.get(match["id"], {}).get(doc.signal) if match else None
        planted_ids.add(match["id"] if match else None)
        planted.append({"account": doc.account.account_id, "signal": doc.signal, "planted": doc.planted_text,
                        "flagged": evidence is not None, "quoted": bool(evidence) and _overlaps(evidence, doc.planted_text),
                        "evidence": evidence or []})
    quiet = [s["id"] for s in stored if s["id"] not in planted_ids]
    quiet_flags = Counter(signal for doc_id in quiet for signal in flags_by_doc.get(doc_id, {}))
    return {
        "planted": len(planted),
        "flagged": sum(p["flagged"] for p in planted),
        "quoted": sum(p["quoted"] for p in planted),
        "quiet_documents": len(quiet),
        "quiet_flagged": dict(quiet_flags),
        "misses": [p for p in planted if not p["quoted"]],
        "quiet_false_alarms": [{"id": doc_id, "signals": sorted(flags_by_doc[doc_id])} for doc_id in quiet if flags_by_doc.get(doc_id)],
    }


def run(accounts: int, seed: int) -> dict:
    from undertow.demo.portfolio import build_portfolio
    from undertow.services.demo import demo
    from undertow.settings import load_settings
    from undertow.store.home import Home

    with tempfile.TemporaryDirectory(prefix="undertow-demo-planted-") as work:
        settings = load_settings(Path(work) / "home")
        demo(settings, Path(work) / "files", accounts, seed)
        records = Home(settings).records
        stored = list(records.iter_documents())
        return score(build_portfolio(accounts, seed).documents, stored, records.flags())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.accounts, args.seed)
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
        return 0
    print(f"planted signals: {result['planted']}; flagged {result['flagged']}; quoting the planted words {result['quoted']}")
    print(f"quiet documents: {result['quiet_documents']}; flags on them: {result['quiet_flagged'] or 'none'}")
    for miss in result["misses"]:
        said = "; ".join(item["quote"] for item in miss["evidence"]) or "not flagged"
        print(f"  {miss['account']} {miss['signal']}: planted {miss['planted']!r} -> {said}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
