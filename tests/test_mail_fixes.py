"""E-mail as customers' mail servers really write it: registrable domains, our own subdomains,
mbox's escaped "From " lines, missing or wrong charsets, and .mbox files that hold no mailbox."""

from __future__ import annotations

import mailbox
import socket
from pathlib import Path

import pytest

from helpers import email_message
from undertow.ingest import mail
from undertow.ingest.items import ReadDocument, ReadFailure
from undertow.ingest.sources import ReadOptions, read_all


def read(paths: list[Path], **options) -> tuple[list[ReadDocument], list[ReadFailure]]:
    items = list(read_all(paths, ReadOptions(**options)))
    return [i for i in items if isinstance(i, ReadDocument)], [i for i in items if isinstance(i, ReadFailure)]


def raw_mail(sender: str, to: str, message_id: str, body: bytes, *, headers: bytes = b"", subject: bytes = b"s") -> bytes:
    return (
        f"From: {sender}\nTo: {to}\nDate: Mon, 07 Sep 2026 10:00:00 +0000\nMessage-ID: <{message_id}>\n".encode()
        + b"Subject: " + subject + b"\n" + headers + b"\n" + body
    )


# --- the account behind a mail domain -------------------------------------------------------

@pytest.mark.parametrize(("domain", "account"), [
    ("acme.co.uk", "acme"),
    ("beta.co.uk", "beta"),
    ("mail.acme.co.uk", "acme"),
    ("acme.com.au", "acme"),
    ("kestrel-labs.com.br", "kestrel-labs"),
    # What older releases stored for these must not change: homes hold account ids made from them.
    ("acme.com", "acme"),
    ("mail.acme.com", "acme"),
    ("kestrel-labs.io", "kestrel-labs"),
    ("nordhafen.de", "nordhafen"),
    ("acme.internal", "acme"),
    ("localhost", "localhost"),
])
def test_account_is_the_registered_name_under_the_public_suffix(domain, account):
    assert mail.account_label(domain) == account


def test_customers_under_a_shared_suffix_are_different_accounts(tmp_path):
    for company in ("acme", "beta"):
        body = b"We will not renew.\n"
        (tmp_path / f"{company}.eml").write_bytes(raw_mail(f"Ann <ann@{company}.co.uk>", "csm@vendor.io", f"{company}-uk@x", body))
    docs, failures = read([tmp_path], own_domains={"vendor.io"})
    assert not failures
    assert sorted((d.document.id, d.document.account_id, d.document.account_name) for d in docs) == [
        ("acme-uk@x", "acme", "Acme"), ("beta-uk@x", "beta", "Beta"),
    ]


@pytest.mark.parametrize("own", ["vendor.io", "Vendor.IO", "@vendor.io"])
def test_a_subdomain_of_our_own_domain_is_ours(tmp_path, own):
    (tmp_path / "sub.eml").write_bytes(raw_mail("csm@eu.vendor.io", "Ann <ann@gamma.com>", "sub-1@x", b"Hi Ann.\n"))
    (docs,), _ = read([tmp_path / "sub.eml"], own_domains={own})
    assert docs.document.account_id == "gamma"


def test_a_domain_that_only_ends_like_ours_is_a_customer(tmp_path):
    (tmp_path / "m.eml").write_bytes(raw_mail("ann@notvendor.io", "csm@vendor.io", "nv-1@x", b"We are leaving.\n"))
    (docs,), _ = read([tmp_path / "m.eml"], own_domains={"vendor.io"})
    assert docs.document.account_id == "notvendor"


def test_the_public_suffix_list_is_read_without_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the public suffix list must not be fetched")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    mail._public_suffixes.cache_clear()
    try:
        assert mail.account_label("shop.acme.co.uk") == "acme"
    finally:
        mail._public_suffixes.cache_clear()


# --- mbox's escaped "From " lines ------------------------------------------------------------

def test_escaped_from_line_in_an_mbox_is_the_customers_sentence(tmp_path):
    path = tmp_path / "esc.mbox"
    path.write_bytes(
        b"From a@acme.com Mon Sep  7 10:00:00 2026\n"
        + raw_mail("a@acme.com", "c@vendor.io", "esc-1@acme.com",
                   b"Hi Sam,\n\n>From January we will move all our users to Salesforce and will not renew.\n\n"
                   b">>From the old contract: mboxrd keeps one level.\n\nBest, Ann\n\n")
    )
    (doc,), failures = read([path], own_domains={"vendor.io"})
    assert not failures
    assert "From January we will move all our users to Salesforce and will not renew." in doc.document.text
    assert ">From the old contract" in doc.document.original_text
    assert ">From January" not in doc.document.original_text


