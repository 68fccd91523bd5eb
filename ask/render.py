"""The brief for people: rich panels on a terminal, plain text in a pipe or a file.

Both views come from the same sections of styled segments, so they never say different things.
Customer words are always rich Text, never markup: "[red]" in an email stays "[red]".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from undertow.ask.brief import NO_SCORES
from undertow.ask.models import Brief, Quote, SignalSummary
from undertow.health.history import points_moved

Segment = tuple[str, str]  # (text, rich style)
BAND_STYLE = {"green": "green", "yellow": "yellow", "red": "bold red"}
TREND_MARK = {"up": "\u2191", "down": "\u2193", "flat": "\u2192", "new": "new"}


@dataclass
class Section:
    title: str
    lines: list[list[Segment]] = field(default_factory=list)

    def add(self, *segments: Segment | str) -> None:
        self.lines.append([(s, "") if isinstance(s, str) else s for s in segments])


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else "undated"


def _number(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def _name(signal: str) -> str:
    return signal.replace("_", " ")


def title_of(brief: Brief) -> str:
    account = brief.account
    name = f"{account.account_name} ({account.account_id})" if account.account_name else account.account_id
    window = f"{brief.since.isoformat()} to {brief.as_of.isoformat()}" if brief.since else f"as of {brief.as_of.isoformat()}"
    return f"{name}, {window}, {account.documents} documents"


def _scores(brief: Brief) -> Section:
    section = Section("Scores")
    scores = brief.scores
    if scores is None:
        section.add(("no scores yet: ", "dim"), "`undertow annotate ACCOUNTS.csv` adds them")
    elif scores.latest.health_score is None:
        section.add(("no score: ", "bold"), f"annotated on {scores.latest.as_of.isoformat()} but had no numbers to score")
    else:
        latest = scores.latest
        trend = TREND_MARK.get(scores.trend, scores.trend)
        if scores.delta is not None and scores.trend != "new":
            trend += f" {points_moved(scores.previous.health_score, latest.health_score):+d} since {scores.previous.as_of.isoformat()}" if scores.previous else ""
        section.add(
            ("health ", "bold"), (_number(latest.health_score), "bold"), " ", (latest.band or "no band", BAND_STYLE.get(latest.band, "")),
            f"  {trend}  (quant {_number(latest.quant_score)}, qual risk {_number(latest.qual_risk, '{:.2f}')}, "
            f"scored {latest.as_of.isoformat()})",
        )
    # The history adds to the line above only when there is an earlier score.
    if scores is not None and any(p.health_score is not None for p in scores.history[:-1]):
        scored = [p for p in scores.history if p.health_score is not None]
        section.add(("history: ", "dim"), "  ".join(f"{p.as_of.isoformat()} {p.health_score:.0f}" for p in scored))
    section.add(("qualitative risk in this window: ", "dim"), f"{brief.qual_risk:.2f}")
    return section


def _quote_line(quote: Quote) -> list[Segment]:
    return [("  \u201c", "italic"), (quote.quote, "italic"), ("\u201d", "italic"), (f"  {quote.source} {quote.doc_id}, {_day(quote.date)}", "dim")]


def _signal(section: Section, summary: SignalSummary) -> None:
    state = ("active", "bold red") if summary.active else ("faded", "dim")
    seen = f"{_day(summary.first_seen)} to {_day(summary.last_seen)}" if summary.first_seen != summary.last_seen else _day(summary.last_seen)
    section.add((_name(summary.signal), "bold"), " ", state, f"  {summary.documents} documents, {seen}")
    for quote in summary.evidence if summary.active else summary.evidence[:1]:
        section.lines.append(_quote_line(quote))
    for step in summary.next_steps:
        section.add(("  next: ", "cyan"), step)


def _signals(brief: Brief) -> Section:
    section = Section("Signals")
    if not brief.signals:
        section.add(("no churn signals in this window", "green"))
    for summary in brief.signals:
        _signal(section, summary)
    return section


def _answer(brief: Brief) -> Section | None:
    """The question answered from the notes, before the scores: what was asked comes first."""
    answer = brief.answer
    if answer is None:
        return None
    section = Section("Answer from the notes")
    section.add((answer.summary, "bold" if answer.kind != "unanswered" else "yellow"))
    for person in answer.people:
        section.add("\u2022 ", (person.name, "bold"), f"  {person.role}", (f"  {person.doc_id}, {_day(person.date)}", "dim"))
    for doc in answer.passages:
        section.add("  \u201c", (doc.snippet, "italic"), "\u201d", (f"  {doc.source} {doc.doc_id}, {_day(doc.date)}", "dim"))
    if answer.passages and answer.evidence:
        section.add(("  flagged earlier:", "dim"))
    for quote in answer.evidence:
        section.lines.append(_quote_line(quote))
    return section


def _narrative(brief: Brief) -> Section | None:
    narrative = brief.narrative
    if narrative is None:
        return None
    section = Section(f"Answer ({narrative.model}; every claim checked against its documents)")
    if not narrative.claims:
        section.add(("the LLM's answer cited nothing it was given, so none of it is shown", "dim"))
    for claim in narrative.claims:
        cites = "; ".join(f"{c.doc_id}, {_day(c.date)}" for c in claim.citations)
        marker = "" if claim.verified else " (no quote found in the cited documents: unverified)"
        section.add("\u2022 ", claim.text, (f" [{cites}]", "dim"), (marker, "yellow"))
        for citation in claim.citations:
            if citation.quote:
                section.add(("    \u201c", "italic"), (citation.quote, "italic"), ("\u201d", "italic"), (f" ({citation.doc_id})", "dim"))
    return section


def _timeline(brief: Brief) -> Section:
    section = Section("Timeline")
    for event in brief.timeline.events:
        section.add((event.date.isoformat(), "dim"), f"  {event.event}", (f"  {event.doc_id}", "dim"))
    if brief.timeline.months:
        months = "  ".join(f"{m.month}: {m.documents}" + (f" ({m.flagged} flagged)" if m.flagged else "") for m in brief.timeline.months)
        section.add(("documents per month: ", "dim"), months)
    if brief.timeline.last_document:
        section.add(("last document: ", "dim"), brief.timeline.last_document.isoformat())
    if not section.lines:
        section.add(("nothing dated in this window", "dim"))
    return section


def _documents(brief: Brief) -> Section:
    title = "Documents most relevant to the question" if brief.question else "Most recent flagged documents"
    section = Section(title)
    for doc in brief.relevant_documents:
        score = f" similarity {doc.similarity:.2f}" if doc.similarity is not None else ""
        section.add((doc.doc_id, "bold"), f"  {_day(doc.date)} {doc.source}", (f"{score}  {doc.why}", "dim"))
        if doc.subject:
            section.add("  ", (doc.subject, "underline"))
        if doc.snippet:
            section.add("  ", (doc.snippet, "italic"))
    if not section.lines:
        section.add(("none", "dim"))
    return section


def sections(brief: Brief) -> list[Section]:
    answer = _answer(brief)
    out = ([answer] if answer else []) + [_scores(brief)]
    narrative = _narrative(brief)
    if narrative:
        out.append(narrative)
    out.append(_signals(brief))
    if brief.review:
        review = Section(f"Reasons to review ({brief.scores.latest.named})")
        for trigger in brief.review:
            review.add("\u2022 ", trigger.reason)
        out.append(review)
    if brief.discrepancies:
        moved = Section("Since the score")
        for reason in brief.discrepancies:
            moved.add("\u2022 ", reason)
        out.append(moved)
    out += [_timeline(brief), _documents(brief)]
    # The scores section already says how to get scores.
    shown_notes = [note for note in brief.notes if note != NO_SCORES]
    if shown_notes:
        notes = Section("Notes")
        for note in shown_notes:
            notes.add(("note: ", "yellow"), note)
        out.append(notes)
    return out


def print_rich(brief: Brief, console: Console) -> None:
    console.print(Text(title_of(brief), style="bold"))
    if brief.question:
        console.print(Text.assemble(("Q: ", "bold"), brief.question))
    for section in sections(brief):
        body = Group(*(Text.assemble(*line) for line in section.lines))
        console.print(Panel(body, title=Text(section.title, style="bold"), title_align="left", expand=True))


def plain_text(brief: Brief) -> str:
    lines = [title_of(brief)]
    if brief.question:
        lines.append(f"Q: {brief.question}")
    for section in sections(brief):
        lines += ["", f"## {section.title}"]
        lines += ["".join(text for text, _ in line) for line in section.lines]
    return "\n".join(lines) + "\n"
