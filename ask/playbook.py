"""Next steps per signal: the bundled prompts/playbook.yaml, with the team's own file over it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from undertow.prompts import read_text

PLAYBOOK_FILE = "playbook.yaml"


ANY_SIGNAL = "any_signal"


class Playbook(BaseModel):
    version: int = 1
    default: list[str] = Field(default_factory=list)
    signals: dict[str, list[str]] = Field(default_factory=dict)
    questions: dict[str, list[str]] = Field(default_factory=dict)

    def steps(self, signal: str) -> list[str]:
        return list(self.signals.get(signal) or self.default)

    def asked_about(self, question: str) -> list[str]:
        """The signals (or ANY_SIGNAL) a question is about, by the word beginnings in `questions`."""
        text = " " + " ".join(re.findall(r"[\w'-]+", question.casefold())) + " "
        return [
            signal
            for signal, terms in self.questions.items()
            if any(f" {term.casefold()}" in text for term in terms)
        ]


def _parse(text: str, origin: str) -> Playbook:
    try:
        return Playbook.model_validate(yaml.safe_load(text) or {})
    except yaml.YAMLError as error:
        raise ValueError(f"{origin}: not valid YAML ({str(error).splitlines()[0]})") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{origin}: {where}: {first['msg']} (expected a list of steps per signal under `signals:`)") from None


def load_playbook(user_file: Path | None = None) -> Playbook:
    """The bundled playbook; a signal (or `default`) named in `user_file` (a home's
    `settings.playbook_file`) replaces ours."""
    bundled = _parse(read_text(PLAYBOOK_FILE), f"{PLAYBOOK_FILE} (bundled)")
    if user_file is None or not user_file.exists():
        return bundled
    own = _parse(user_file.read_text(encoding="utf-8"), str(user_file))
    return Playbook(
        version=own.version,
        default=own.default or bundled.default,
        signals=bundled.signals | own.signals,
        questions=bundled.questions | own.questions,
    )
