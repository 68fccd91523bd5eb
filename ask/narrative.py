"""The narrative answer: an LLM reads the brief and the documents and answers in cited claims.

Nothing the model says reaches the CSM unchecked: a citation of a document it was not given is
dropped, a quote not found in the cited document is dropped, and a claim left without a citation
is dropped; each is counted. Customer text goes into the prompt only inside <document> blocks
whose own tags are escaped, so a document cannot close its block and speak as the instructions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from undertow.ask.models import Brief, Citation, Claim, Narrative
from pathlib import Path

from undertow.extractor.chat import (
    AuditLog,
    ChatError,
    ChatFailure,
    ChatRefused,
    ChatTimeout,
    ChatUnreachable,
    FormatMemory,
    StructuredChat,
    endpoint_name,
)
from undertow.extractor.grounding import locate
from undertow.extractor.llm_prompt import escape_delimiters, quote_as_written
from undertow.extractor.redact import Redactor, fit
from undertow.prompts import read_sections
from undertow.settings import LLMSettings
from undertow.store.records import RecordStore

PROMPT_NAME = "ask_v1"
DEFAULT_QUESTION = "What is really going on with this account, and how worried should we be about the renewal?"
MAX_DOCUMENTS = 8
MAX_DOCUMENT_CHARS = 3000


class NarrativeUnavailable(RuntimeError):
    """The LLM gave no usable answer; the message is one line for the user."""


# No docstrings: pydantic would send them to the model as schema prose; the wording is in the prompt file.
class _CitationAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    doc_id: str
    quote: str


class _ClaimAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str
    citations: list[_CitationAnswer]


class NarrativeAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    claims: list[_ClaimAnswer]


@dataclass(frozen=True)
class AskPrompt:
    system: str
    user_template: str


def load_ask_prompt(name: str = PROMPT_NAME) -> AskPrompt:
    system, user = read_sections(name)
    return AskPrompt(system=system, user_template=user)


@dataclass
class Context:
    """The documents the model is shown, by id: the only ones it may cite."""

    documents: dict[str, dict] = field(default_factory=dict)


def context_documents(brief: Brief, records: RecordStore) -> Context:
    """Up to a cap: the strongest evidence of each active signal, the retrieved documents, then
    more evidence; so a long list of search hits never crowds out what the flags rest on."""
    active = [s for s in brief.signals if s.active]
    wanted = [s.evidence[0].doc_id for s in active if s.evidence]
    wanted += [d.doc_id for d in brief.relevant_documents]
    wanted += [q.doc_id for s in brief.signals for q in s.evidence[: 2 if s.active else 1]]
    context = Context()
    for doc_id in dict.fromkeys(wanted):
        if len(context.documents) == MAX_DOCUMENTS:
            break
        row = records.get_document(doc_id)
        if row is not None:
            context.documents[doc_id] = row
    return context


def render_facts(brief: Brief, context: Context) -> str:
    lines = []
    if brief.scores:
        s = brief.scores.latest
        trend = brief.scores.trend + (f" {brief.scores.delta:+.0f} points" if brief.scores.delta is not None else "")
        lines.append(
            f"- health {s.health_score} ({s.band or 'no band'}), quantitative {s.quant_score}, qualitative risk {s.qual_risk}, "
            f"as of {s.as_of.isoformat()}; trend {trend}"
        )
    else:
        lines.append("- no health scores for this account")
    lines.append(f"- qualitative risk from the signals in this window: {brief.qual_risk:.2f}")
    for summary in brief.signals:
        shown = [q for q in summary.evidence if q.doc_id in context.documents]
        docs = ", ".join(f"{q.doc_id} ({q.date.isoformat() if q.date else 'undated'})" for q in shown) or "documents not shown here"
        state = "active" if summary.active else "older, faded"
        lines.append(f"- signal {summary.signal} ({state}, {summary.documents} documents): {docs}")
    if not brief.signals:
        lines.append("- no churn signals found in this window")
    lines += [f"- to review: {trigger.reason}" for trigger in brief.review]
    lines += [f"- since the score: {reason}" for reason in brief.discrepancies]
    # Our own wording only; customer words stay in the document blocks.
    return "\n".join(escape_delimiters(line) for line in lines)


def render_documents(context: Context, redactor: Redactor | None = None) -> str:
    """The documents' blocks; with a redactor, personal data replaced by its placeholders."""
    hide = redactor.redact if redactor is not None else (lambda text: text)
    blocks = []
    rows = sorted(context.documents.values(), key=lambda r: (r["date"] is not None, r["date"]), reverse=True)
    for row in rows:
        text = fit(hide(row["text"]), MAX_DOCUMENT_CHARS)
        day = row["date"].date().isoformat() if row["date"] else "unknown"
        blocks.append(
            f'<document id="{_attribute(row["id"])}" date="{day}" source="{row["source"]}">\n'
            f"<subject>{escape_delimiters(' '.join(hide(row['subject']).split()))}</subject>\n"
            f"<text>\n{escape_delimiters(text)}\n</text>\n</document>"
        )
    return "\n".join(blocks) or "(none)"


