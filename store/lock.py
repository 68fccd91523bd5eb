"""One writer at a time: a second run waits for nobody and says who holds the lock.

A home's lock is a file in it. When the records live in PostgreSQL, homes on other machines may
share them, so writers also take a PostgreSQL advisory lock: one key for the whole database,
seen by every home that uses it, and freed by the server when the holder's connection ends.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from undertow.atomic import atomic_write_text
from undertow.errors import UndertowError
from undertow.masking import mask_url
from undertow.private import private_writes

# pg_advisory_lock(namespace, key): the namespace keeps Undertow's keys apart from any other
# application's in a shared database ("UndT" as four bytes).
ADVISORY_NAMESPACE = 0x556E6454
WRITER_KEY = 1  # ingest, reclassify, feedback, doctor --rebuild-vectors
NIGHTLY_KEY = 2  # a whole nightly run, across its ingests and the scoring after them
MIGRATION_KEY = 3  # upgrading the record schema (held for one transaction)


class StoreBusy(UndertowError):
    """Another process holds the home's lock; the message names it."""


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


@contextmanager
def exclusive(home: Path, what: str, records_url: str | None = None) -> Iterator[None]:
    """The home's writer lock, and the database's when `records_url` is PostgreSQL."""
    with _home_file_lock(home, what), private_writes(home):
        if is_postgres(records_url):
            with advisory_lock(records_url, WRITER_KEY, what):
                yield
        else:
            yield


@contextmanager
def one_nightly(home: Path, records_url: str | None = None) -> Iterator[None]:
    """Each ingest holds the writer lock only while it reads, so two nightly runs could take turns
    source by source and both write the outputs; this lock keeps the second one out."""
    lock = FileLock(str(home / "nightly.lock"), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise StoreBusy(f"{home} is busy: another `undertow nightly` is running on it; this run did nothing") from None
    try:
        if is_postgres(records_url):
            with advisory_lock(records_url, NIGHTLY_KEY, "nightly", busy_note="; this run did nothing"):
                yield
        else:
            yield
    finally:
        lock.release()


@contextmanager
def _home_file_lock(home: Path, what: str) -> Iterator[None]:
    owner_path = home / "undertow.lock.owner"
    lock = FileLock(str(home / "undertow.lock"), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        owner = owner_path.read_text().strip() if owner_path.exists() else "another process"
        raise StoreBusy(
            f"{home} is busy: {owner} holds the lock; wait for it to finish (the lock frees itself if that process dies)"
        ) from None
    try:
        # Whole or absent: a second writer reads this file to say who holds the lock.
        atomic_write_text(owner_path, f"`undertow {what}` (pid {os.getpid()})")
        yield
    finally:
        lock.release()


def writer_now(home: Path) -> str | None:
    """Who holds the home's writer lock at this moment (None when no one): a reader such as
    `doctor` then knows the stores are mid-write rather than out of step."""
    lock = FileLock(str(home / "undertow.lock"), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        owner_path = home / "undertow.lock.owner"
        return owner_path.read_text().strip() if owner_path.exists() else "another process"
    lock.release()
    return None


def holder_name(what: str) -> str:
    """Who holds a lock, as other machines read it from pg_stat_activity (63 characters at most)."""
    return f"`undertow {what}` (pid {os.getpid()} on {socket.gethostname()})"[:63]


@contextmanager
def advisory_lock(records_url: str, key: int, what: str, busy_note: str = "") -> Iterator[None]:
    """A session-level advisory lock on its own connection, held for the block."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from undertow.store.records import engine_url

    engine = create_engine(engine_url(records_url), poolclass=NullPool, connect_args={"application_name": holder_name(what)})
    try:
        with engine.connect() as conn:
            taken = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": ADVISORY_NAMESPACE, "key": key}).scalar_one()
            conn.commit()  # the lock belongs to the session, not to this transaction
            if not taken:
                holder = _holder(conn, key) or "another process"
                raise StoreBusy(
                    f"the record store {mask_url(records_url)} is busy: {holder} holds its lock{busy_note}; "
                    "wait for it to finish (the lock frees itself if that process dies)"
                )
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": ADVISORY_NAMESPACE, "key": key})
                conn.commit()
    finally:
        engine.dispose()


def _holder(conn, key: int) -> str | None:
    from sqlalchemy import text

    # The two-argument form shows as classid = namespace, objid = key, objsubid = 2.
    return conn.execute(
        text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :ns AND l.objid = :key AND l.objsubid = 2 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"ns": ADVISORY_NAMESPACE, "key": key},
    ).scalar()
