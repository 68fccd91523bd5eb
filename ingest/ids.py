"""Ids that keep apart what is apart: rows of one ticket in an export, and two systems' tickets
that happen to share a number.

A document's id is the source's own (a ticket number, a Message-ID) so that re-reading an export
updates what it stored rather than adding to it. Two cases break that if taken literally:
- A helpdesk export with one row per comment repeats the ticket's id on every row. Taken as
  versions of one document, all rows but the last were dropped, and with them what the customer
  said in the first comment. Each further row of the same id in the same file is kept, as
  `ID#2`, `ID#3` (stable from night to night while the export keeps its order).
- Zendesk ticket 1 and Salesforce case 1 are different documents of different accounts. Taken as
  one, the second export overwrote the first account's document and its flags. A document whose id
  is another account's document, with other words, is kept as `ID@ACCOUNT`. The same words under
  another account are the same document moved (a CRM correction), and are moved.
Otherwise the same id again is a newer version of the document (another file, another night).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from undertow.documents import Document, normalised_for_identity
from undertow.ingest.items import ReadDocument
from undertow.store.records import RecordStore

Notice = Callable[[str], None]


@dataclass
class _FirstRow:
    file: str
    account_id: str
    words: str
    rows_in_file: list[str]  # the words of each row with this id in `file`


def _words(doc: Document) -> str:
    return hashlib.sha256(normalised_for_identity(doc.text).encode("utf-8")).hexdigest()[:16]


class RunIds:
    """The ids read so far in this run: renames a further row of an id in the same file, and an id
    another account's document already has in this run."""

    def __init__(self, on_notice: Notice):
        self.on_notice = on_notice
        self._seen: dict[str, _FirstRow] = {}

    def kept_apart(self, item: ReadDocument) -> ReadDocument | None:
        """The item, renamed if need be; None for a row repeated word for word in its file."""
        doc, file, words = item.document, _file_of(item.origin), _words(item.document)
        first = self._seen.get(doc.id)
        if first is None:
            self._seen[doc.id] = _FirstRow(file, doc.account_id, words, [words])
            return item
        if first.file == file:
            if words in first.rows_in_file:
                return None
            first.rows_in_file.append(words)
            if len(first.rows_in_file) == 2:
                self.on_notice(f"warning {item.origin}: id {doc.id} is on several rows of {file} (one per comment?): "
                               f"each row is kept, as {doc.id}#2, {doc.id}#3, ...")
            return _renamed(item, f"{doc.id}#{len(first.rows_in_file)}")
        if first.account_id != doc.account_id and first.words != words:
            return _renamed(item, _for_account(doc, first.account_id, item.origin, self.on_notice))
        return item


def apart_from_other_accounts(items: list[tuple[Document, str]], records: RecordStore, on_notice: Notice) -> list[tuple[Document, str]]:
    """The batch, with a document renamed where its id is another account's stored document."""
    stored_accounts = records.accounts_of([doc.id for doc, _ in items])
    kept = []
    for doc, origin in items:
        stored_account = stored_accounts.get(doc.id)
        if stored_account is not None and stored_account != doc.account_id and not _same_words(records, doc):
            doc = doc.model_copy(update={"id": _for_account(doc, stored_account, origin, on_notice)})
        kept.append((doc, origin))
    return kept


def _for_account(doc: Document, other_account: str, origin: str, on_notice: Notice) -> str:
    renamed = f"{doc.id}@{doc.account_id}"
    on_notice(f"warning {origin}: id {doc.id} is already a document of account {other_account} with other words; "
              f"stored as {renamed} (two systems' ids meet: map a unique id column with --map id=COLUMN)")
    return renamed


def _renamed(item: ReadDocument, new_id: str) -> ReadDocument:
    return ReadDocument(item.document.model_copy(update={"id": new_id}), item.origin, item.warnings)


def _same_words(records: RecordStore, doc: Document) -> bool:
    stored = records.get_document(doc.id) or {}
    return normalised_for_identity(stored.get("text") or "") == normalised_for_identity(doc.text)


def _file_of(origin: str) -> str:
    """`path:line` -> path (JSONL, CSV and mbox origins name the line; others are the path)."""
    path, _, line = origin.rpartition(":")
    return path if path and line.isdigit() else origin
