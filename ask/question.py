"""The answer to the question itself, offline, put before the rest of the brief.

What the question asks decides what leads: a question naming a signal (the playbook's question
terms) gets that signal's evidence, most recent first; "who" about the champion, a contact or a
sponsor gets the people the notes name (document authors, names in champion departure evidence);
anything else gets the best-matching sentences of the documents retrieval ranked first. When none
of that is in the account's notes, the answer says so in one sentence instead of guessing.
"""

from __future__ import annotations

import re

from undertow.ask.models import Answer, Person, Quote, RelevantDocument, SignalSummary
from undertow.ask.playbook import ANY_SIGNAL
from undertow.documents import WRITTEN_BY_US

CHAMPION = "champion_departure"
TOP_EVIDENCE = 5
TOP_PASSAGES = 3
TOP_PEOPLE = 6
# Retrieval always returns its k nearest; a passage answers only when it shares a content word
# with the question (by its first letters, so "invoices" meets "invoice") or is this close to it.
CLOSE_ENOUGH = 0.6
STEM = 5

_WHO = re.compile(r"\b(?:who|whom|whose)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’-]+(?:\s+(?:van |von |de |da |di |le |la )?[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’-]+){0,2}\b")
# Capitalised words in evidence that are not people.
_NOT_NAMES = {
    "the", "this", "that", "these", "those", "we", "they", "she", "he", "it", "our", "their", "your", "my", "his", "her", "you",
    "i", "all", "team", "everyone", "nobody", "someone", "customer", "client", "support", "today", "yesterday", "tomorrow",
    "there", "here", "thanks", "thank", "regards", "best", "cheers", "hi", "hello", "dear", "a", "an", "and", "but", "so",
    "also", "just", "please", "management", "finance", "procurement", "legal", "sales", "board", "ceo", "cfo", "cto", "cio",
    "vp", "head", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
    "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "new", "former",
    "acting", "interim", "after", "before", "since", "from", "as", "if", "when", "now", "then", "unfortunately", "sadly",
    "q1", "q2", "q3", "q4", "qbr", "hr", "ops", "operations",
}  # fmt: skip
_STOPWORDS = {
    "what", "which", "when", "where", "why", "how", "who", "whom", "whose", "is", "are", "was", "were", "be", "been", "being",
    "do", "does", "did", "done", "have", "has", "had", "can", "could", "will", "would", "should", "shall", "may", "might",
    "must", "they", "them", "their", "there", "this", "that", "these", "those", "with", "about", "from", "into", "onto",
    "for", "and", "or", "but", "not", "any", "anything", "some", "something", "our", "ours", "we", "us", "you", "your",
    "the", "a", "an", "of", "to", "in", "on", "at", "by", "it", "its", "still", "really", "going", "happening", "account",
    "customer", "client", "tell", "know", "say", "said", "much", "many", "more", "most", "very", "just", "also", "yet",
    # the same small words in German, French, Spanish, Italian, Dutch and Portuguese: a passage
    # sharing only "mit" or "les" with a question does not answer it
    "wer", "wie", "wann", "warum", "ist", "sind", "war", "hat", "haben", "sie", "wir", "ihr", "ihre", "mit", "von", "für",
    "und", "oder", "nicht", "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "auf", "aus", "bei", "noch", "über",
    "quoi", "qui", "quand", "pourquoi", "comment", "est", "sont", "ont", "avec", "pour", "les", "une", "dans", "sur", "pas",
    "nous", "vous", "ils", "elles", "leur", "leurs", "notre", "que", "quel", "quelle", "qué", "quién", "cuándo", "por", "para",
    "con", "los", "las", "una", "uno", "del", "están", "son", "hay", "nuestro", "nuestra", "ellos", "che", "chi", "come", "perché",
    "sono", "hanno", "per", "gli", "della", "nel", "loro", "nostro", "nostra", "wat", "waarom", "hoe", "zijn",
    "hebben", "met", "voor", "van", "een", "het", "niet", "ons", "onze", "hun", "quem", "quando", "porque", "como", "são", "têm",
    "com", "uma", "nos", "não", "nosso", "nossa", "eles",
}  # fmt: skip
# A capitalised word after a lower-case word or a comma is a name (or a brand), not a sentence's
# first word: "Gesprek met Femke", "thanks, Dana".
_INSIDE_SENTENCE = re.compile(r"(?<=[a-zà-öø-ÿ0-9,;] )[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’-]+")
_AUX = {"do", "does", "did"}
_INVERTED = {"is", "are", "was", "were", "has", "have", "had", "can", "could", "will", "would", "should", "might", "may"}
_SUBJECTS = {"they", "we", "he", "she", "it", "you", "i", "there"}


