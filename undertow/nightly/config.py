"""The nightly config file: its model, its one-line errors, and the checks made before anything is written."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from undertow.errors import ConfigurationError, one_line
from undertow.settings import Settings, home_from_env

# --- the config file -----------------------------------------------------------------------------


def _place(value: Path, info: ValidationInfo) -> Path:
    """`~` is the user's home; a relative path is read from the config file's folder, so a cron
    job finds the same files whatever its working directory."""
    path = value.expanduser()
    base = (info.context or {}).get("base") or Path.cwd()
    return path if path.is_absolute() else base / path


ConfigPath = Annotated[Path, AfterValidator(_place)]


class _Strict(BaseModel):
    # A misspelt key must be an error: silently ignoring `acounts` would skip the night's work.
    model_config = ConfigDict(extra="forbid")


def _only_fields_of(mapping: dict[str, str], fields) -> dict[str, str]:
    """A `map` may name only the fields of its table: a typo is an error, not a column ignored."""
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ValueError(f"unknown fields {unknown}; the fields are {', '.join(fields)}")
    return mapping


class SourceConfig(_Strict):
    """One export and the options `undertow ingest` would take for it."""

    paths: list[ConfigPath] = Field(min_length=1)
    name: str = ""
    account: str | None = None
    own_domain: list[str] = []
    map: dict[str, str] = {}
    dayfirst: StrictBool | None = None
    date_format: str | None = None
    max_chars: int | None = Field(default=None, ge=1_000)

    @field_validator("map")
    @classmethod
    def _known_document_fields(cls, mapping: dict[str, str]) -> dict[str, str]:
        from undertow.ingest.tabular import KNOWN_HEADERS

        return _only_fields_of(mapping, KNOWN_HEADERS)

    @property
    def label(self) -> str:
        return self.name or str(self.paths[0])

    def read_options(self, settings: Settings):
        from undertow.ingest.sources import ReadOptions

        return ReadOptions(
            defaults={"account_id": self.account} if self.account else {},
            column_map=dict(self.map),
            own_domains={d.lower() for d in self.own_domain},
            dayfirst=self.dayfirst,
            date_format=self.date_format,
            max_chars=self.max_chars or settings.max_document_chars,
        )


class AccountsConfig(_Strict):
    path: ConfigPath
    map: dict[str, str] = {}
    as_of: dt.date | None = None
    scorecard: ConfigPath | None = None
    snapshot: StrictBool = True

    @field_validator("map")
    @classmethod
    def _known_account_fields(cls, mapping: dict[str, str]) -> dict[str, str]:
        from undertow.health.accounts import COLUMNS

        return _only_fields_of(mapping, COLUMNS)

    def day(self) -> dt.date:
        # The same "today" as `undertow annotate`, so a nightly run and a manual one agree.
        return self.as_of or dt.datetime.now(dt.timezone.utc).date()


class OutputsConfig(_Strict):
    annotated: ConfigPath
    summary: ConfigPath | None = None

    @field_validator("annotated")
    @classmethod
    def _known_format(cls, path: Path) -> Path:
        from undertow.health.annotate import OUTPUT_SUFFIXES

        if path.suffix.lower() not in OUTPUT_SUFFIXES:
            raise ValueError(f"{path.name}: use a .csv, .json, .parquet or .xlsx file name")
        return path


class NightlyConfig(_Strict):
    home: ConfigPath | None = None
    backend: str = "local"
    # Processes that embed (`ingest --workers`); 1 embeds in the process that classifies and writes.
    workers: int = Field(1, ge=1, le=64)
    sources: list[SourceConfig] = Field(min_length=1)
    accounts: AccountsConfig
    outputs: OutputsConfig

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, name: str) -> str:
        from undertow.extractor.backends import available_backends

        if name not in available_backends():
            raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(available_backends())}")
        return name

    def resolved_home(self) -> Path:
        return self.home or home_from_env()


def load_config(path: Path) -> NightlyConfig:
    """The config file, validated; any mistake is one line naming the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such config file; `undertow nightly --print-example-config` prints one to start from") from None
    except (OSError, UnicodeError) as error:
        raise ConfigurationError(f"{path}: cannot read the config file: {getattr(error, 'strerror', None) or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path}: not valid TOML: {error}") from None
    try:
        return NightlyConfig.model_validate(data, context={"base": path.resolve().parent})
    except ValidationError as error:
        raise ConfigurationError(f"{path}: {describe_validation_error(error)}") from None


def describe_validation_error(error: ValidationError) -> str:
    """The first problem, naming its key (`sources#2.paths`) and, for an unknown key, the keys allowed there."""
    return one_line(error, model=NightlyConfig)


# --- checks made before anything is written ------------------------------------------------------


def load_scorecard(config: NightlyConfig, home: Path):
    from undertow.health.config import load_config as load_scorecard

    path = config.accounts.scorecard
    if path is None and (home / "scorecard.yaml").exists():
        path = home / "scorecard.yaml"
    try:
        return load_scorecard(path)
    except ValueError as error:
        raise ConfigurationError(f"accounts.scorecard: {error}") from None


def check_accounts_export(config: NightlyConfig) -> int:
    """The number of account rows; a missing file or unusable header stops the run now, not after
    an hour of ingesting."""
    from undertow.health.accounts import read_accounts

    path = config.accounts.path
    try:
        return len(read_accounts(path, config.accounts.map).rows)
    except FileNotFoundError:
        raise ConfigurationError(f"accounts.path: no such file {path}") from None
    except IsADirectoryError:
        raise ConfigurationError(f"accounts.path: {path} is a folder; name the CSV export") from None
    except PermissionError:
        raise ConfigurationError(f"accounts.path: {path} cannot be read (permission denied)") from None
    except ValueError as error:  # no account_id column, a mapping to a column that is not there
        raise ConfigurationError(f"accounts: {error}") from None


def prepare_output_folders(config: NightlyConfig) -> None:
    for key, path in (("outputs.annotated", config.outputs.annotated), ("outputs.summary", config.outputs.summary)):
        if path is None:
            continue
        if path.is_dir():
            raise ConfigurationError(f"{key}: {path} is a folder; name a file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigurationError(f"{key}: cannot create the folder {path.parent}: {error.strerror or error}") from None
