"""What every classifier backend returns: flags with verbatim evidence and a confidence."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Evidence(BaseModel):
    quote: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class SignalFlag(BaseModel):
    signal: str
    confidence: float = Field(ge=0, le=1)
    evidence: list[Evidence] = Field(min_length=1)
    rationale: str = ""


class Classification(BaseModel):
    doc_id: str
    flags: list[SignalFlag] = Field(default_factory=list)
    confidence: dict[str, float] = Field(default_factory=dict, description="every signal's score, flagged or not")
    backend: str
    model_version: str
    note: str = Field(default="", description="why a backend fell back or dropped something")

    @property
    def labels(self) -> list[str]:
        return [flag.signal for flag in self.flags]

    def to_output(self) -> dict:
        """The line `undertow classify` prints, and what `eval` scores."""
        out = {
            "id": self.doc_id,
            "labels": self.labels,
            "evidence": {flag.signal: [e.quote for e in flag.evidence] for flag in self.flags},
            "confidence": {name: round(score, 4) for name, score in self.confidence.items()},
            "backend": self.backend,
        }
        if self.note:
            out["note"] = self.note
        return out
