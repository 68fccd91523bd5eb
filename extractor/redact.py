"""Personal data out before text leaves the machine, and back in when the answer returns.

`Redactor` replaces emails, phone numbers, IBANs (mod-97 checked), card numbers (Luhn checked),
national ids, secrets and passwords, URLs carrying credentials, and person names (the names it is
given: authors, known contacts; and names found by their place: greetings, sign-offs, titles,
"X said") with placeholders such as `[PERSON_1]`, stable within one document: the same value gets
the same placeholder everywhere in it. `restore` maps an answer's placeholders back locally, so
evidence stays a verbatim slice of the original text.

Regular expressions with checksums, not a library: scrubadub and presidio need spaCy or NLTK
models downloaded at run time for names, which an offline CLI cannot count on, and their
regexes for the rest are no better than these. A name in running text with no cue around it
("Dana will take over") is not found; that is the known gap.

`fit` cuts a text to a maximum length on sentence boundaries, keeping the sentences that
matter most.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

KINDS = ("SECRET", "URL", "EMAIL", "IBAN", "CARD", "ID", "PHONE", "PERSON")
PLACEHOLDER = re.compile(r"\[?\b(" + "|".join(KINDS) + r")_(\d+)\b\]?")

# A name's word: a capital, small letters, and inner capitals after Mc, Mac, O' or D' (McDonald,
# O'Brien, D'Angelo); a word the old pattern cut at the inner capital left "Siobhan O'" in the request.
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ](?:[a-zà-öø-ÿ]+|['’](?=[A-ZÀ-ÖØ-Þ]))(?:[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+|['’-]?[a-zà-öø-ÿ]+)*"
_NAME = _NAME_WORD + r"(?:[ -](?:van |von |de |da |di |le |la )?" + _NAME_WORD + r"){0,2}"
_URL_SECRET = re.compile(r"https?://[^\s/@]+:[^\s/@]+@\S+|https?://\S*[?&](?:[\w-]*(?:key|token|secret|password|sig|signature|auth|session)[\w-]*)=[^\s&]+\S*", re.IGNORECASE)
_SECRET_VALUE = re.compile(
    r"(?P<label>\b(?:password|passwort|passwd|pwd|mot de passe|contraseña|parola d'ordine|passcode|pin|api[ _-]?key|access[ _-]?token|token|secret|client[ _-]?secret|credentials?)\b"
    r"(?:\s+(?:is|was|ist|est|es|è))?\s*[:=]?\s*)(?P<value>[\"'“]?[^\s\"'”,;]{4,}[\"'”]?)",
    re.IGNORECASE,
)
_KEY_LIKE = re.compile(r"\b(?:sk|pk|rk|ghp|gho|glpat|xox[abprs])[-_][A-Za-z0-9_-]{10,}\b|\bAKIA[0-9A-Z]{16}\b|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_.-]{10,}")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_NATIONAL_ID = re.compile(
    r"\b\d{3}-\d{2}-\d{4}\b"  # US SSN
    r"|\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"  # UK National Insurance
    r"|\b(?:ssn|passport(?: no\.?| number)?|id number|id no\.|personalausweis|steuer-id|codice fiscale|dni|nif|bsn)[:#]? (?P<value>[A-Z0-9-]{6,})",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)\d[\d ()./-]{6,18}\d\b|(?<![\w.-])\(?0\d{1,4}\)?[ ./-]?\d[\d ./-]{5,12}\d\b|(?<![\w.-])\d{3}[ .-]\d{3}[ .-]\d{4}\b")
_CUES = [
    re.compile(r"\b(?:Hi|Hello|Hey|Dear|Hallo|Liebe|Lieber|Bonjour|Ciao|Hola|Hej|Beste|Caro|Cara|Querido|Querida)[ ,]+(?P<name>" + _NAME + ")"),
    re.compile(r"\b(?:Thanks|Thank you|Regards|Best regards|Kind regards|Best|Cheers|Grüße|Viele Grüße|Gruß|Cordialement|Saluti|Saludos|Groeten|Atenciosamente)[,!.]?\s*\n?\s*(?:[-–—]\s*)?(?P<name>" + _NAME + ")"),
    re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau|Mme|Mlle|Sr|Sra|Sig|Dott)\.?\s+(?P<name>" + _NAME + ")"),
    re.compile(
        r"\b(?:sponsor|champion|contact|admin|manager|director|CFO|CEO|CTO|CIO|COO|VP|head of [a-z]+|colleague|boss|lead)\s*,?\s+(?P<name>" + _NAME + ")"
    ),
    re.compile(r"(?P<name>" + _NAME + r")(?=,? (?:said|says|told|wrote|writes|mentioned|asked|called|emailed|replied|is leaving|leaves|left|will leave|is moving|moved|joined|confirmed|explained|complained)\b)"),
    re.compile(r"(?m)^\s*(?:[-–—]+\s*)(?P<name>" + _NAME + r")\s*$"),
]
# Capitalised words a cue can precede that are not names.
_NOT_NAMES = {
    "the", "this", "that", "these", "those", "we", "they", "she", "he", "it", "our", "their", "your", "my", "his", "her", "you",
    "i", "all", "team", "everyone", "everybody", "nobody", "someone", "customer", "client", "support", "today", "yesterday",
    "tomorrow", "again", "there", "here", "thanks", "thank", "regards", "best", "cheers", "hi", "hello", "dear", "a", "an",
    "and", "but", "so", "also", "just", "please", "management", "finance", "procurement", "legal", "sales", "board",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april",
    "may", "june", "july", "august", "september", "october", "november", "december", "new", "former", "acting", "interim",
}


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


@dataclass
class Redactor:
    """One per document: placeholders are numbered within it, the same value gets the same one."""

    names: Iterable[str] = ()
    mapping: dict[str, str] = field(default_factory=dict)  # placeholder -> original
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)

    def learn(self, *texts: str) -> Redactor:
        """Names found by their cues in any of `texts` are redacted in all of them: call it with
        every text of a request before redacting any (a sign-off names whom the subject mentions)."""
        found = {name for text in texts for name in _cued_names(text)}
        self.names = [*self.names, *sorted(found)]
        return self

    def redact(self, text: str) -> str:
        spans: list[tuple[int, int, str]] = []

        def add(kind: str, start: int, end: int) -> None:
            if start < end and not any(s < end and start < e for s, e, _ in spans):
                spans.append((start, end, kind))

        for match in _URL_SECRET.finditer(text):
            add("URL", *match.span())
        for match in _SECRET_VALUE.finditer(text):
            start, end = match.span("value")
            add("SECRET", start, end - (len(match.group("value")) - len(match.group("value").rstrip("."))))
        for match in _KEY_LIKE.finditer(text):
            add("SECRET", *match.span())
        for match in _EMAIL.finditer(text):
            add("EMAIL", *match.span())
        for match in _IBAN.finditer(text):
            if iban_ok(match.group()):
                add("IBAN", *match.span())
        for match in _CARD.finditer(text):
            if luhn_ok(match.group()):
                add("CARD", *match.span())
        for match in _NATIONAL_ID.finditer(text):
            add("ID", *(match.span("value") if match.group("value") else match.span()))
        for match in _PHONE.finditer(text):
            if sum(c.isdigit() for c in match.group()) >= 7:
                add("PHONE", *match.span())
        given = {n.strip() for n in self.names if n and len(n.strip()) >= 3}
        # A known author is also named by one part ("Karen here again", "call Karen back").
        parts = {word for name in given if " " in name for word in name.split() if len(word) >= 3 and word.lower() not in _NOT_NAMES}
        names = given | parts | _cued_names(text)
        # A name found once is redacted wherever it appears in the document, longest first.
        for name in sorted(names, key=len, reverse=True):
            for match in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text):
                add("PERSON", *match.span())
        out, cursor = [], 0
        for start, end, kind in sorted(spans):
            out.append(text[cursor:start])
            out.append(self._placeholder(kind, text[start:end]))
            cursor = end
        out.append(text[cursor:])
        return "".join(out)

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self._by_value:
            number = 1 + sum(1 for k, _ in self._by_value if k == kind)
            self._by_value[key] = f"[{kind}_{number}]"
            self.mapping[self._by_value[key]] = value
        return self._by_value[key]

    def restore(self, text: str) -> str:
        """Placeholders back to the values they stand for (with or without their brackets)."""
        if not self.mapping:
            return text
        return PLACEHOLDER.sub(lambda m: self.mapping.get(f"[{m.group(1)}_{m.group(2)}]", m.group(0)), text)

    def restore_all(self, value):
        """`restore` through every string of a JSON-like answer."""
        if isinstance(value, str):
            return self.restore(value)
        if isinstance(value, list):
            return [self.restore_all(v) for v in value]
        if isinstance(value, dict):
            return {k: self.restore_all(v) for k, v in value.items()}
        return value


def _cued_names(text: str) -> set[str]:
    names = set()
    for cue in _CUES:
        for match in cue.finditer(text):
            name = _trim_name(match.group("name"))
            if name:
                names.add(name)
    return names


def _trim_name(candidate: str) -> str:
    words = candidate.split()
    while words and words[0].lower() in _NOT_NAMES:
        words = words[1:]
    while words and words[-1].lower() in _NOT_NAMES:
        words = words[:-1]
    name = " ".join(words)
    return name if len(name) >= 3 else ""


_SENTENCE = re.compile(r"\S.*?(?:[.!?]+[\"')\]]*(?=\s)|\n|$)")


def fit(text: str, max_chars: int, score: Callable[[str], float] | None = None) -> str:
    """`text` when it fits; else whole sentences, the highest `score` first (earliest first on
    ties, or without a score), in their original order, gaps marked ' [...] '."""
    if len(text) <= max_chars:
        return text
    sentences = [(m.start(), m.group()) for m in _SENTENCE.finditer(text) if m.group().strip()]
    order = sorted(range(len(sentences)), key=lambda i: (-(score(sentences[i][1]) if score else 0.0), i))
    kept, used = set(), 0
    for i in order:
        size = len(sentences[i][1].strip()) + 7
        if used + size > max_chars:
            continue
        kept.add(i)
        used += size
    if not kept:  # one sentence longer than the limit: its beginning
        return text[:max_chars]
    parts, previous = [], -1
    for i in sorted(kept):
        if previous >= 0 and i != previous + 1:
            parts.append("[...]")
        parts.append(sentences[i][1].strip())
        previous = i
    return " ".join(parts)