def is_who_question(question: str, asked: list[str]) -> bool:
    return bool(_WHO.search(question)) and CHAMPION in asked


def names_in(text: str, known: set[str] | None = None) -> list[str]:
    """Capitalised words that can be people's names, in order, trimmed of words that are not.

    With `known` (casefolded words seen inside sentences of the account's notes, and authors), a
    lone word that opens a sentence counts only if it is known: the first word of a sentence is
    capitalised in every language ("Queria avisar ...", "Morgen ..."), and the word list above
    covers only English."""
    found = []
    for match in _NAME.finditer(text):
        words = [w for w in match.group().split() if w.casefold() not in _NOT_NAMES]
        name = " ".join(words)
        opens_sentence = not text[: match.start()].strip() or text[: match.start()].rstrip()[-1] in ".!?:\u2026"
        if known is not None and len(words) == 1 and opens_sentence and words[0] == match.group().split()[0] and name.casefold() not in known:
            continue
        if len(name) >= 3 and name not in found:
            found.append(name)
    return found


def known_names(documents: list[dict]) -> set[str]:
    """Casefolded capitalised words used inside sentences of these documents, and their authors' names."""
    known = {w.casefold() for doc in documents for w in _INSIDE_SENTENCE.findall(doc.get("text") or "")}
    return known | {part.casefold() for doc in documents for part in re.split(r"[\s@._-]+", doc.get("author") or "") if part}


def _same_person(author: str, seen: set[str]) -> bool:
    """An e-mail author whose address begins with a name already listed (beatriz@... and Beatriz)."""
    first = re.split(r"[@._-]+", author.casefold())[0]
    return author.casefold() in seen or ("@" in author and any(name.split()[0] == first for name in seen))


def _recent_first(quote: Quote) -> tuple:
    return (-(quote.date.toordinal() if quote.date else 0), -quote.confidence, quote.doc_id)


def _content_words(text: str) -> set[str]:
    return {w[:STEM] for w in re.findall(r"[a-z0-9][\w'-]*", text.casefold()) if len(w) >= 3 and w not in _STOPWORDS}


def whether(question: str) -> str:
    """The question as a clause: "Are they talking to competitors?" -> "whether they are talking to competitors"."""
    words = question.strip().rstrip("?!. ").split()
    if not words:
        return "anything about it"
    first = words[0].casefold()
    if first in _AUX and len(words) > 1:
        return "whether " + " ".join(words[1:])
    if first in _INVERTED and len(words) > 1 and words[1].casefold() in _SUBJECTS:
        return "whether " + " ".join([words[1].casefold(), first, *words[2:]])
    if first in {"what", "which", "when", "where", "why", "how", "who", "whom", "whose"}:
        return " ".join([first, *words[1:]])
    return f"anything that answers \u201c{question.strip()}\u201d"


def unanswered(account: str, question: str) -> Answer:
    return Answer(kind="unanswered", summary=f"The notes of {account} do not say {whether(question)}.")


def _signal_answer(account: str, question: str, asked: list[str], signals: list[SignalSummary]) -> Answer:
    if ANY_SIGNAL in asked:
        named = [s for s in signals if s.active]
    else:
        named = [s for s in signals if s.signal in asked]
    evidence = sorted((q for s in named for q in s.evidence), key=_recent_first)[:TOP_EVIDENCE]
    if not evidence:
        if ANY_SIGNAL in asked and not [a for a in asked if a != ANY_SIGNAL]:
            return Answer(kind="signal", summary=f"The notes of {account} show no active churn signal in this window.")
        return unanswered(account, question)
    parts = []
    for summary in named:
        if not summary.evidence:
            continue
        state = "active" if summary.active else "faded"
        last = summary.last_seen.isoformat() if summary.last_seen else "undated"
        plural = "" if summary.documents == 1 else "s"
        parts.append(f"{summary.signal.replace('_', ' ')} ({state}, {summary.documents} document{plural}, last {last})")
    return Answer(
        kind="signal",
        summary=f"The notes of {account} show " + "; ".join(parts) + ".",
        signals=[s.signal for s in named if s.evidence],
        evidence=evidence,
    )


