"""Combined score, bands and each review trigger, on accounts small enough to check by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from undertow.health.bands import band_of, cuts_for, health_score
from undertow.health.config import Bands, load_config
from undertow.health.history import trend
from undertow.health.portfolio import attention_order, score_accounts
from undertow.health.accounts import read_accounts
from undertow.health.report import review_table

AS_OF = dt.date(2026, 10, 1)
# One input (csat) so that quant = (csat - 1) x 25 and every figure below is easy to check.
SCORECARD = """
profiles:
  default:
    no_contact_days: 60
    inputs:
      usage_trend: {weight: 0}
      seat_utilisation: {weight: 0}
      tickets_open: {weight: 0}
      nps: {weight: 0}
      csat: {weight: 1, points: [[1, 0], [5, 100]]}
      invoices_overdue: {weight: 0}
      days_since_last_contact: {weight: 0}
  enterprise: {no_contact_days: 30}
  smb: {no_contact_days: null}
qualitative: {half_life_days: 60, active_threshold: 0.2, severity: {champion_departure: 1.0}}
combined: {qualitative_penalty: 0.5}
bands: {method: fixed, green: 70, red: 45}
review: {qual_risk_high: 0.5, score_drop: 10}
"""
ACCOUNTS = """account_id,segment,csat,days_since_last_contact,csm_sentiment
quiet,mid-market,4.6,10,green
hidden,mid-market,4.6,10,green
csm_worse,mid-market,4.6,10,red
fell,mid-market,4.2,10,
stable,mid-market,3.8,10,
silent_ent,enterprise,4.6,35,
silent_smb,smb,4.6,200,
red,mid-market,2.0,10,red
"""


def champion(account: str, days_ago: int, confidence: float = 0.9) -> dict:
    date = dt.datetime.combine(AS_OF - dt.timedelta(days=days_ago), dt.time(9))
    return {"doc_id": f"{account}-1", "account_id": account, "signal": "champion_departure", "confidence": confidence, "date": date,
            "source": "call_note", "subject": "", "evidence": [{"quote": "Dana is leaving in November", "start": 0, "end": 27}]}


@pytest.fixture()
def scored(tmp_path):
    (tmp_path / "scorecard.yaml").write_text(SCORECARD, encoding="utf-8")
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    config = load_config(tmp_path / "scorecard.yaml")
    flags = {"hidden": [champion("hidden", 0)], "quiet": [champion("quiet", 300)]}
    previous = {
        "fell": {"as_of": dt.datetime(2026, 9, 1), "health_score": 90.0},
        "stable": {"as_of": dt.datetime(2026, 9, 1), "health_score": 70.0},
    }
    accounts = score_accounts(read_accounts(tmp_path / "accounts.csv"), flags, AS_OF, config, previous)
    return {a.account_id: a for a in accounts}


def test_hand_computed_scores_and_bands(scored):
    hidden = scored["hidden"]
    assert (hidden.quant.score, hidden.qual.risk) == (90.0, 0.9)
    assert hidden.health_score == 49.5  # 90 x (1 - 0.5 x 0.9)
    assert (hidden.quant_band, hidden.band) == ("green", "yellow")
    assert scored["red"].health_score == 25.0 and scored["red"].band == "red"
    assert scored["quiet"].qual.risk < 0.05 and scored["quiet"].band == "green"


def test_quiet_healthy_accounts_need_no_review(scored):
    for name in ("quiet", "stable", "silent_smb"):
        assert scored[name].review_reasons == [], name


def test_green_numbers_but_risky_words(scored):
    assert scored["hidden"].review_reasons == [
        "numbers look green (quant 90) but the customer's words say otherwise: champion departure (risk 0.90)"
    ]
    top = scored["hidden"].columns()["top_evidence"]
    assert top == "\u201cDana is leaving in November\u201d (champion_departure; call_note, 2026-10-01)"


def test_csm_sentiment_worse_than_the_band(scored):
    assert scored["csm_worse"].review_reasons == ["the CSM calls it red, the score says green: ask what the CSM knows"]


def test_a_fall_from_90_to_80_matters_more_than_a_stable_70(scored):
    fell, stable = scored["fell"], scored["stable"]
    assert (fell.health_score, fell.band, fell.trend, fell.delta) == (80.0, "green", "down", -10.0)
    assert fell.review_reasons == ["health fell 10 points since 2026-09-01 (from 90 to 80)"]
    assert (stable.trend, stable.delta, stable.review) == ("flat", 0.0, False)


def test_no_contact_for_too_long_depends_on_the_profile(scored):
    assert scored["silent_ent"].review_reasons == ["no contact for 35 days (the enterprise limit is 30)"]
    assert scored["silent_smb"].review_reasons == []


def test_red_band_and_attention_order(scored):
    assert scored["red"].review_reasons == ["health 25 is in the red band"]  # the CSM already says red
    order = [a.account_id for a in attention_order(list(scored.values()))]
    assert order[:2] == ["red", "hidden"]
    assert set(order[2:5]) == {"fell", "csm_worse", "silent_ent"}


def test_trend_words():
    assert trend(None, 50.0) == ("new", None)
    assert trend(50.0, 51.5) == ("flat", 1.5)
    assert trend(50.0, 60.0) == ("up", 10.0)
    assert trend(50.0, None) == ("new", None)


def test_health_without_numbers_is_unscored():
    assert health_score(None, 0.9, 0.5) is None
    assert health_score(80.0, 0.0, 0.5) == 80.0


def test_quantile_bands_follow_the_portfolio():
    bands = Bands(method="quantile", green=70, red=45, red_share=0.2, yellow_share=0.3)
    scores = [float(s) for s in range(10, 101, 10)]
    cuts = cuts_for(scores, bands)
    assert [band_of(s, cuts) for s in scores] == ["red"] * 2 + ["yellow"] * 3 + ["green"] * 5
    fixed = cuts_for(scores, bands.model_copy(update={"method": "fixed"}))
    assert [band_of(s, fixed) for s in (44.9, 45.0, 69.9, 70.0)] == ["red", "yellow", "yellow", "green"]


def test_a_signal_with_a_review_reason_sends_the_account_to_review_whatever_its_band(tmp_path):
    (tmp_path / "scorecard.yaml").write_text(SCORECARD.replace("qual_risk_high: 0.5", "qual_risk_high: 0.99"), encoding="utf-8")
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    leaving = champion("quiet", 0) | {"signal": "churn_intent"}
    accounts = score_accounts(read_accounts(tmp_path / "accounts.csv"), {"quiet": [leaving], "stable": [champion("stable", 0)]}, AS_OF, load_config(tmp_path / "scorecard.yaml"), {})
    by_id = {a.account_id: a for a in accounts}
    assert by_id["quiet"].review_reasons == ["the customer said it will leave or shrink (churn intent)"]
    assert not any("will leave" in r for r in by_id["stable"].review_reasons)  # champion_departure has no review_reason


def test_a_fall_is_told_in_figures_that_add_up(tmp_path):
    from undertow.health.review import ReviewFacts, review_triggers

    (tmp_path / "scorecard.yaml").write_text(SCORECARD, encoding="utf-8")
    facts = ReviewFacts(health_score=51.7, band="yellow", quant_score=51.7, quant_band="yellow", qual_risk=0.0, signals=(),
                        previous_score=80.4, previous_day=dt.date(2026, 9, 1))
    reasons = [t.reason for t in review_triggers(facts, load_config(tmp_path / "scorecard.yaml")) if t.kind == "score_drop"]
    assert reasons == ["health fell 28 points since 2026-09-01 (from 80 to 52)"]  # not "fell 29 ... from 80 to 52"


def test_the_trend_column_moves_by_the_points_the_scores_show(tmp_path):
    """90.3 then 80.8 reads 90 then 81: the column says -9, as the scores do, not -10."""
    (tmp_path / "scorecard.yaml").write_text(SCORECARD, encoding="utf-8")
    (tmp_path / "accounts.csv").write_text("account_id,segment,csat\ndrift,mid-market,4.23\n", encoding="utf-8")
    previous = {"drift": {"as_of": dt.datetime(2026, 9, 1), "health_score": 90.3}}
    [drift] = score_accounts(read_accounts(tmp_path / "accounts.csv"), {}, AS_OF, load_config(tmp_path / "scorecard.yaml"), previous)
    assert (drift.health_score, drift.delta) == (80.8, -9.5)
    assert review_table([drift], "review")._cells(drift)["trend"].endswith(" -9")
