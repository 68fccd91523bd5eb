"""Compose each account's documents from the snippet pool: notes, emails, tickets, chats."""

from __future__ import annotations

import datetime as dt
import random

from undertow.demo.portfolio import ARCHETYPES, DEMO_DATE, DemoAccount, DemoDocument

QUIET_SOURCES = {"call_note": 3, "email": 3, "ticket": 3, "chat": 1}
SIGNAL_SOURCES = {"call_note": 3, "email": 3, "meeting_transcript": 1, "chat": 1}
# Which file format carries a document of each source: every format the ingester reads appears.
FORMATS = {"call_note": ("md", "jsonl"), "email": ("eml", "mbox"), "ticket": ("csv",), "chat": ("jsonl",), "meeting_transcript": ("jsonl",)}


class _Writer:
    """Fills the placeholders of one account's snippets."""

    def __init__(self, account: DemoAccount, pool: dict, rng: random.Random):
        self.account, self.rng = account, rng
        self.vendor = pool["vendor"]
        self.lang = pool["languages"][account.language]
        self.competitor = rng.choice(self.vendor["competitors"])

    def fill(self, template: str, date: dt.datetime) -> str:
        month = self.lang["months"][(date.month + self.rng.randint(0, 2)) % 12]
        return template.format(
            contact=self.account.contact,
            new_contact=self.account.new_contact,
            csm=self.account.csm.split()[0],
            competitor=self.competitor,
            seats=max(3, round(self.account.numbers["seats_licensed"] * 0.6)),
            month=month,
            product=self.vendor["product"],
        )

    def pick(self, options: list[str], date: dt.datetime, k: int = 1) -> list[str]:
        return [self.fill(t, date) for t in self.rng.sample(options, min(k, len(options)))]

    @staticmethod
    def voice(source: str) -> str:
        """Call notes are the CSM writing about the customer; everything else is the customer talking."""
        return "notes" if source == "call_note" else "says"

    def compose(self, source: str, date: dt.datetime, body: list[str], signal: str | None) -> tuple[str, str, str]:
        """(subject, text, author) of a document of `source` whose message is `body`."""
        lang, contact, csm = self.lang, self.account.contact, self.account.csm
        if source == "call_note":
            opening = self.fill(self.rng.choice(lang["call_opening"]), date)
            return opening.rstrip("."), opening + "\n\n" + " ".join(body), csm
        if source == "email":
            subject = self.rng.choice(lang["subjects"]["signal" if signal else "quiet"])
            text = f"{self.fill(self.rng.choice(lang['greeting']), date)}\n\n{' '.join(body)}\n\n{self.fill(self.rng.choice(lang['signoff']), date)}"
            if self.rng.random() < 0.4:
                # An earlier message quoted below the reply: ingestion must not read it again.
                quoted = self.fill(self.rng.choice(lang["followup"]), date)
                text += f"\n\nOn {(date - dt.timedelta(days=2)).strftime('%a, %d %b %Y')}, {csm} wrote:\n> {quoted}\n"
            return subject, text, contact
        if source == "ticket":
            return self.rng.choice(lang["subjects"]["quiet"]), " ".join(body), contact
        if source == "chat":
            return "", "\n".join(f"{contact}: {line}" for line in body), contact
        stamps = sorted(self.rng.sample(range(2, 40), len(body)))
        return "", "\n".join(f"[00:{m:02d}] {contact}: {line}" for m, line in zip(stamps, body)), csm


def _day(days_ago: int, rng: random.Random) -> dt.datetime:
    day = DEMO_DATE - dt.timedelta(days=days_ago)
    return dt.datetime(day.year, day.month, day.day, rng.randint(8, 17), rng.choice((0, 15, 30, 45)))


def _source(weights: dict[str, int], rng: random.Random) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# source, date, message sentences, planted signal, and the sentences that carry it
Planned = tuple[str, dt.datetime, list[str], str | None, str | None]


def _plan(account: DemoAccount, writer: _Writer, pool: dict, rng: random.Random) -> list[Planned]:
    planned: list[Planned] = []
    archetype = ARCHETYPES[account.archetype]
    lang = pool["languages"][account.language]
    for _ in range(rng.randint(4, 7)):
        source = _source(QUIET_SOURCES, rng)
        date = _day(rng.randint(1, 200), rng)
        if source == "ticket":
            body = writer.pick(lang["ticket"], date)
        else:
            body = writer.pick(lang[writer.voice(source)], date, rng.randint(1, 2))
        planned.append((source, date, body, None, None))
    if account.archetype == "red_numbers":
        for _ in range(rng.randint(2, 3)):  # open complaints: visible, loud, and not a hidden signal
            date = _day(rng.randint(1, 40), rng)
            planned.append(("ticket", date, writer.pick(lang["ticket"], date), None, None))
    if account.archetype == "healthy" and rng.random() < 0.35:
        source, date = _source(SIGNAL_SOURCES, rng), _day(rng.randint(5, 120), rng)
        voice = writer.voice(source)
        planned.append((source, date, writer.pick(lang[voice], date) + writer.pick(lang["tricky"][voice], date), None, None))
    n_signals = 2 if account.archetype == "hidden_risk" else 1
    for signal in rng.sample(archetype.signals, n_signals) if archetype.signals else []:
        source, date = _source(SIGNAL_SOURCES, rng), _day(rng.randint(*archetype.signal_age_days), rng)
        voice = writer.voice(source)
        carrier = writer.pick(lang["signals"][signal][voice], date)
        planned.append((source, date, writer.pick(lang[voice], date) + carrier, signal, " ".join(carrier)))
    return sorted(planned, key=lambda p: p[1])


def compose_documents(accounts: list[DemoAccount], pool: dict, rng: random.Random) -> list[DemoDocument]:
    documents: list[DemoDocument] = []
    ticket_number = 48000
    domain = pool["vendor"]["domain"]
    for account in accounts:
        writer = _Writer(account, pool, rng)
        for n, (source, date, body, signal, carrier) in enumerate(_plan(account, writer, pool, rng), 1):
            subject, text, author = writer.compose(source, date, body, signal)
            fmt = rng.choice(FORMATS[source])
            if fmt == "csv":
                ticket_number += rng.randint(1, 40)
                doc_id = str(ticket_number)
            elif fmt in ("eml", "mbox"):
                doc_id = f"{account.account_id}-{n:03d}@mail.{domain}"
            else:
                doc_id = f"{account.account_id}-{n:03d}"
            documents.append(DemoDocument(doc_id, account, source, date, subject, text, author, signal, fmt, carrier))
    return documents
