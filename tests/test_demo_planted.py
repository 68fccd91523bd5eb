"""The demo check's counting, on hand-made documents and flags (no model involved)."""

from __future__ import annotations

from types import SimpleNamespace

from undertow.eval.demo_planted import score


def _doc(account: str, text: str, signal: str | None = None, planted: str | None = None):
    return SimpleNamespace(account=SimpleNamespace(account_id=account), text=text, signal=signal, planted_text=planted)


def _flag(doc_id: str, signal: str, *quotes: str) -> dict:
    return {"doc_id": doc_id, "signal": signal, "evidence": [{"quote": q, "start": 0, "end": len(q)} for q in quotes]}


def test_a_planted_signal_counts_only_when_flagged_and_quoting_the_planted_words():
    leaving = "Dana told me she leaves the company in March and nobody owns the tool yet."
    rival = "We are trialling Clearpath for the same dashboards this quarter."
    documents = [
        _doc("acme", f"Hi team. {leaving} Thanks", "champion_departure", leaving),
        _doc("acme", f"Quick note. {rival}", "competitor_mention", rival),
        _doc("beta", "Dashboards fine, three new users onboarded."),
        _doc("beta", "Password reset please."),
    ]
    stored = [
        {"id": "1", "account_id": "acme", "text": f"Hi team. {leaving} Thanks"},
        {"id": "2", "account_id": "acme", "text": "Quick note.", "original_text": f"Quick note. {rival}"},
        {"id": "3", "account_id": "beta", "text": "Dashboards fine, three new users onboarded."},
        {"id": "4", "account_id": "beta", "text": "Password reset please."},
    ]
    flags = [
        _flag("1", "champion_departure", "she leaves the company in March"),
        _flag("2", "competitor_mention", "Quick note."),  # flagged, but not on the planted words
        _flag("4", "silent_dissatisfaction", "Password reset please."),
    ]
    result = score(documents, stored, flags)
    assert (result["planted"], result["flagged"], result["quoted"]) == (2, 2, 1)
    assert [m["signal"] for m in result["misses"]] == ["competitor_mention"]
    assert result["quiet_documents"] == 2
    assert result["quiet_flagged"] == {"silent_dissatisfaction": 1}
    assert result["quiet_false_alarms"] == [{"id": "4", "signals": ["silent_dissatisfaction"]}]


def test_a_planted_document_that_was_not_stored_is_a_miss_and_not_a_quiet_one():
    planted = "Procurement asked us to cut the licence count by a third."
    documents = [_doc("acme", planted, "budget_pressure", planted)]
    result = score(documents, [{"id": "9", "account_id": "acme", "text": "unrelated"}], [])
    assert (result["planted"], result["flagged"], result["quoted"]) == (1, 0, 0)
    assert result["quiet_documents"] == 1
