"""`.eml` files and `.mbox` mailboxes. Quotes and signatures are separated later, as for every source."""

from __future__ import annotations

import email
import email.policy
import functools
import mailbox
import re
from collections.abc import Iterator
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import BinaryIO

from publicsuffixlist import PublicSuffixList
from pydantic import ValidationError

from undertow.documents import Document
from undertow.ingest.build import build_document
from undertow.ingest.decode import Decoded, RejectedInput, decode_bytes
from undertow.ingest.items import ReadDocument, ReadFailure, ReadItem, ReadOptions, validation_reason

# mbox writers put a '>' before every body line that starts with "From ", and mboxrd writers one
# more before a line already escaped that way, so that the line cannot pass for the next
# message's separator. Left in, the '>' makes the customer's sentence look like a quoted reply.
_ESCAPED_FROM_LINE = re.compile(rb"^>(>*From )", re.MULTILINE)
# A header field, RFC 5322 section 2.2: printable ASCII but the colon, then the colon.
_HEADER_FIELD_LINE = re.compile(rb"^[!-9;-~]+:")
_MAIL_HEADERS = ("From", "To", "Cc", "Date", "Message-ID", "Subject")


def _html_to_text(html: str) -> str:
    import html2text

    converter = html2text.HTML2Text()
    converter.ignore_links = True
    converter.ignore_images = True
    converter.body_width = 0
    return converter.handle(html)


def message_body(message: EmailMessage) -> Decoded:
    """The body's text, with the encoding it was read as and a warning when that was a guess."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return Decoded("", "ascii")
    body = decode_part(part)
    if part.get_content_type() == "text/html":
        return Decoded(_html_to_text(body.text), body.encoding, body.guessed, body.warning)
    return body


def decode_part(part: Message) -> Decoded:
    """A text part read strictly as its declared charset; a part whose charset is missing, unknown
    or wrong is read the way a text file is (UTF-8, else detected) and the guess is named, because
    the email package would turn its accents into U+FFFD, or refuse an unknown charset outright.
    Raises ValueError when no encoding gives readable text."""
    payload = part.get_payload(decode=True) or b""
    declared = part.get_content_charset()
    if declared:
        try:
            return Decoded(payload.decode(declared), declared)
        except LookupError:
            problem = f"unknown charset {declared!r}"
        except UnicodeDecodeError as error:
            problem = f"declared charset {declared} does not fit its bytes (byte {error.start})"
    else:
        problem = "no charset declared and not UTF-8"
    if payload.isascii():
        # ASCII reads the same in any charset a mail would name: nothing was guessed.
        return Decoded(payload.decode("ascii"), "ascii")
    try:
        decoded = decode_bytes(payload, "")
    except RejectedInput as rejection:
        raise ValueError(f"body: {rejection.reason}") from None
    if not declared and not decoded.guessed:
        return decoded  # undeclared UTF-8, read silently as in every other format
    guess = " (guessed)" if decoded.guessed else ""
    return Decoded(decoded.text, decoded.encoding, True, f"body: {problem}; read as {decoded.encoding}{guess}")


def message_subject(message: EmailMessage, body_encoding: str) -> tuple[str, str | None]:
    """The subject and a warning when it was sent as raw 8-bit bytes that are not UTF-8.

    Such bytes are read in the body's encoding when they fit it (the same program wrote both, and
    a body is long enough to guess from, a subject is not), otherwise detected like a body."""
    raw = next((value for name, value in message.raw_items() if name.lower() == "subject"), None)
    if raw is None:
        return "", None
    try:
        data = raw.encode("ascii", "surrogateescape")
        data.decode("utf-8")
    except UnicodeEncodeError:
        return str(message["Subject"]), None  # parsed from text, not bytes: nothing raw is left to read
    except UnicodeDecodeError:
        pass
    else:
        return str(message["Subject"]), None  # RFC 2047 words and UTF-8 (RFC 6532) the email package reads itself
    try:
        text, how = data.decode(body_encoding), f"{body_encoding} (the body's charset)"
    except (LookupError, UnicodeDecodeError):
        try:
            decoded = decode_bytes(data, "")
        except RejectedInput:
            return str(message["Subject"]), "subject: raw 8-bit bytes in no encoding that fits; unreadable characters replaced"
        text, how = decoded.text, f"{decoded.encoding}{' (guessed)' if decoded.guessed else ''}"
    unfolded = re.sub(r"\r?\n", "", text)
    subject = str(email.policy.default.header_factory("subject", unfolded))  # encoded words may sit beside raw bytes
    return subject, f"subject: raw 8-bit bytes; read as {how}"


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # Only the ICANN section: under .com it has no rule longer than "com", so every account id an
    # older release derived from a .com, .net or .de address stays as it was. The private section
    # would also split hosting and dynamic-DNS names (herokuapp.com, us.com) one label further.
    return PublicSuffixList(only_icann=True)


def account_label(domain: str) -> str:
    """The label a company registered: acme for mail.acme.com and for acme.co.uk alike."""
    registered = _public_suffixes().privatesuffix(domain) or domain
    return registered.split(".")[0]


def is_own_domain(domain: str, own_domains: set[str]) -> bool:
    """vendor.io's subdomains (eu.vendor.io) are ours as much as vendor.io itself."""
    return any(domain == own or domain.endswith("." + own) for own in own_domains)