def test_a_body_line_starting_from_survives_a_round_trip_through_pythons_mbox_writer(tmp_path):
    box = mailbox.mbox(str(tmp_path / "inbox.mbox"))
    box.add(email_message("ann@acme.com", "me@vendor.io", "Plan", "Hi Sam,\n\nFrom January we move to Salesforce.\n", message_id="1@acme"))
    box.add(email_message("bob@beta.com", "me@vendor.io", "Other", "Second message.", message_id="2@beta"))
    box.flush()
    box.close()
    assert b"\n>From January" in (tmp_path / "inbox.mbox").read_bytes()  # what the writer did
    docs, failures = read([tmp_path / "inbox.mbox"], own_domains={"vendor.io"})
    assert not failures and [d.document.id for d in docs] == ["1@acme", "2@beta"]
    assert "From January we move to Salesforce." in docs[0].document.text


# --- charsets --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("body", "headers", "text", "said"),
    [
        # No charset declared: the bytes are detected, and the guess is named.
        (b"The caf\xe9 team\x92s budget was cut by 30% \x96 we need a discount.\n", b"",
         "The café team’s budget was cut by 30% – we need a discount.", ("no charset", "cp1252 (guessed)")),
        # A declared charset the bytes do not fit: detected the same way.
        (b"Nous allons r\xe9silier le contrat.\n", b"Content-Type: text/plain; charset=utf-8\n",
         "Nous allons résilier le contrat.", ("utf-8", "(guessed)")),
    ],
)
def test_a_body_whose_charset_is_missing_or_wrong_is_detected_and_the_guess_named(tmp_path, body, headers, text, said):
    path = tmp_path / "mail.eml"
    path.write_bytes(raw_mail("a@delta.com", "csm@vendor.io", "cs-1@delta.com", body, headers=headers))
    (doc,), failures = read([path], own_domains={"vendor.io"})
    assert not failures and doc.document.text == text
    (warning,) = doc.warning_lines()
    assert warning.startswith(f"{path}: body:") and all(part in warning for part in said)


def test_unknown_charset_no_longer_rejects_the_message(tmp_path):
    ascii_body = tmp_path / "unkcs.eml"
    ascii_body.write_bytes(raw_mail("a@delta.com", "csm@vendor.io", "unk-1@delta.com", b"We are evaluating a competitor.\n",
                                    headers=b"Content-Type: text/plain; charset=x-unknown-foo\n"))
    accented = tmp_path / "unkcs8.eml"
    accented.write_bytes(raw_mail("a@delta.com", "csm@vendor.io", "unk-2@delta.com", "Wir kündigen zum Jahresende.\n".encode(),
                                  headers=b"Content-Type: text/plain; charset=x-unknown-foo\n"))
    docs, failures = read([ascii_body, accented], own_domains={"vendor.io"})
    assert not failures
    by_id = {d.document.id: d for d in docs}
    assert by_id["unk-1@delta.com"].document.text == "We are evaluating a competitor."
    assert by_id["unk-1@delta.com"].warnings == []  # ASCII reads the same whatever the charset
    assert by_id["unk-2@delta.com"].document.text == "Wir kündigen zum Jahresende."
    assert "unknown charset 'x-unknown-foo'; read as utf-8" in by_id["unk-2@delta.com"].warnings[0]


def test_a_charset_that_fits_is_trusted_and_undeclared_utf8_is_read_silently(tmp_path):
    latin1 = tmp_path / "latin1.eml"
    latin1.write_bytes(raw_mail("a@delta.com", "csm@vendor.io", "l-1@delta.com", b"R\xe9siliation au 31/12.\n",
                                headers=b"Content-Type: text/plain; charset=iso-8859-1\n"))
    utf8 = tmp_path / "utf8.eml"
    utf8.write_bytes(raw_mail("a@delta.com", "csm@vendor.io", "u-1@delta.com", "Kündigung zum Jahresende.\n".encode()))
    docs, _ = read([latin1, utf8], own_domains={"vendor.io"})
    assert sorted((d.document.text, tuple(d.warnings)) for d in docs) == [
        ("Kündigung zum Jahresende.", ()), ("Résiliation au 31/12.", ()),
    ]


