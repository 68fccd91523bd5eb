"""The extraction prompt and answer schema: built from prompt files and signals.yaml, never from
prose in code.

Customer text is untrusted: it goes into the user message inside <text> tags, and any tag of
ours that appears in the text is escaped first, so a document cannot close the block and speak
as the instructions.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from functools import cached_property

import yaml
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, create_model, field_validator

from undertow.documents import Document
from undertow.extractor.chat import openai_function
from undertow.prompts import SignalDefinition, load_signals, read_sections

PROMPT_NAME = "extraction_v1"

_DELIMITER_TAGS = r"(?:document|subject|text)\b"
_OPENING = re.compile(r"<(?=\s*/?\s*" + _DELIMITER_TAGS + ")", re.IGNORECASE)
_ESCAPED = re.compile(r"&lt;(?=\s*/?\s*" + _DELIMITER_TAGS + ")", re.IGNORECASE)


def escape_delimiters(text: str) -> str:
    """`</text>` inside a document becomes `&lt;/text>`: still readable, no longer a delimiter."""
    return _OPENING.sub("&lt;", text)


def unescape_delimiters(text: str) -> str:
    return _ESCAPED.sub("<", text)


def quote_as_written(quote: str, text: str) -> str:
    """A model's quote of a passage whose tags were escaped in the prompt, as `text` has it."""
    return unescape_delimiters(quote) if "&lt;" in quote and "&lt;" not in text else quote


# No docstrings on the answer models: pydantic would send them to the model as schema prose,
# and the prompt's wording lives in the prompt file. Evidence comes first so the model quotes
# before it decides.
class SignalVerdict(BaseModel):
    model_config = ConfigDict(extra="ignore")

    evidence: list[str]
    rationale: str
    present: bool
    confidence: float

    # A validator, not Field(allow_inf_nan=False): the schema sent (and so the prompt version and
    # every cached answer) stays as it was. NaN and infinity are no confidence at all: such an
    # answer is invalid (asked once more, then the document falls back). A finite number outside
    # 0..1 is clamped when the answer is read, as small local models answer 3.0 or -1.
    @field_validator("confidence")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"confidence must be a number from 0 to 1, not {value!r}")
        return value


def answer_model(signals: list[str]) -> type[BaseModel]:
    """A schema with one required verdict per signal, so the model cannot skip one silently."""
    fields = {name: (SignalVerdict, ...) for name in signals}
    return create_model("ChurnSignals", __config__=ConfigDict(extra="ignore"), **fields)  # type: ignore[call-overload]


def render_signals(signals: list[SignalDefinition]) -> str:
    """The definitions as YAML: the same data the local classifier is trained from."""
    entries = []
    for signal in signals:
        entry: dict = {"signal": signal.name, "definition": signal.definition}
        if signal.not_:
            entry["not"] = signal.not_
        if signal.examples.positive:
            entry["examples_that_count"] = signal.examples.positive
        if signal.examples.negative:
            entry["examples_that_do_not_count"] = signal.examples.negative
        entries.append(entry)
    return yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=1000).strip()


@dataclass(frozen=True)
class ExtractionPrompt:
    name: str
    system: str
    user_template: str
    signals: tuple[str, ...]

    @cached_property
    def answer_model(self) -> type[BaseModel]:
        return answer_model(list(self.signals))

    @cached_property
    def function(self) -> dict:
        """The schema in OpenAI's strict form (all fields required, no extra keys)."""
        return openai_function(self.answer_model)

    @cached_property
    def version(self) -> str:
        """The file name plus a digest of everything the model sees but the document."""
        material = json.dumps([self.system, self.user_template, self.function], sort_keys=True)
        return f"{self.name}.{hashlib.sha256(material.encode()).hexdigest()[:8]}"

    def messages(self, doc: Document) -> list[BaseMessage]:
        user = self.user_template.format(
            source=doc.source,
            date=doc.day or "unknown",
            subject=escape_delimiters(" ".join(doc.subject.split())),
            text=escape_delimiters(doc.text),
        )
        return [SystemMessage(self.system), HumanMessage(user)]


def load_prompt(name: str = PROMPT_NAME, signals: list[SignalDefinition] | None = None) -> ExtractionPrompt:
    signals = signals if signals is not None else load_signals()
    system, user = read_sections(name)
    return ExtractionPrompt(
        name=name,
        system=system.format(signals=render_signals(signals)),
        user_template=user,
        signals=tuple(s.name for s in signals),
    )
