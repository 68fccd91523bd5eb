"""`.eml` files and `.mbox` mailboxes. Quotes and signatures are separated later, as for every source."""

from __future__ import annotations

import email
import email.policy
import mailbox
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path

from pydantic import ValidationError

from undertow.documents import Document
from undertow.ingest.build import build_document
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, ReadOptions, validation_reason

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


def message_to_document(message: EmailMessage, options: ReadOptions) -> tuple[Document, list[str]]:
    """The document and its warnings. Without a Message-ID, the id comes from the content, so a
    rotated or re-exported mailbox never overwrites one message with another."""
    defaults = options.defaults
    account = None
    if message.get("X-Undertow-Account"):
        account = (str(message["X-Undertow-Account"]).strip(), str(message.get("X-Undertow-Account-Name", "")).strip())
    elif "account_id" not in defaults:
        account = account_from_addresses(message, options.own_domains)
    fields = dict(defaults)
    if account:
        fields["account_id"], fields["account_name"] = account[0], account[1] or fields.get("account_name", "")
    fields.update(
        id=str(message.get("Message-ID", "")).strip().strip("<>"),
        source="email",
        subject=str(message.get("Subject", "")),
        author=parseaddr(str(message.get("From", "")))[1],
        text=message_body(message),
    )
    if message.get("Date"):
        fields["date"] = str(message["Date"])
    return build_document(fields, options)


def read_eml(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    try:
        with open(path, "rb") as handle:
            message = email.message_from_binary_file(handle, policy=email.policy.default)
        document, warnings = message_to_document(message, options)
        yield ReadDocument(document, str(path), warnings)
    except (ValidationError, ValueError, LookupError) as error:
        yield ReadFailure(str(path), None, validation_reason(error))


def read_mbox(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    box = mailbox.mbox(str(path), factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default), create=False)
    line_of = _message_start_lines(path)
    try:
        for index, message in enumerate(box):
            line = line_of[index] if index < len(line_of) else None
            try:
                document, warnings = message_to_document(message, options)
                yield ReadDocument(document, f"{path}:{line}", warnings)
            except (ValidationError, ValueError, LookupError, AttributeError) as error:
                yield ReadFailure(str(path), line, f"message {index + 1}: {validation_reason(error)}")
    finally:
        box.close()


def _message_start_lines(path: Path) -> list[int]:
    with open(path, "rb") as handle:
        return [n for n, line in enumerate(handle, 1) if line.startswith(b"From ")]
