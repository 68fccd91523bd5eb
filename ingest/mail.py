"""`.eml` files and `.mbox` mailboxes: the new part of each message, without quotes or signature."""

from __future__ import annotations

import email
import email.policy
import hashlib
import mailbox
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path

from pydantic import ValidationError

from undertow.documents import Document
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, validation_reason

# The line that introduces a quoted earlier message, in the languages customers write.
_REPLY_HEADER = re.compile(
    r"^\s*(?:"
    r"On .{0,200}wrote:|"
    r"Il giorno .{0,200}ha scritto:|.{0,200} ha scritto:|"
    r"Am .{0,200}schrieb .{0,200}:|.{0,200} schrieb:|"
    r"Em .{0,200}escreveu:|.{0,200} escreveu:|"
    r"Op .{0,200}schreef .{0,200}:|.{0,200} schreef:|"
    r"Le .{0,200}a écrit\s?:|.{0,200} a écrit\s?:|"
    r"El .{0,200}escribió:|.{0,200} escribió:|"
    r"-{2,}\s*(?:Original Message|Messaggio originale|Ursprüngliche Nachricht|Mensagem original|"
    r"Oorspronkelijk bericht|Message d'origine|Mensaje original)\s*-{2,}|"
    r"_{10,}|"
    r"From:\s.+|Da:\s.+|Von:\s.+|De:\s.+|Van:\s.+"
    r")\s*$",
    re.IGNORECASE,
)
_SIGNATURE_START = re.compile(
    r"^(?:--\s?|Sent from my .+|Inviato da .+|Von meinem .+ gesendet|Enviado do meu .+|Verzonden vanaf .+|"
    r"Envoyé de mon .+|Enviado desde mi .+)$"
)


def trim_reply(body: str) -> str:
    """Drop quoted history and the signature, so an old thread is not counted again."""
    kept: list[str] = []
    for line in body.splitlines():
        stripped = line.strip()
        if _REPLY_HEADER.match(line) or _SIGNATURE_START.match(stripped):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def _html_to_text(html: str) -> str:
    import html2text

    converter = html2text.HTML2Text()
    converter.ignore_links = True
    converter.ignore_images = True
    converter.body_width = 0
    return converter.handle(html)


def message_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    return _html_to_text(content) if part.get_content_type() == "text/html" else content


def account_from_addresses(message: EmailMessage, own_domains: set[str]) -> tuple[str, str] | None:
    """The customer is the first correspondent outside our own domains."""
    senders = getaddresses([str(message.get("From", ""))])
    recipients = getaddresses([str(message.get(h, "")) for h in ("To", "Cc")])
    for _, address in senders + recipients:
        domain = address.rpartition("@")[2].lower()
        if domain and domain not in own_domains:
            label = domain.split(".")[-2] if domain.count(".") >= 1 else domain
            return label, label.replace("-", " ").title()
    return None


def message_to_document(message: EmailMessage, defaults: dict, own_domains: set[str], fallback_id: str) -> Document:
    account = None
    if message.get("X-Undertow-Account"):
        account = (str(message["X-Undertow-Account"]).strip(), str(message.get("X-Undertow-Account-Name", "")).strip())
    elif "account_id" not in defaults:
        account = account_from_addresses(message, own_domains)
    fields = dict(defaults)
    if account:
        fields["account_id"], fields["account_name"] = account[0], account[1] or fields.get("account_name", "")
    message_id = str(message.get("Message-ID", "")).strip().strip("<>")
    fields.update(
        id=message_id or fallback_id,
        source="email",
        subject=str(message.get("Subject", "")),
        author=parseaddr(str(message.get("From", "")))[1],
        text=trim_reply(message_body(message)),
    )
    if message.get("Date"):
        fields["date"] = str(message["Date"])
    return Document.model_validate(fields)


def read_eml(path: Path, defaults: dict, own_domains: set[str]) -> Iterator[ReadItem]:
    try:
        with open(path, "rb") as handle:
            message = email.message_from_binary_file(handle, policy=email.policy.default)
        yield ReadDocument(message_to_document(message, defaults, own_domains, _fallback_id(path, 0)), str(path))
    except (ValidationError, ValueError, LookupError) as error:
        yield ReadFailure(str(path), None, validation_reason(error))


def read_mbox(path: Path, defaults: dict, own_domains: set[str]) -> Iterator[ReadItem]:
    box = mailbox.mbox(str(path), factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default), create=False)
    line_of = _message_start_lines(path)
    try:
        for index, message in enumerate(box):
            line = line_of[index] if index < len(line_of) else None
            try:
                yield ReadDocument(message_to_document(message, defaults, own_domains, _fallback_id(path, index)), f"{path}:{line}")
            except (ValidationError, ValueError, LookupError, AttributeError) as error:
                yield ReadFailure(str(path), line, f"message {index + 1}: {validation_reason(error)}")
    finally:
        box.close()


def _message_start_lines(path: Path) -> list[int]:
    with open(path, "rb") as handle:
        return [n for n, line in enumerate(handle, 1) if line.startswith(b"From ")]


def _fallback_id(path: Path, index: int) -> str:
    return f"{path.name}-{index}-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}"
