"""Tables of the record store. SQLAlchemy Core keeps one schema for SQLite and PostgreSQL.

A change here needs a revision in store/migrations/versions: stores are made and upgraded by the
revisions, never from these tables (tests/test_migrations.py checks that the two agree)."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
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
    # Unique, so two ingests sharing a database cannot both store it (NULL in rows made before 0.1).
    Column("text_key", String(64), index=True, unique=True),
    Column("origin", Text, nullable=False, default=""),
    Column("embed_model", String(128), nullable=False),
    # Sentence spans and their vectors, so retraining re-classifies without re-embedding.
    Column("sentence_spans", Text, nullable=False),
    Column("sentence_vectors", LargeBinary, nullable=False),
    Column("run_id", Integer, index=True),
    Column("ingested_at", DateTime, nullable=False),
    # Every `ask` lists the accounts (id, name, document count): read from this index alone, not
    # from rows that carry the text and vectors (0.54 s a question at 150,000 documents).
    Index("ix_documents_account_names", "account_id", "account_name"),
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
    # The export's name that day: documents often carry none (revision 0004).
    Column("account_name", String(255)),
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

# A person's review of an account (`undertow serve`'s review queue), kept with the snapshot of the
# day it was of by (account_id, as_of). A table of its own, not columns on score_snapshots: a
# second `annotate` the same day replaces that day's snapshot rows, and must not lose the notes.
account_reviews = Table(
    "account_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(255), nullable=False, index=True),
    Column("as_of", DateTime, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("author", String(255), nullable=False, default=""),
    Column("reviewed_at", DateTime, nullable=False),
)