def _attribute(value: str) -> str:
    return escape_delimiters(value).replace('"', "&quot;")


def build_messages(brief: Brief, context: Context, prompt: AskPrompt, redactor: Redactor | None = None) -> list:
    from langchain_core.messages import HumanMessage, SystemMessage

    account = brief.account.account_name or brief.account.account_id
    user = prompt.user_template.format(
        account=escape_delimiters(f"{account} (id {brief.account.account_id})"),
        question=escape_delimiters(" ".join((brief.question or DEFAULT_QUESTION).split())),
        facts=render_facts(brief, context),
        documents=render_documents(context, redactor),
    )
    return [SystemMessage(prompt.system), HumanMessage(user)]


def verify(answer: NarrativeAnswer, context: Context, model: str) -> Narrative:
    """Keep only what the documents back: known ids, verbatim quotes, claims with a citation."""
    narrative = Narrative(model=model)
    for claim in answer.claims:
        citations: dict[tuple[str, str | None], Citation] = {}
        for cited in claim.citations:
            row = context.documents.get(cited.doc_id.strip())
            if row is None:
                narrative.dropped_citations += 1
                continue
            quote = None
            if cited.quote.strip():
                found = locate(quote_as_written(cited.quote, row["text"]), row["text"])
                if found:
                    quote = " \u2026 ".join(e.quote for e in found)
                else:
                    narrative.dropped_quotes += 1
            day = row["date"].date() if row["date"] else None
            citations.setdefault((row["id"], quote), Citation(doc_id=row["id"], date=day, quote=quote))
        text = " ".join(claim.text.split())
        if not citations or not text:
            narrative.dropped_claims += 1
            continue
        narrative.claims.append(Claim(text=text, citations=list(citations.values()), verified=any(c.quote for c in citations.values())))
    return narrative


class NarrativeWriter:
    """The same client, format negotiation, audit log and redaction as extraction (extractor/chat.py)."""

    def __init__(self, llm: LLMSettings, prompt: AskPrompt | None = None, home: Path | None = None):
        from undertow.extractor.llm import AUDIT_FILE, FORMATS_FILE

        self.settings = llm
        self.prompt = prompt or load_ask_prompt()
        self._chat = StructuredChat(
            llm, NarrativeAnswer, description="An answer in claims, each citing the documents that show it.",
            memory=FormatMemory(home / FORMATS_FILE if home else None), audit=AuditLog(home / AUDIT_FILE if home else None),
        )

    def write(self, brief: Brief, records: RecordStore) -> Narrative:
        context = context_documents(brief, records)
        if not context.documents:
            raise NarrativeUnavailable("no documents to ground an answer in")
        # One redactor for every document: a person has one placeholder across the whole prompt.
        authors = [row.get("author") or "" for row in context.documents.values()]
        redactor = None
        if self.settings.redacts:
            texts = [t for row in context.documents.values() for t in (row["text"], row["subject"])]
            redactor = Redactor(names=authors).learn(*texts)
        try:
            reply = self._chat.ask(build_messages(brief, context, self.prompt, redactor), tag=f"ask:{brief.account.account_id}")
        except ChatFailure as failure:
            raise NarrativeUnavailable(self._unavailable(failure)) from None
        answer = reply.answer
        if redactor is not None:  # placeholders back to names, here, before the quotes are checked
            answer = NarrativeAnswer.model_validate(redactor.restore_all(answer.model_dump()))
        narrative = verify(answer, context, self.settings.model)
        narrative.prompt_tokens = reply.usage.prompt_tokens
        narrative.completion_tokens = reply.usage.completion_tokens
        cost = reply.usage.cost_usd(self.settings)
        narrative.cost_usd = round(cost, 6) if cost is not None else None
        return narrative

    def _unavailable(self, failure: ChatFailure) -> str:
        """Why there is no narrative, in words a CSM can pass on to whoever set up the endpoint."""
        if isinstance(failure, ChatTimeout):
            return f"the LLM did not answer within {self.settings.timeout_s:g}s"
        if isinstance(failure, ChatUnreachable):
            return f"cannot reach the LLM at {endpoint_name(self.settings)}: check OPENAI_BASE_URL"
        if isinstance(failure, ChatRefused):
            return f"the LLM refused the request ({failure.status_code}): check OPENAI_API_KEY and the model name {self.settings.model!r}"
        if isinstance(failure, ChatError) and failure.status_code is not None:
            return f"the LLM answered with error {failure.status_code}"
        if isinstance(failure, ChatError):
            return f"the LLM gave no usable answer ({failure.error_name})"
        return "the LLM's answer was not the JSON asked for"


def write_narrative(brief: Brief, records: RecordStore, llm: LLMSettings, home: Path | None = None) -> Narrative:
    return NarrativeWriter(llm, home=home).write(brief, records)
