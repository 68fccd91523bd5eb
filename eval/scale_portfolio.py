"""A large generated portfolio for `undertow bench --scale`: documents as JSONL shards, written as
they are made (200,000 documents never sit in memory at once), and an accounts export.

Texts are assembled from the training set's sentences, in its seven languages and with the
signals it carries, at typical lengths (20-150 words); accounts get a few to a hundred
documents each over the year before AS_OF, and numbers drawn the way the demo's are.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Iterator
from itertools import accumulate
from dataclasses import dataclass
from pathlib import Path

AS_OF = dt.date(2026, 10, 1)
SHARD_DOCS = 10_000
SOURCES = ("call_note", "email", "ticket", "chat", "meeting_transcript")
ACCOUNT_COLUMNS = (
    "account_id", "account_name", "segment", "arr", "renewal_date", "csm_owner", "seats_licensed", "seats_active",
    "logins_30d", "logins_prev_30d", "tickets_open", "tickets_30d", "nps", "csat", "days_since_last_contact",
    "invoices_overdue", "csm_sentiment",
)  # fmt: skip


@dataclass
class ScalePortfolio:
    shards: list[Path]
    accounts_csv: Path
    documents: int
    accounts: int

    def first_shard_texts(self, limit: int) -> list[str]:
        with open(self.shards[0], encoding="utf-8") as handle:
            return [json.loads(line)["text"] for _, line in zip(range(limit), handle)]


def account_id(number: int) -> str:
    return f"scale-{number:05d}"


def _sentences() -> list[str]:
    from undertow.eval.datasets import bundled_path, load_documents
    from undertow.text import split_sentences

    return [s.text for doc in load_documents(bundled_path("train"), labelled=True) for s in split_sentences(doc.text)]


def documents(count: int, accounts: int, seed: int = 7, id_prefix: str = "scale") -> Iterator[dict]:
    """`count` documents over `accounts` accounts. Accounts differ in how much they write (a
    weight drawn per account), as a real portfolio's do."""
    rng = random.Random(f"{seed}:documents")
    sentences = _sentences()
    cumulative = list(accumulate(rng.uniform(0.2, 2.0) for _ in range(accounts)))
    # Every account gets documents: the first `accounts` go one to each, the rest by weight.
    owners = iter(range(accounts))
    for i in range(count):
        owner = next(owners, None)
        if owner is None:
            owner = rng.choices(range(accounts), cum_weights=cumulative)[0]
        words, parts = rng.randint(20, 150), []
        while sum(len(p.split()) for p in parts) < words:
            parts.append(rng.choice(sentences))
        day = AS_OF - dt.timedelta(days=rng.randrange(0, 365))
        yield {
            "id": f"{id_prefix}-{i:07d}", "account_id": account_id(owner), "account_name": f"Scale Account {owner:05d}",
            "source": rng.choice(SOURCES), "date": day.isoformat(), "text": " ".join(parts),
        }  # fmt: skip


def write_documents(folder: Path, count: int, accounts: int, seed: int = 7, id_prefix: str = "scale") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    shards: list[Path] = []
    handle = None
    for i, doc in enumerate(documents(count, accounts, seed, id_prefix)):
        if i % SHARD_DOCS == 0:
            if handle:
                handle.close()
            shards.append(folder / f"documents-{len(shards):03d}.jsonl")
            handle = open(shards[-1], "w", encoding="utf-8")
        handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    if handle:
        handle.close()
    return shards


def write_accounts(path: Path, accounts: int, seed: int = 7) -> Path:
    rng = random.Random(f"{seed}:accounts")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ACCOUNT_COLUMNS)
        writer.writeheader()
        for number in range(accounts):
            writer.writerow(_account_row(number, rng))
    return path


def _account_row(number: int, rng: random.Random) -> dict:
    segment = rng.choices(("enterprise", "mid-market", "smb"), weights=(3, 4, 3))[0]
    seats = {"enterprise": rng.randint(250, 1500), "mid-market": rng.randint(40, 220), "smb": rng.randint(5, 35)}[segment]
    struggling = rng.random() < 0.25  # about a quarter of accounts look weak on numbers
    ratio = rng.uniform(0.3, 0.68) if struggling else rng.uniform(0.72, 0.97)
    logins_prev = int(seats * rng.uniform(8, 20))
    tickets = rng.randint(3, 12) if struggling else rng.randint(0, 3)
    return {
        "account_id": account_id(number), "account_name": f"Scale Account {number:05d}", "segment": segment,
        "arr": seats * rng.choice((240, 300, 360, 420)),
        "renewal_date": (AS_OF + dt.timedelta(days=rng.randint(10, 360))).isoformat(),
        "csm_owner": f"CSM {number % 40:02d}", "seats_licensed": seats, "seats_active": max(1, round(seats * ratio)),
        "logins_30d": round(logins_prev * rng.uniform(0.6, 0.95) if struggling else logins_prev * rng.uniform(0.95, 1.15)),
        "logins_prev_30d": logins_prev, "tickets_open": tickets, "tickets_30d": tickets + rng.randint(0, 4),
        "nps": rng.randint(-40, 10) if struggling else rng.randint(10, 70),
        "csat": round(rng.uniform(2.3, 3.8) if struggling else rng.uniform(3.9, 4.9), 1),
        "days_since_last_contact": rng.randint(20, 90) if struggling else rng.randint(2, 30),
        "invoices_overdue": rng.randint(0, 2) if struggling else 0,
        "csm_sentiment": rng.choice(("yellow", "red")) if struggling else rng.choice(("green",) * 9 + ("yellow",)),
    }  # fmt: skip


def write_portfolio(folder: Path, documents_count: int, accounts: int, seed: int = 7) -> ScalePortfolio:
    if not 1 <= accounts <= documents_count:
        raise ValueError(f"a portfolio of {documents_count} documents needs 1 to {documents_count} accounts, not {accounts}")
    shards = write_documents(folder / "documents", documents_count, accounts, seed)
    return ScalePortfolio(shards, write_accounts(folder / "accounts.csv", accounts, seed), documents_count, accounts)
