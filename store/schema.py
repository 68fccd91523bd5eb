"""Tables of the record store. SQLAlchemy Core keeps one schema for SQLite and PostgreSQL."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

documents = Table(
    "documents",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("account_id", String(255), nullable=False, index=True),
    Column("account_name", String(255), nullable=False, default=""),
    Column("source", String(32), nullable=False),
    Column("date", DateTime, index=True),
    Column("author", String(255), nullable=False, default=""),
    Column("language", String(8), nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("text", Text, nullable=False),
    # The source's text when it differs from `text` (quoted replies, signatures, invisible characters).
    Column("original_text", Text),
    Column("content_hash", String(64), nullable=False),
    # Account, day and words: finds the same document stored under another id by another export.
    Column("text_key", String(64), index=True),
    Column("origin", Text, nullable=False, default=""),
    Column("embed_model", String(128), nullable=False),
    # Sentence spans and their vectors, so retraining re-classifies without re-embedding.
    Column("sentence_spans", Text, nullable=False),
    Column("sentence_vectors", LargeBinary, nullable=False),
    Column("run_id", Integer, index=True),
    Column("ingested_at", DateTime, nullable=False),
)

flags = Table(
    "flags",
    metadata,
    Column("doc_id", String(255), ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    Column("signal", String(64), primary_key=True),
    Column("account_id", String(255), nullable=False, index=True),
    Column("confidence", Float, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON list of {"quote", "start", "end"}
    Column("backend", String(32), nullable=False),
    Column("model_version", String(128), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False),  # running | ok | failed | interrupted
    Column("read", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("seconds", Float),
    Column("detail", Text, nullable=False, default=""),
)

failures = Table(
    "failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id"), index=True),
    Column("path", Text, nullable=False),
    Column("line", Integer),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False, default=""),
)

feedback = Table(
    "feedback",
    metadata,
    Column("doc_id", String(255), primary_key=True),
    Column("signal", String(64), primary_key=True),
    Column("present", Boolean, nullable=False),
    Column("author", String(255), nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
)

score_snapshots = Table(
    "score_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(255), nullable=False, index=True),
    Column("as_of", DateTime, nullable=False),
    Column("quant_score", Float),
    Column("qual_risk", Float),
    Column("health_score", Float),
    Column("band", String(8)),
    Column("signals", Text, nullable=False, default=""),
    # JSON list of the review triggers `annotate` gave ({"kind", "reason"}), so `ask` says the same.
    Column("review", Text),
    UniqueConstraint("account_id", "as_of", name="one_snapshot_per_day"),
)


# Columns added after the first release, with their types: a home made by an older version gains
# them on first use. (Migrations proper are the job of Alembic once the schema moves more.)
_ADDED_COLUMNS = {"documents": {"original_text": "TEXT", "text_key": "VARCHAR(64)"}, "score_snapshots": {"review": "TEXT"}}


def upgrade(engine) -> None:
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    for table, columns in _ADDED_COLUMNS.items():
        present = {column["name"] for column in inspector.get_columns(table)}
        missing = {name: kind for name, kind in columns.items() if name not in present}
        if not missing:
            continue
        with engine.begin() as conn:
            for name, kind in missing.items():
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))
            if "text_key" in missing:
                conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{table}_text_key ON {table} (text_key)"))
