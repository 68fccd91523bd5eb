"""Next steps per signal: the bundled prompts/playbook.yaml, with the team's own file over it."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from undertow.overlay import deep_merge, load_overlay
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


def load_playbook(user_file: Path | None = None) -> Playbook:
    """The bundled playbook; a signal (or `default`) named in `user_file` (a home's
    `settings.playbook_file`) replaces ours."""
    return load_overlay(
        Playbook, read_text(PLAYBOOK_FILE), f"{PLAYBOOK_FILE} (bundled)", user_file, merge=deep_merge,
        hint="expected a list of steps per signal under `signals:`",
    )
