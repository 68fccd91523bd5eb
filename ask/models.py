"""The shape of an answer to "what's really going on with X": what `--json` prints and what the
terminal and plain-text views render. Dates are days; customer words are kept verbatim."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from undertow.health.review import Trigger


class AccountInfo(BaseModel):
    account_id: str
    account_name: str = ""
    documents: int = 0
    matched_by: str = "id"  # id | name | fuzzy
    match_score: float = 100.0


class ScorePoint(BaseModel):
    as_of: dt.date
    health_score: float | None = None
    quant_score: float | None = None
    qual_risk: float | None = None
    band: str = ""
    signals: list[str] = Field(default_factory=list)
    review: list[Trigger] | None = None  # as `annotate` gave them; None in snapshots older than that column

    @property
    def kind(self) -> str:
        """What a sentence calls this snapshot: a day the export had no numbers for the account
        left an annotation (signals, reasons to review) but no score."""
        return "score" if self.health_score is not None else "annotation"

    @property
    def named(self) -> str:
        return f"{self.kind} of {self.as_of.isoformat()}"


class Scores(BaseModel):
    latest: ScorePoint
    previous: ScorePoint | None = None
    quant_band: str = ""  # the latest quant score's band, as `annotate` cut it
    trend: str = "new"  # new | flat | up | down, as `annotate` reports it
    delta: float | None = None
    age_days: int = 0
    history: list[ScorePoint] = Field(default_factory=list)  # oldest first, the last few


class Quote(BaseModel):
    doc_id: str
    date: dt.date | None = None
    source: str = ""
    subject: str = ""
    quote: str
    confidence: float


class SignalSummary(BaseModel):
    signal: str
    active: bool  # decayed weight at or above the scorecard's active_threshold on the as-of day
    weight: float  # severity x confidence x decay of the strongest flag
    documents: int
    first_seen: dt.date | None = None
    last_seen: dt.date | None = None
    evidence: list[Quote] = Field(default_factory=list)  # strongest first
    next_steps: list[str] = Field(default_factory=list)


class TimelineEvent(BaseModel):
    date: dt.date
    event: str
    doc_id: str = ""


class MonthCount(BaseModel):
    month: str  # YYYY-MM
    documents: int
    flagged: int


class Timeline(BaseModel):
    events: list[TimelineEvent] = Field(default_factory=list)
    months: list[MonthCount] = Field(default_factory=list)
    last_document: dt.date | None = None


class RelevantDocument(BaseModel):
    doc_id: str
    date: dt.date | None = None
    source: str = ""
    subject: str = ""
    similarity: float | None = None  # cosine to the question; None when picked as a recent flag
    why: str = ""
    snippet: str = ""


class Person(BaseModel):
    name: str
    role: str  # "author (email)", "named in champion departure evidence"
    doc_id: str
    date: dt.date | None = None
    quote: str = ""  # the evidence that names them, verbatim; empty for an author


class Answer(BaseModel):
    """What the question asks, answered from the notes before anything else (ask/question.py)."""

    kind: Literal["signal", "people", "passages", "unanswered"]
    summary: str  # one sentence; for "unanswered", "The notes of ACCOUNT do not say whether ..."
    signals: list[str] = Field(default_factory=list)  # the signals the evidence shows
    evidence: list[Quote] = Field(default_factory=list)  # most recent first, then strongest
    people: list[Person] = Field(default_factory=list)  # evidence names first, then authors, newest first
    passages: list[RelevantDocument] = Field(default_factory=list)  # best-matching sentences, closest first


class Citation(BaseModel):
    doc_id: str
    date: dt.date | None = None
    quote: str | None = None  # verbatim from the document, or None when the model's quote was not found


class Claim(BaseModel):
    text: str
    citations: list[Citation]
    verified: bool  # at least one citation carries a quote found verbatim in its document


class Narrative(BaseModel):
    model: str
    claims: list[Claim] = Field(default_factory=list)
    dropped_claims: int = 0  # claims left without a single valid citation
    dropped_citations: int = 0  # citations of documents the model was not given
    dropped_quotes: int = 0  # quotes not found verbatim in the cited document
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # None: no price known for the model


class Brief(BaseModel):
    account: AccountInfo
    question: str | None = None
    answer: Answer | None = None  # None without a question
    as_of: dt.date
    since: dt.date | None = None
    scores: Scores | None = None
    qual_risk: float = 0.0
    signals: list[SignalSummary] = Field(default_factory=list)  # active first, heaviest first
    review: list[Trigger] = Field(default_factory=list)  # `annotate`'s triggers for the latest score
    discrepancies: list[str] = Field(default_factory=list)  # the window's signals against that score
    timeline: Timeline = Field(default_factory=Timeline)
    relevant_documents: list[RelevantDocument] = Field(default_factory=list)
    narrative: Narrative | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def active_signals(self) -> list[SignalSummary]:
        return [s for s in self.signals if s.active]

    def as_dict(self) -> dict:
        return self.model_dump(mode="json")