def test_raw_8bit_subject_is_read_in_the_bodys_charset_or_detected(tmp_path):
    same_as_body = tmp_path / "s1.eml"
    same_as_body.write_bytes(raw_mail("a@delta.com", "csm@vendor.io", "s-1@delta.com", b"Le contrat se termine le 31 d\xe9cembre.\n",
                                      subject=b"R\xe9siliation", headers=b"Content-Type: text/plain; charset=iso-8859-1\n"))
    ascii_body = tmp_path / "s2.eml"
    ascii_body.write_bytes(raw_mail("a@delta.com", "csm@vendor.io", "s-2@delta.com", b"See below.\n",
                                    subject=b"R\xe9siliation du contrat =?utf-8?q?caf=C3=A9?="))
    utf8_subject = tmp_path / "s3.eml"
    utf8_subject.write_bytes(raw_mail("a@delta.com", "csm@vendor.io", "s-3@delta.com", b"See below.\n", subject="Kündigung".encode()))
    docs, failures = read([same_as_body, ascii_body, utf8_subject], own_domains={"vendor.io"})
    assert not failures
    by_id = {d.document.id: d for d in docs}
    assert by_id["s-1@delta.com"].document.subject == "Résiliation"
    assert by_id["s-1@delta.com"].warnings == ["subject: raw 8-bit bytes; read as iso-8859-1 (the body's charset)"]
    assert by_id["s-2@delta.com"].document.subject == "Résiliation du contrat café"
    assert "subject: raw 8-bit bytes" in by_id["s-2@delta.com"].warnings[0] and "(guessed)" in by_id["s-2@delta.com"].warnings[0]
    assert by_id["s-3@delta.com"].document.subject == "Kündigung" and by_id["s-3@delta.com"].warnings == []


def test_in_an_mbox_a_guess_names_the_message_and_an_unreadable_body_rejects_only_its_message(tmp_path):
    path = tmp_path / "inbox.mbox"
    path.write_bytes(
        b"From a@delta.com Mon Sep  7 10:00:00 2026\n"
        + raw_mail("a@delta.com", "csm@vendor.io", "m-1@delta.com", b"Le budget a \xe9t\xe9 r\xe9duit de 30 %.\n\n")
        + b"From a@delta.com Mon Sep  7 10:00:00 2026\n"
        + raw_mail("a@delta.com", "csm@vendor.io", "m-2@delta.com", b"\x00\x01\x02\x03\xff\xfe\x00\x00binary\x00\x00\n\n")
        + b"From b@delta.com Mon Sep  7 10:00:00 2026\n"
        + raw_mail("b@delta.com", "csm@vendor.io", "m-3@delta.com", b"Third message.\n")
    )
    docs, failures = read([path], own_domains={"vendor.io"})
    assert [d.document.id for d in docs] == ["m-1@delta.com", "m-3@delta.com"]
    assert docs[0].document.text == "Le budget a été réduit de 30 %."
    assert docs[0].warning_lines()[0].startswith(f"{path}:1: body:")
    (failure,) = failures
    assert failure.line == 10 and failure.reason.startswith("message 2: body:") and "\ufffd" not in failure.reason


# --- .mbox files that hold no mailbox --------------------------------------------------------

def test_empty_mbox_is_rejected(tmp_path):
    (tmp_path / "empty.mbox").write_bytes(b"")
    (tmp_path / "blank.mbox").write_bytes(b"\n\n  \n")
    _, failures = read([tmp_path / "empty.mbox", tmp_path / "blank.mbox"])
    assert [(Path(f.path).name, f.reason) for f in failures] == [
        ("empty.mbox", "empty file"), ("blank.mbox", "no readable text (only blank lines)"),
    ]


def test_single_message_saved_as_mbox_is_read_as_one_message(tmp_path):
    path = tmp_path / "single.mbox"
    body = b"Hi Sam,\n\nFrom next month we are moving to another vendor.\n\nAnn\n"
    path.write_bytes(b"\n" + raw_mail("Ann <ann@epsilon.co.uk>", "csm@vendor.io", "single-1@epsilon", body))
    (doc,), failures = read([path], own_domains={"vendor.io"})
    assert not failures
    assert (doc.document.id, doc.document.account_id) == ("single-1@epsilon", "epsilon")
    assert "From next month we are moving to another vendor." in doc.document.text


def test_mbox_that_is_not_mail_is_rejected_with_its_reason(tmp_path):
    (tmp_path / "notes.mbox").write_bytes(b"just some notes\nnothing mail-like here\n")
    (tmp_path / "fields.mbox").write_bytes(b"Note: call on Monday\nStatus: fine\n\nbody\n")
    _, failures = read([tmp_path / "notes.mbox", tmp_path / "fields.mbox"])
    assert len(failures) == 2
    assert all(f.reason.startswith("not a mailbox: no 'From ' line starts a message") for f in failures)


def test_text_before_the_first_separator_is_reported_and_the_messages_are_read(tmp_path):
    path = tmp_path / "junk.mbox"
    path.write_bytes(
        b"exported by tool 1.0\n\n"
        + b"From a@acme.com Mon Sep  7 10:00:00 2026\n"
        + raw_mail("a@acme.com", "csm@vendor.io", "j-1@acme.com", b"We are happy.\n")
    )
    docs, failures = read([path], own_domains={"vendor.io"})
    assert [d.document.id for d in docs] == ["j-1@acme.com"] and docs[0].origin == f"{path}:3"
    (failure,) = failures
    assert failure.line == 1 and "before the first 'From ' line" in failure.reason
