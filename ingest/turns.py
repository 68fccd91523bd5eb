"""Ingest runs on several homes that share one PostgreSQL database write in turns, a batch each.

Holding the database's writer lock for a whole run would make a second machine wait out the
first one's embedding, which is most of a run; so an ingest holds it only while it checks what
the store already has and writes one batch, and waits for its turn instead of giving up. Other
writers (reclassify, feedback, doctor) still take the same lock for their whole run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from undertow.store.lock import ADVISORY_NAMESPACE, WRITER_KEY, holder_name, is_postgres

POLL_SECONDS = 0.02


class WriterTurns:
    """A context manager; `turn()` is one batch's hold of the shared store's writer lock
    (nothing at all for a store no other home shares)."""

    def __init__(self, records_url: str | None, what: str, on_wait: Callable[[str], None] = lambda _: None):
        self.records_url = records_url if is_postgres(records_url) else None
        self.what = what
        self.on_wait = on_wait
        self._engine = self._conn = None
        self._told = False

    def __enter__(self) -> "WriterTurns":
        if self.records_url:
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            from undertow.store.records import engine_url

            # One session for the run: an advisory lock belongs to the connection that took it,
            # and other homes read this one's application_name to say who is writing.
            self._engine = create_engine(
                engine_url(self.records_url), poolclass=NullPool, connect_args={"application_name": holder_name(self.what)}
            )
            self._conn = self._engine.connect()
        return self

    def __exit__(self, *_exc) -> None:
        if self._conn is not None:
            self._conn.close()  # frees the lock if an error left it taken
            self._engine.dispose()

    @contextmanager
    def turn(self) -> Iterator[None]:
        if self._conn is None:
            yield
            return
        while not self._call("pg_try_advisory_lock"):
            if not self._told:  # once a run: another home writing is normal, not news every batch
                self._told = True
                self.on_wait(f"waiting for the shared record store's writer lock ({self._holder() or 'another process'} is writing)")
            time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            self._call("pg_advisory_unlock")

    def _call(self, function: str) -> bool:
        from sqlalchemy import text

        taken = self._conn.execute(text(f"SELECT {function}(:ns, :key)"), {"ns": ADVISORY_NAMESPACE, "key": WRITER_KEY}).scalar_one()
        self._conn.commit()  # the lock belongs to the session, not to this transaction
        return bool(taken)

    def _holder(self) -> str | None:
        from undertow.store.lock import _holder

        return _holder(self._conn, WRITER_KEY)
