"""Qualitative risk from flags: severity x confidence x decay, one count per signal, noisy-OR."""

from __future__ import annotations

import datetime as dt

import pytest

from undertow.health.config import Qualitative
from undertow.health.qualitative import decay, qualitative_risk, severities

AS_OF = dt.date(2026, 10, 1)
CONFIG = Qualitative(half_life_days=60, max_age_days=365, undated_age_days=90, active_threshold=0.2)
SEVERITY = {"champion_departure": 1.0, "competitor_mention": 0.9, "budget_pressure": 0.5}


def flag(signal: str, days_ago: int | None, confidence: float = 0.8, doc_id: str = "d1", quote: str = "she is leaving") -> dict:
    date = None if days_ago is None else dt.datetime.combine(AS_OF - dt.timedelta(days=days_ago), dt.time(10, 30))
    return {"doc_id": doc_id, "signal": signal, "confidence": confidence, "date": date, "source": "email", "subject": "",
            "evidence": [{"quote": quote, "start": 0, "end": len(quote)}]}


def test_decay_halves_every_half_life():
    assert decay(0, 60) == 1.0
    assert decay(60, 60) == 0.5
    assert decay(240, 60) == pytest.approx(1 / 16)
    assert decay(-5, 60) == 1.0


def test_last_week_weighs_more_than_eight_months_ago():
    recent = qualitative_risk([flag("champion_departure", 7)], AS_OF, CONFIG, SEVERITY)
    old = qualitative_risk([flag("champion_departure", 240)], AS_OF, CONFIG, SEVERITY)
    assert recent.risk == pytest.approx(0.8 * 0.5 ** (7 / 60), abs=1e-4)
    assert old.risk == pytest.approx(0.8 / 16, abs=1e-4)
    assert recent.active == ["champion_departure"] and old.active == []


def test_severity_times_confidence():
    risk = qualitative_risk([flag("budget_pressure", 0, confidence=0.6)], AS_OF, CONFIG, SEVERITY)
    assert risk.risk == pytest.approx(0.3)


def test_one_count_per_signal_and_noisy_or_across_signals():
    same_event_twice = [flag("champion_departure", 0, 0.5, "d1"), flag("champion_departure", 0, 0.5, "d2")]
    assert qualitative_risk(same_event_twice, AS_OF, CONFIG, SEVERITY).risk == pytest.approx(0.5)
    two_signals = [flag("champion_departure", 0, 0.5, "d1"), flag("competitor_mention", 0, 0.5, "d2")]
    # 1 - (1 - 0.5)(1 - 0.45)
    assert qualitative_risk(two_signals, AS_OF, CONFIG, SEVERITY).risk == pytest.approx(0.725)


def test_future_too_old_and_undated_flags():
    assert qualitative_risk([flag("champion_departure", -3)], AS_OF, CONFIG, SEVERITY).risk == 0.0
    assert qualitative_risk([flag("champion_departure", 400)], AS_OF, CONFIG, SEVERITY).risk == 0.0
    undated = qualitative_risk([flag("champion_departure", None)], AS_OF, CONFIG, SEVERITY)
    assert undated.risk == pytest.approx(0.8 * 0.5 ** 1.5, abs=1e-4)
    assert undated.top.evidence_line().endswith("(champion_departure; email, undated)")


def test_top_evidence_is_the_heaviest_flag_with_its_date_and_source():
    flags = [flag("budget_pressure", 1, 0.9, "d1", "we must cut seats"), flag("champion_departure", 30, 0.9, "d2", "Dana leaves in May")]
    risk = qualitative_risk(flags, AS_OF, CONFIG, SEVERITY)
    assert [s.signal for s in risk.signals] == ["champion_departure", "budget_pressure"]
    assert risk.top.doc_id == "d2"
    assert risk.top.evidence_line() == "\u201cDana leaves in May\u201d (champion_departure; email, 2026-09-01)"


def test_severity_comes_from_the_signal_definitions_and_the_scorecard_overrides_it(tmp_path):
    from undertow.health.config import load_config
    from undertow.prompts import load_signals

    defined = {s.name: s.severity for s in load_signals()}
    scorecard = tmp_path / "scorecard.yaml"
    scorecard.write_text("qualitative:\n  severity:\n    budget_pressure: 0.1\n", encoding="utf-8")
    merged = severities(load_config(scorecard).qualitative)
    assert merged["budget_pressure"] == 0.1
    assert merged["champion_departure"] == defined["champion_departure"]
    unknown = qualitative_risk([flag("retired_signal", 0, 1.0)], AS_OF, CONFIG, {})
    assert unknown.risk == pytest.approx(0.8)  # a flag for a signal no longer defined still counts