def _people_answer(account: str, question: str, signals: list[SignalSummary], documents: list[dict]) -> Answer:
    people: list[Person] = []
    seen: set[str] = set()
    champion = next((s for s in signals if s.signal == CHAMPION), None)
    evidence = sorted(champion.evidence, key=_recent_first) if champion else []
    known = known_names(documents)
    language = {doc["id"]: doc.get("language") for doc in documents}
    for quote in evidence:
        for name in names_in(quote.quote, None if language.get(quote.doc_id) in (None, "", "en") else known):
            if name.casefold() not in seen:
                seen.add(name.casefold())
                people.append(Person(name=name, role="named in champion departure evidence", doc_id=quote.doc_id, date=quote.date, quote=quote.quote))
    # Newest first: who writes to us now matters more than who wrote last year.
    dated = sorted(documents, key=lambda d: (-(d["date"].toordinal() if d.get("date") else 0), d["id"]))
    for doc in dated:
        author = (doc.get("author") or "").strip()
        if author and doc.get("source") not in WRITTEN_BY_US and not _same_person(author, seen):
            seen.add(author.casefold())
            day = doc["date"].date() if doc.get("date") else None
            people.append(Person(name=author, role=f"author ({doc.get('source') or 'document'})", doc_id=doc["id"], date=day))
    people = people[:TOP_PEOPLE]
    if not people and not evidence:
        return unanswered(account, question)
    named = ", ".join(f"{p.name} ({p.date.isoformat() if p.date else 'undated'})" for p in people) or "no one by name"
    summary = f"People the notes of {account} name: {named}."
    if champion and champion.evidence:
        summary += f" A champion departure is flagged ({'active' if champion.active else 'faded'}, last {champion.last_seen.isoformat() if champion.last_seen else 'undated'})."
    return Answer(kind="people", summary=summary, signals=[CHAMPION] if evidence else [], people=people, evidence=evidence[:TOP_EVIDENCE])


def _passage_answer(account: str, question: str, hits: list[RelevantDocument]) -> Answer:
    words = _content_words(question)
    matching = [
        d for d in hits
        if d.snippet and ((words & _content_words(d.snippet)) or (d.similarity or 0.0) >= CLOSE_ENOUGH)
    ][:TOP_PASSAGES]  # fmt: skip
    if not matching:
        return unanswered(account, question)
    return Answer(kind="passages", summary=f"The closest passages in the notes of {account}:", passages=matching)


def answer_question(
    account: str,
    question: str,
    asked: list[str],
    signals: list[SignalSummary],
    documents: list[dict],
    hits: list[RelevantDocument],
) -> Answer:
    """`account` as the reader knows it (its name); `asked` the playbook's signals for the
    question; `documents` and `signals` inside the window; `hits` retrieval's, best first."""
    if not documents:
        return unanswered(account, question)
    if is_who_question(question, asked):
        return _people_answer(account, question, signals, documents)
    if asked:
        answer = _signal_answer(account, question, asked, signals)
        active = {s.signal for s in signals if s.active}
        if answer.kind == "signal" and (active & set(answer.signals) or ANY_SIGNAL in asked):
            return answer
        # The signal is not flagged, or only faded: a passage may speak to the question more
        # directly ("is an invoice overdue?" against last year's budget worry), so it leads.
        found = _passage_answer(account, question, hits)
        if found.kind == "unanswered":
            return answer
        named = " or ".join(a.replace("_", " ") for a in asked if a != ANY_SIGNAL)
        state = "active" if answer.kind == "signal" else "flagged"
        found.summary = f"No {named} is {state} in the notes of {account}; the closest passages:"
        found.signals, found.evidence = answer.signals, answer.evidence
        return found
    return _passage_answer(account, question, hits)
