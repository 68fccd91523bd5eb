"""The quantitative scorecard: hand-computed accounts, re-weighting, profiles, user overrides."""

from __future__ import annotations

import pytest

from undertow.health.config import INPUTS, ConfigError, load_config, load_home_config
from undertow.health.scorecard import measures, quant_score

SIMPLE = """
profiles:
  default:
    inputs:
      usage_trend: {weight: 1, points: [[-1, 0], [0, 100]]}
      seat_utilisation: {weight: 1, points: [[0, 0], [1, 100]]}
      csat: {weight: 2, points: [[1, 0], [5, 100]]}
      tickets_open: {weight: 0}
      nps: {weight: 0}
      invoices_overdue: {weight: 0}
      days_since_last_contact: {weight: 0}
  Small Business:
    inputs:
      csat: {weight: 0}
segments:
  Small Biz: small business
"""


@pytest.fixture()
def simple(tmp_path):
    path = tmp_path / "scorecard.yaml"
    path.write_text(SIMPLE, encoding="utf-8")
    return load_config(path)


def test_bundled_default_on_a_hand_computed_account():
    values = {"logins_30d": 80, "logins_prev_30d": 100, "seats_licensed": 100, "seats_active": 50, "tickets_open": 3, "nps": 0,
              "invoices_overdue": 1, "days_since_last_contact": 30}
    result = quant_score(values, "mid-market", load_config())
    # usage -0.20 -> 51.25 x25, seats 0.5 -> 40 x20, tickets 3 -> 80 x10, nps 0 -> 60 x15,
    # invoices 1 -> 50 x10, contact 30d -> 79.35 x10; csat missing: 5074.8 / 90
    assert result.profile == "default"
    assert result.missing == ["csat"]
    assert result.score == 56.4
    assert {p.input: round(p.points, 2) for p in result.parts}["usage_trend"] == 51.25


def test_weighted_mean_and_reweighting_over_present_inputs(simple):
    full = {"logins_30d": 60, "logins_prev_30d": 100, "seats_licensed": 10, "seats_active": 7, "csat": 3}
    # trend -0.4 -> 60, seats 0.7 -> 70, csat 3 -> 50 (weight 2): (60 + 70 + 100) / 4
    assert quant_score(full, "mid-market", simple).score == 57.5
    without_seats = {k: v for k, v in full.items() if k != "seats_active"}
    result = quant_score(without_seats, "mid-market", simple)
    assert result.score == 53.3  # (60 + 100) / 3: the missing input's weight is spread over the rest
    assert result.missing == ["seat_utilisation"]
    assert quant_score({}, None, simple).score is None


def test_segment_profiles_and_aliases(simple):
    values = {"logins_30d": 60, "logins_prev_30d": 100, "seats_licensed": 10, "seats_active": 7, "csat": 3}
    for segment in ("small business", "Small_Business", "small biz"):
        result = quant_score(values, segment, simple)
        assert (result.profile, result.score) == ("small-business", 65.0)  # csat switched off: (60 + 70) / 2
    assert quant_score(values, "unheard-of", simple).profile == "default"


def test_values_beyond_the_points_are_clamped(simple):
    booming = {"logins_30d": 500, "logins_prev_30d": 100, "seats_licensed": 10, "seats_active": 14, "csat": 5}
    assert quant_score(booming, None, simple).score == 100.0


def test_usage_trend_edge_cases():
    assert measures({"logins_30d": 0, "logins_prev_30d": 0})["usage_trend"] == -1.0
    assert measures({"logins_30d": 5, "logins_prev_30d": 0})["usage_trend"] == 1.0
    assert "seat_utilisation" not in measures({"seats_licensed": 0, "seats_active": 0})


def test_home_scorecard_overrides_one_weight(settings):
    bundled = load_home_config(settings)
    settings.scorecard_file.write_text("profiles:\n  default:\n    inputs:\n      csat: {weight: 90}\n", encoding="utf-8")
    config = load_home_config(settings)
    assert config.profiles["default"].inputs["csat"].weight == 90
    assert config.profiles["default"].inputs["csat"].points == bundled.profiles["default"].inputs["csat"].points
    assert config.profiles["default"].inputs["nps"] == bundled.profiles["default"].inputs["nps"]
    assert config.profiles["enterprise"].inputs["csat"].weight == 90  # profiles start from the user's default


@pytest.mark.parametrize(
    "text, message",
    [
        ("profiles:\n  default:\n    inputs:\n      csat: {wieght: 3}\n", "wieght"),
        ("profiles:\n  default:\n    inputs:\n      nps: {points: [[10, 50], [0, 60]]}\n", "ascending"),
        ("profiles:\n  default:\n    inputs:\n      happiness: {weight: 1, points: [[0, 0]]}\n", "happiness"),
        ("bands: {green: 30, red: 60}\n", "red"),
        ("segments: {vip: platinum}\n", "platinum"),
        ("profiles: [1, 2\n", "not valid YAML"),
        # A misspelt input is named as unknown, not as missing the points it never needed.
        ("profiles:\n  default:\n    inputs:\n      nps_score: {weight: 15}\n", "unknown inputs ['nps_score']"),
        ("qualitative:\n  severity: {churn_intnet: 0.0}\n", "unknown signals ['churn_intnet']"),
        ("review:\n  signal_reasons: {champion_gone: left}\n", "unknown signals ['champion_gone']"),
        ("qualitative:\n  severity: {churn_intent: 7}\n", "less than or equal to 1"),
        ("profiles:\n  default:\n    inputs:\n" + "".join(f"      {name}: {{weight: 0}}\n" for name in INPUTS), "every input has weight 0"),
    ],
)
def test_bad_scorecard_names_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_missing_scorecard_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such scorecard"):
        load_config(tmp_path / "nope.yaml")
