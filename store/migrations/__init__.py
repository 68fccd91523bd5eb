"""Alembic migrations of the record schema: a store is brought to the newest revision when it opens.

A store made before migrations existed (release 0.1.0) has the tables but no alembic_version:
the first revision adopts it. A SQLite file is copied aside before any revision runs on it; a
store made by a newer Undertow is refused instead of guessed at. Two processes opening an old
store at once take turns: the second finds the work done.

A schema change is a new file in versions/ (tests/test_migrations.py fails until schema.py and
the revisions agree, and that HEAD below names the newest). `alembic.command.revision(config(url),
"what changed", autogenerate=True, rev_id="0006")` drafts the next one from a store at the head.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from undertow.errors import ConfigurationError
from undertow.masking import mask_url

log = logging.getLogger(__name__)

SCRIPTS = Path(__file__).parent
# The newest revision in versions/, written out so that opening an up-to-date store reads one row
# and imports nothing of Alembic (tests/test_migrations.py checks it against the scripts).
HEAD = "0005"


def config(url: str | None = None, connection: Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def current_revision(conn: Connection) -> str | None:
    """The store's revision; None for an empty store or one made by 0.1.0."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def bring_up_to_date(engine: Engine) -> Path | None:
    """Migrate the store behind `engine` to the newest revision; the SQLite backup made, if any."""
    with engine.connect() as conn:
        current = current_revision(conn)
    newest = HEAD
    if current == newest:
        return None
    if current is not None and current not in {script.revision for script in scripts().walk_revisions()}:
        raise ConfigurationError(
            f"the record store {mask_url(engine.url.render_as_string(hide_password=False))} was made by a newer undertow "
            f"(schema revision {current}, this one knows up to {newest}): upgrade undertow to open it"
        )
    backup = None
    with _migration_transaction(engine) as conn:
        # Inside the lock: another process may have migrated while this one waited.
        current = current_revision(conn)
        if current == newest:
            return None
        existing = bool(inspect(conn).get_table_names())
        if engine.dialect.name == "sqlite" and existing:
            # Nobody can write while this transaction holds the lock: the copy is the store as it was.
            backup = _backup_sqlite(engine.url.database, current)
        from alembic import command

        command.upgrade(config(connection=conn), "head")
    if backup is not None:
        log.warning("upgraded the record store %s to schema revision %s; the previous file is kept as %s", engine.url.database, newest, backup)
    elif existing and engine.dialect.name != "sqlite":
        # No copy of a server's database is made here, and every machine sharing it now needs
        # this release: said once, by the machine that upgraded it.
        log.warning("upgraded the record store %s from schema revision %s to %s (no backup is made of a database server: "
                    "take one first, e.g. pg_dump); machines sharing it need this release of undertow too",
                    mask_url(engine.url.render_as_string(hide_password=False)), current, newest)
    return backup


@contextmanager
def _migration_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for every revision, that one process at a time holds: a failed migration
    leaves the store as it was (SQLite and PostgreSQL both roll back schema changes)."""
    url = engine.url
    if engine.dialect.name == "sqlite" and url.database in (None, "", ":memory:"):
        with engine.begin() as conn:  # a database in this process's memory: the engine's own, nobody to wait for
            yield conn
        return
    if engine.dialect.name == "sqlite":
        migrator = create_engine(url, poolclass=NullPool, connect_args={"timeout": 60})

        @event.listens_for(migrator, "connect")
        def _driver_leaves_transactions_to_us(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        @event.listens_for(migrator, "begin")
        def _write_lock_from_the_start(conn):
            # IMMEDIATE: the second process waits here, not halfway through a revision.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        migrator = create_engine(url, poolclass=NullPool)
    try:
        with migrator.begin() as conn:
            if migrator.dialect.name == "postgresql":
                from undertow.store.lock import ADVISORY_NAMESPACE, MIGRATION_KEY

                conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": ADVISORY_NAMESPACE, "key": MIGRATION_KEY})
            yield conn
    finally:
        migrator.dispose()


def _backup_sqlite(database: str | None, revision: str | None) -> Path | None:
    """A copy of the file next to it, made with SQLite's backup API (safe while others read)."""
    if not database or database == ":memory:" or not Path(database).exists():
        return None
    source = Path(database)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = source.with_name(f"{source.name}.schema-{revision or '0.1'}-{stamp}.bak")
    # Customer text: readable by the owner only, from the moment the file exists.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    reader, writer = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()
    return target