def account_from_addresses(message: EmailMessage, own_domains: set[str]) -> tuple[str, str] | None:
    """The customer is the first correspondent outside our own domains."""
    own = {d.strip().lstrip("@").strip(".").lower() for d in own_domains} - {""}
    senders = getaddresses([str(message.get("From", ""))])
    recipients = getaddresses([str(message.get(h, "")) for h in ("To", "Cc")])
    for _, address in senders + recipients:
        domain = address.rpartition("@")[2].strip().strip(".").lower()
        if domain and not is_own_domain(domain, own):
            label = account_label(domain)
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
    body = message_body(message)
    subject, subject_warning = message_subject(message, body.encoding)
    fields.update(
        id=str(message.get("Message-ID", "")).strip().strip("<>"),
        source="email",
        subject=subject,
        author=parseaddr(str(message.get("From", "")))[1],
        text=body.text,
    )
    if message.get("Date"):
        fields["date"] = str(message["Date"])
    document, warnings = build_document(fields, options)
    return document, [w for w in (body.warning, subject_warning) if w] + warnings


def read_eml(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    yield _read_one_message(path, path.read_bytes(), options)


def _read_one_message(path: Path, data: bytes, options: ReadOptions) -> ReadItem:
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
        document, warnings = message_to_document(message, options)
        return ReadDocument(document, str(path), warnings)
    except (ValidationError, ValueError, LookupError) as error:
        return ReadFailure(str(path), None, validation_reason(error))


def read_mbox(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    first_line_no, first_line, start_lines = _mbox_layout(path)
    if first_line_no is None:
        raise RejectedInput("empty file" if path.stat().st_size == 0 else "no readable text (only blank lines)")
    if not first_line.startswith(b"From "):
        if _HEADER_FIELD_LINE.match(first_line):
            # One message saved under an .mbox name, read as an .eml would be: no mbox writer
            # escaped it, so a body line starting "From " is the customer's, not the next message.
            data = path.read_bytes().lstrip()  # a blank line first would end the headers before they start
            if not _has_mail_headers(data):
                raise RejectedInput(f"not a mailbox: no 'From ' line starts a message, and its headers have none of {', '.join(_MAIL_HEADERS)}")
            yield _read_one_message(path, data, options)
            return
        if not start_lines:
            raise RejectedInput("not a mailbox: no 'From ' line starts a message, and it does not start with mail headers")
        yield ReadFailure(
            str(path), first_line_no,
            f"lines {first_line_no}-{start_lines[0] - 1} come before the first 'From ' line and belong to no message; not read",
        )
    yield from _mbox_messages(path, start_lines, options)


def _mbox_messages(path: Path, start_lines: list[int], options: ReadOptions) -> Iterator[ReadItem]:
    box = mailbox.mbox(str(path), factory=_unescaped_message, create=False)
    try:
        for index, message in enumerate(box):
            line = start_lines[index] if index < len(start_lines) else None
            try:
                document, warnings = message_to_document(message, options)
                yield ReadDocument(document, f"{path}:{line}", warnings)
            except (ValidationError, ValueError, LookupError, AttributeError) as error:
                yield ReadFailure(str(path), line, f"message {index + 1}: {validation_reason(error)}")
    finally:
        box.close()


def _unescaped_message(handle: BinaryIO) -> EmailMessage:
    return email.message_from_bytes(_ESCAPED_FROM_LINE.sub(rb"\1", handle.read()), policy=email.policy.default)


def _mbox_layout(path: Path) -> tuple[int | None, bytes, list[int]]:
    """(the number of the first line that is not blank, that line, the lines that start a message)."""
    first_line_no, first_line, start_lines = None, b"", []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if first_line_no is None and line.strip():
                first_line_no, first_line = number, line
            if line.startswith(b"From "):
                start_lines.append(number)
    return first_line_no, first_line, start_lines


def _has_mail_headers(data: bytes) -> bool:
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(data)
    return any(name in headers for name in _MAIL_HEADERS)
