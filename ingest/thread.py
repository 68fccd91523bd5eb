"""The new text of a message: without quoted replies, signatures, legal disclaimers and forward headers.

Helpdesk and CRM exports (JSONL, CSV) carry whole threads as much as .eml files do, and an old
quoted message or a disclaimer read again every night drowns the sentence that matters. The rules
are conservative for notes: a line such as "the customer wrote:" inside a call note is not a reply
header unless quoted lines or a header block follow it. And a note is written by our own team: a
"> " line in it is the customer quoted (Markdown's blockquote), and a "--" or "_____" line a
section break, not a signature or an old message; a note loses only a pasted-in reply.
"""

from __future__ import annotations

import re

# The line that introduces a quoted earlier message, in the languages customers write.
_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On .{0,200}wrote:|Il giorno .{0,200}ha scritto:|.{0,200} ha scritto:|"
    r"Am .{0,200}schrieb .{0,200}:|.{0,200} schrieb:|Em .{0,200}escreveu:|.{0,200} escreveu:|"
    r"Op .{0,200}schreef .{0,200}:|.{0,200} schreef:|Le .{0,200}a écrit\s?:|.{0,200} a écrit\s?:|"
    r"El .{0,200}escribió:|.{0,200} escribió:"
    r")\s*$",
    re.IGNORECASE,
)
# Lines that always start old material: "Original Message" separators.
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Messaggio originale|Ursprüngliche Nachricht|Mensagem original|"
    r"Oorspronkelijk bericht|Message d'origine|Mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Outlook's rule above a reply's header; in a note, a section break.
_RULE = re.compile(r"^\s*_{10,}\s*$")
_FORWARD = re.compile(
    r"^\s*-{2,}\s*(?:Forwarded message|Messaggio inoltrato|Weitergeleitete Nachricht|Mensagem encaminhada|"
    r"Doorgestuurd bericht|Message transféré|Mensaje reenviado)\s*-{2,}\s*$|^\s*Begin forwarded message:\s*$",
    re.IGNORECASE,
)
# A header block: From: followed by Sent/Date/To/Subject lines (Outlook pastes these in every language).
_HEADER_FIELD = re.compile(
    r"^\s*\*{0,2}(?:From|Sent|Date|To|Cc|Subject|Da|Inviato|Data|A|Oggetto|Von|Gesendet|Datum|An|Betreff|"
    r"De|Enviado|Para|Assunto|Van|Verzonden|Aan|Onderwerp|Envoyé|À|Objet|Fecha|Asunto)\*{0,2}\s*:\s*\S",
    re.IGNORECASE,
)
_FROM_FIELD = re.compile(r"^\s*\*{0,2}(?:From|Da|Von|De|Van)\*{0,2}\s*:\s*\S", re.IGNORECASE)
_SIGNATURE = re.compile(
    r"^(?:--\s?|Sent from my .+|Get Outlook for .+|Inviato da .+|Von meinem .+ gesendet|Enviado do meu .+|"
    r"Verzonden vanaf .+|Envoyé de mon .+|Enviado desde mi .+)$"
)
_DISCLAIMER_MARK = re.compile(
    r"confidential|vertraulich|confidentiel|confidencial|riservat|vertrouwelijk|privileged", re.IGNORECASE
)
# Not a bare "intended for": "this is confidential and intended for you only: we will cancel" is a
# customer's sentence, not boilerplate.
_DISCLAIMER_AUDIENCE = re.compile(
    r"intended (?:solely |only )?(?:for (?:the )?(?:use of )?(?:the )?(?:named )?(?:addressee|recipient|individual|person)|recipient)|addressee|destinatari|Empfänger|destinataire|destinatário|"
    r"geadresseerde|received (?:this|it) in error|per errore|irrtümlich|par erreur|por error|por engano|abusievelijk",
    re.IGNORECASE,
)


def new_text(text: str, note: bool = False) -> str:
    """The part of `text` a person wrote this time; the whole text when nothing old is found.
    `note`: our own team's note (call notes, meeting transcripts, notes), read as such."""
    lines = text.splitlines()
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if _SEPARATOR.match(line) or (not note and (_RULE.match(line) or _SIGNATURE.match(stripped))):
            break
        if _FORWARD.match(line) or _starts_header_block(lines, index):
            if _has_words(kept):
                break
            # A bare forward: the forwarded message is the content, only its header goes.
            index = _skip_header(lines, index + (1 if _FORWARD.match(line) else 0))
            continue
        if _ATTRIBUTION.match(line) and _quoted_or_header_follows(lines, index + 1):
            break
        if note or not stripped.startswith(">"):
            kept.append(line.rstrip())
        index += 1
    body = _drop_disclaimers("\n".join(kept))
    return re.sub(r"\n{3,}", "\n\n", body).strip()


def _has_words(lines: list[str]) -> bool:
    return len(re.findall(r"\w+", " ".join(lines))) >= 3


def _starts_header_block(lines: list[str], index: int) -> bool:
    if not _FROM_FIELD.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 6] if line.strip()]
    return sum(bool(_HEADER_FIELD.match(line)) for line in following[:4]) >= 2


def _skip_header(lines: list[str], index: int) -> int:
    while index < len(lines) and (not lines[index].strip() or _HEADER_FIELD.match(lines[index])):
        index += 1
    return index


def _quoted_or_header_follows(lines: list[str], index: int) -> bool:
    following = [line for line in lines[index : index + 3] if line.strip()]
    return bool(following) and (following[0].lstrip().startswith(">") or _starts_header_block(following, 0))


def _drop_disclaimers(text: str) -> str:
    # The first paragraph is never a disclaimer: a customer may well call a price "confidential".
    first, *rest = re.split(r"(\n\s*\n)", text)
    kept = [p for p in rest if not (_DISCLAIMER_MARK.search(p) and _DISCLAIMER_AUDIENCE.search(p))]
    return first + "".join(kept)
