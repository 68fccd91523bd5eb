"""Configuration from the environment and an optional `config.toml` in the home folder.

`Settings` carries every path and knob and is passed explicitly: nothing is read at import time
and nothing writes the environment, so two homes can live in one process (tests, `bench`).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

DEFAULT_HOME = Path("~/.undertow")


def home_from_env() -> Path:
    return Path(os.environ.get("UNDERTOW_HOME") or DEFAULT_HOME).expanduser()


_opened: list[Path] = []  # the home this process last loaded settings for: where its crash log goes


def last_opened_home() -> Path | None:
    return _opened[-1] if _opened else None


def forget_opened_home() -> None:
    """At the start of a command: one process may run several (tests, CliRunner)."""
    _opened.clear()


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)


# USD per million tokens (input, output), for OpenAI's own models when no base URL is set.
OPENAI_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


class LLMSettings(BaseSettings):
    """An OpenAI-compatible endpoint: OpenAI, Azure, vLLM, Ollama, llama.cpp server."""

    # populate_by_name: LLMSettings(base_url=...) in code must not be silently ignored for the alias.
    model_config = SettingsConfigDict(env_prefix="UNDERTOW_LLM_", extra="ignore", populate_by_name=True)

    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "UNDERTOW_LLM_API_KEY"))
    base_url: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "UNDERTOW_LLM_BASE_URL"))
    model: str = "gpt-4o-mini"
    temperature: float = 0.0
    timeout_s: float = 60.0
    max_retries: int = Field(default=4, ge=0)
    max_concurrency: int = Field(default=4, ge=1)
    max_cost_usd: float | None = Field(default=None, description="stop sending documents before a run's estimated cost would pass this")
    # Prices in USD per million tokens. `prices` maps a model name to {input, output}; the two
    # flat knobs override it for the configured model. A model with no price claims no cost.
    input_cost_per_mtok: float | None = None
    output_cost_per_mtok: float | None = None
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    # "auto" negotiates: json_schema, then function calling, then JSON mode with the schema in the
    # prompt, remembering per endpoint and model what was accepted. A named method is used alone.
    structured_output_method: Literal["auto", "json_schema", "function_calling", "json_mode"] = "auto"
    # Privacy: None redacts personal data for every endpoint that is not on this machine.
    redact: bool | None = None
    max_request_chars: int = Field(default=6000, ge=200, description="longest document text sent in one request, cut at sentence ends")
    # Sent as max_completion_tokens: what bounds an answer's cost, so what each request reserves
    # against max_cost_usd. A verdict on six signals with their quotes is a few hundred tokens.
    max_answer_tokens: int = Field(default=1200, ge=64, description="most tokens one answer may use")
    # Bounded runs: a deadline for the whole run, and a breaker that stops sending after this many
    # consecutive timeouts or errors; what is left falls back to the local classifier.
    run_deadline_s: float | None = Field(default=1800.0, gt=0)
    breaker_failures: int = Field(default=5, ge=1)
    # `undertow ask` writes an LLM narrative only with --llm, or when this is on.
    ask_narrative: bool = False
    # `--backend hybrid` screens with the doubt rule kept beside the model (screen.json). This one
    # threshold on every signal's confidence replaces it when set explicitly, and is the fallback,
    # with a warning, for a model that has no screen entry.
    screen_threshold: float = Field(default=0.4, ge=0, le=1)

    @property
    def configured(self) -> bool:
        return self.api_key is not None or self.base_url is not None

    @property
    def loopback(self) -> bool:
        """The endpoint is on this machine (localhost, 127.x, ::1): text sent there stays here."""
        from urllib.parse import urlsplit

        if not self.base_url:
            return False
        host = (urlsplit(self.base_url if "://" in self.base_url else f"http://{self.base_url}").hostname or "").lower()
        if host == "localhost":
            return True
        try:
            # An address, read as one: a name such as 127.gateway.example.com is somebody's server.
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def redacts(self) -> bool:
        return self.redact if self.redact is not None else not self.loopback

    def price(self) -> tuple[float, float] | None:
        """(input, output) USD per million tokens for the configured model, or None if unknown.
        OpenAI's own list prices apply only when the endpoint is OpenAI's."""
        if self.input_cost_per_mtok is not None and self.output_cost_per_mtok is not None:
            return self.input_cost_per_mtok, self.output_cost_per_mtok
        if self.model in self.prices:
            return self.prices[self.model].input, self.prices[self.model].output
        if not self.base_url and self.model in OPENAI_PRICES:
            return OPENAI_PRICES[self.model]
        return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UNDERTOW_", extra="ignore")

    home: Path = DEFAULT_HOME
    chroma_url: str | None = None
    database_url: str | None = None
    embedding: str = Field(default="local", description="'local' (bundled multilingual model) or 'openai'")
    ingest_batch: int = Field(default=256, ge=1, description="documents embedded and stored per transaction")
    max_document_chars: int = Field(default=100_000, ge=1_000, description="longer texts are cut at a sentence end")
    llm: LLMSettings = Field(default_factory=LLMSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The config file lives in the home being opened, which the caller names explicitly.
        home = getattr(init_settings, "init_kwargs", {}).get("home") or home_from_env()
        toml_file = Path(home).expanduser() / "config.toml"
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @property
    def resolved_home(self) -> Path:
        return Path(self.home).expanduser()

    @property
    def sqlite_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_home / 'undertow.db'}"

    # Files in the home that extend or replace what ships in the package.
    @property
    def signals_file(self) -> Path:
        return self.resolved_home / "signals.yaml"

    @property
    def playbook_file(self) -> Path:
        return self.resolved_home / "playbook.yaml"

    @property
    def scorecard_file(self) -> Path:
        return self.resolved_home / "scorecard.yaml"

    @property
    def user_model_path(self) -> Path:
        """Where `undertow train` writes the model this home uses instead of the bundled one."""
        return self.resolved_home / "models" / "local.npz"

    @property
    def logs_dir(self) -> Path:
        return self.resolved_home / "logs"


def load_settings(home: Path | None = None) -> Settings:
    from pydantic import ValidationError

    from undertow.errors import ConfigurationError, one_line

    home = Path(home).expanduser() if home is not None else home_from_env()
    try:
        settings = Settings(home=home)
    except ValidationError as error:
        raise ConfigurationError(one_line(error, f"{home / 'config.toml'} or UNDERTOW_* settings")) from None
    except ValueError as error:  # a TOML syntax error
        raise ConfigurationError(one_line(error, home / "config.toml")) from None
    folder = settings.resolved_home
    if folder.exists() and not folder.is_dir():
        raise ConfigurationError(f"the home {folder} is a file, not a folder: pass --home with a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise ConfigurationError(f"cannot create the home folder {folder}: {error.strerror or error}") from None
    _opened[:] = [folder]
    return settings


