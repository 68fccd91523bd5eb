"""Stores are made and upgraded by Alembic revisions: a 0.1.0 home opens, a newer one is refused."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from undertow.store import migrations, schema
from undertow.store.records import RecordStore, engine_url

RELEASE_0_1 = Path(__file__).parent / "data" / "homes" / "v0_1"  # made by 0.1.0's RecordStore: see its README


def home_from_0_1(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(RELEASE_0_1 / "undertow.db", home / "undertow.db")
    return home / "undertow.db"


def schema_differences(url: str) -> list:
    """What Alembic's autogenerate would change to make the store match store/schema.py."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(engine_url(url))
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), schema.metadata)
    finally:
        engine.dispose()


def revision_of(url: str) -> str | None:
    engine = create_engine(engine_url(url))
    try:
        return revision_of_engine(engine)
    finally:
        engine.dispose()


def revision_of_engine(engine) -> str | None:
    with engine.connect() as conn:
        return migrations.current_revision(conn)


def test_the_revisions_make_what_schema_py_describes(record_url):
    RecordStore(record_url)
    assert schema_differences(record_url) == []
    assert revision_of(record_url) == migrations.HEAD


def test_a_store_in_memory_is_made_in_that_memory():
    records = RecordStore("sqlite://")
    records.add_feedback("a-1", "budget_pressure", True)
    assert revision_of_engine(records.engine) == migrations.HEAD and len(records.feedback()) == 1


def test_head_names_the_newest_revision():
    assert migrations.HEAD == migrations.scripts().get_current_head()


def test_a_home_made_by_0_1_is_backed_up_then_upgraded(home, settings):
    database = home_from_0_1(home)
    from undertow.store.home import Home

    records = Home(settings).records
    assert records.counts() == {"documents": 3, "accounts": 2, "flags": 2, "flagged_documents": 2, "feedback": 1, "failures": 1}
    assert [s["band"] for s in records.snapshots("acme")] == ["amber"] and records.feedback()[0]["author"] == "sam"
    assert revision_of(f"sqlite:///{database}") == migrations.HEAD and schema_differences(f"sqlite:///{database}") == []
    # 0.1 let an edited document take words another id had: the first stored keeps the key.
    keys = {row["id"]: row["text_key"] for row in records.iter_documents()}
    assert keys["acme-1"] and keys["acme-2"] is None

    (backup,) = home.glob("undertow.db.schema-0.1-*.bak")
    assert records.backup == backup and backup.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(backup) as old:
        tables = {name for (name,) in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "alembic_version" not in tables and old.execute("SELECT count(*) FROM documents").fetchone() == (3,)
        assert old.execute("SELECT count(text_key) FROM documents").fetchone() == (3,), "the backup is the store as it was"

    assert RecordStore(settings.sqlite_url).backup is None, "an up-to-date store is not copied again"
    assert len(list(home.glob("*.bak"))) == 1


def test_a_store_from_before_0_1s_late_columns_gains_them(home):
    database = home_from_0_1(home)
    with sqlite3.connect(database) as old:
        old.execute("DROP INDEX ix_documents_text_key")
        for table, column in (("documents", "text_key"), ("documents", "original_text"), ("score_snapshots", "review")):
            old.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    records = RecordStore(f"sqlite:///{database}")
    assert schema_differences(f"sqlite:///{database}") == []
    assert {row["text_key"] for row in records.iter_documents()} == {None}
    assert records.counts()["documents"] == 3


def test_a_failed_migration_leaves_the_store_as_it_was(home, monkeypatch):
    import alembic.op

    database = home_from_0_1(home)
    before = sqlite3.connect(database).execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(alembic.op, "create_table", disk_full)  # revision 0003, after 0002 changed the documents
    with pytest.raises(OSError, match="No space left"):
        RecordStore(f"sqlite:///{database}")
    with sqlite3.connect(database) as after:
        assert after.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before
        assert after.execute("SELECT count(text_key) FROM documents").fetchone() == (3,)


@pytest.mark.parametrize("via", ["sqlite", "postgresql"])
def test_a_store_made_by_a_newer_undertow_is_refused_in_one_line(settings, home, monkeypatch, via, request):
    url = settings.sqlite_url
    if via == "postgresql":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("UNDERTOW_DATABASE_URL", url)
    engine = create_engine(engine_url(url))
    RecordStore(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()

    from typer.testing import CliRunner

    from undertow.cli.app import app

    result = CliRunner().invoke(app, ["status"])
    message = result.output.strip()
    assert result.exit_code == 2 and len(message.splitlines()) == 1, result.output
    where = "undertow.db" if via == "sqlite" else url.rsplit("/", 1)[1]
    assert where in message and "newer undertow" in message and "9999" in message and "upgrade undertow" in message


@pytest.mark.slow
def test_processes_opening_an_old_store_at_once_upgrade_it_once(home):
    database = home_from_0_1(home)
    opener = "import sys; from undertow.store.records import RecordStore; RecordStore(sys.argv[1])"
    processes = [subprocess.Popen([sys.executable, "-c", opener, f"sqlite:///{database}"], stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], errors
    assert revision_of(f"sqlite:///{database}") == migrations.HEAD
    assert len(list(home.glob("*.bak"))) == 1, "only the process that migrated makes a backup"


def test_a_database_server_upgraded_in_place_is_said_once_with_what_it_means(postgres_url, caplog):
    RecordStore(postgres_url)
    engine = create_engine(engine_url(postgres_url))
    with engine.begin() as conn:  # as release 0002 left it
        conn.exec_driver_sql("DROP TABLE account_reviews")
        conn.exec_driver_sql("ALTER TABLE score_snapshots DROP COLUMN account_name")
        conn.exec_driver_sql("DROP INDEX ix_documents_account_names")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")
    engine.dispose()
    with caplog.at_level("WARNING", logger="undertow.store.migrations"):
        RecordStore(postgres_url)
        RecordStore(postgres_url)  # up to date now: nothing more to say
    [said] = [r.getMessage() for r in caplog.records if "upgraded the record store" in r.getMessage()]
    assert "from schema revision 0002 to" in said and "no backup" in said and "machines sharing it" in said
    assert revision_of(postgres_url) == migrations.HEAD
