"""The health configuration: the bundled scorecard.yaml, with the user's file merged over it."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from undertow.errors import ConfigurationError
from undertow.overlay import OverlayError, deep_merge, merged, validate
from undertow.settings import Settings

SCORECARD_FILE = "scorecard.yaml"

INPUTS = (
    "usage_trend",
    "seat_utilisation",
    "tickets_open",
    "nps",
    "csat",
    "invoices_overdue",
    "days_since_last_contact",
)


class _Strict(BaseModel):
    # A misspelt key in a user's file must be an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


class ScoreInput(_Strict):
    weight: float = Field(ge=0)
    points: list[tuple[float, float]] = Field(min_length=1)

    @field_validator("points")
    @classmethod
    def _ascending(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        values = [value for value, _ in points]
        if values != sorted(values) or len(set(values)) != len(values):
            raise ValueError("points must be [value, points] pairs in strictly ascending order of value")
        if any(not 0 <= p <= 100 for _, p in points):
            raise ValueError("points must lie between 0 and 100")
        return points


class Profile(_Strict):
    no_contact_days: float | None = Field(default=None, ge=0)
    inputs: dict[str, ScoreInput]

    @field_validator("inputs", mode="before")
    @classmethod
    def _known_inputs(cls, inputs):
        # Before the inputs' own fields: a misspelt input would otherwise be reported as missing
        # its `points`, which sends the user looking in the wrong place.
        unknown = sorted(set(inputs) - set(INPUTS)) if isinstance(inputs, dict) else []
        if unknown:
            raise ValueError(f"unknown inputs {unknown}; the scorecard knows {', '.join(INPUTS)}")
        return inputs

    @field_validator("inputs")
    @classmethod
    def _something_weighs(cls, inputs: dict[str, ScoreInput]) -> dict[str, ScoreInput]:
        if inputs and not any(i.weight > 0 for i in inputs.values()):
            raise ValueError("every input has weight 0: give at least one a weight above 0, or nothing can be scored")
        return inputs


class Qualitative(_Strict):
    half_life_days: float = Field(gt=0)
    max_age_days: float = Field(gt=0)
    undated_age_days: float = Field(ge=0)
    active_threshold: float = Field(ge=0, le=1)
    severity: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)


class Combined(_Strict):
    qualitative_penalty: float = Field(ge=0, le=1)


class Bands(_Strict):
    method: Literal["fixed", "quantile"]
    green: float
    red: float
    red_share: float = Field(ge=0, le=1)
    yellow_share: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> "Bands":
        if self.red > self.green:
            raise ValueError(f"bands: red ({self.red}) must not be above green ({self.green})")
        if self.red_share + self.yellow_share > 1:
            raise ValueError("bands: red_share + yellow_share must not exceed 1")
        return self


class Review(_Strict):
    qual_risk_high: float = Field(ge=0, le=1)
    score_drop: float = Field(gt=0)
    # Signals that send an account to review whatever its score, with the reason shown; filled
    # from the signal definitions (`review_reason` in signals.yaml) when the scorecard is loaded.
    signal_reasons: dict[str, str] = Field(default_factory=dict)


class HealthConfig(_Strict):
    version: int = 1
    # How the accounts export's nps column is read: "auto" takes a column of whole 0-10 values
    # as one person's answers (and says so), "person" or "segment" decide it for every file.
    nps_scale: Literal["auto", "person", "segment"] = "auto"
    profiles: dict[str, Profile]
    segments: dict[str, str] = Field(default_factory=dict)
    qualitative: Qualitative
    combined: Combined
    bands: Bands
    review: Review

    @model_validator(mode="after")
    def _has_default(self) -> "HealthConfig":
        if "default" not in self.profiles:
            raise ValueError("profiles: a 'default' profile is required")
        missing = sorted({p for p in self.segments.values() if p not in self.profiles})
        if missing:
            raise ValueError(f"segments point at profiles that do not exist: {missing}")
        return self

    def profile_name(self, segment: str | None) -> str:
        key = segment_key(segment or "")
        if key in self.profiles:
            return key
        return self.segments.get(key, "default")


def segment_key(value: str) -> str:
    return re.sub(r"[\s_]+", "-", value.strip().lower())


class ConfigError(ConfigurationError):
    pass


def _expand_profiles(data: dict) -> dict:
    """Every profile other than `default` starts as a copy of `default`."""
    profiles = data.get("profiles")
    base = profiles.get("default") or {} if isinstance(profiles, dict) else None
    if isinstance(base, dict):
        data["profiles"] = {
            segment_key(str(name)): body if name == "default" or not isinstance(body, dict) else deep_merge(base, body)
            for name, body in profiles.items()
        }
    if isinstance(data.get("segments"), dict):
        data["segments"] = {segment_key(str(k)): segment_key(str(v)) for k, v in data["segments"].items()}
    return data


def load_home_config(settings: Settings, scorecard: Path | None = None) -> HealthConfig:
    """`--scorecard FILE` when given, else the home's scorecard.yaml when there is one; the
    signals are the home's too (its signals.yaml), for their severities and review reasons."""
    from undertow.prompts import load_signals

    home_file = settings.scorecard_file
    return load_config(scorecard or (home_file if home_file.exists() else None), load_signals(settings.signals_file))


def load_config(path: Path | None = None, signals: list | None = None) -> HealthConfig:
    """The bundled scorecard, overridden by `path` when given (it must exist), for `signals`
    (the bundled ones by default)."""
    if path is not None and not path.exists():
        raise ConfigError(f"{path}: no such scorecard file")
    bundled = resources.files(__package__).joinpath(SCORECARD_FILE).read_text(encoding="utf-8")
    try:
        data, origin = merged(bundled, f"{SCORECARD_FILE} (bundled)", path, merge=deep_merge)
        config = validate(HealthConfig, _expand_profiles(data), origin)
    except OverlayError as error:
        raise ConfigError(str(error)) from None
    return _with_signals(config, signals, str(path) if path else SCORECARD_FILE)


def _with_signals(config: HealthConfig, signals: list | None, where: str = SCORECARD_FILE) -> HealthConfig:
    """Severities and review reasons come from the signal definitions; the scorecard's own
    `severity:` entries win, so a team can weigh a signal differently without redefining it."""
    from undertow.prompts import load_signals

    signals = signals if signals is not None else load_signals()
    names = {s.name for s in signals}
    for key, given in (("qualitative.severity", config.qualitative.severity), ("review.signal_reasons", config.review.signal_reasons)):
        unknown = sorted(set(given) - names)
        if unknown:  # a misspelt signal would weigh nothing, silently
            raise ConfigError(f"{where}: {key}: unknown signals {unknown}; the signals are {', '.join(sorted(names))}")
    config.qualitative.severity = {s.name: s.severity for s in signals} | config.qualitative.severity
    config.review.signal_reasons = {s.name: s.review_reason for s in signals if s.review_reason} | config.review.signal_reasons
    return config
