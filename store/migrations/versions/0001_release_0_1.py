"""The record schema of release 0.1.0, which made its tables with create_all and no revision.

A store that has them is adopted as it is: tables it lacks are made, and the columns added
during 0.1's development (which 0.1 added on open) are added when missing.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen here: store/schema.py moves on, this revision must keep making what 0.1.0 made.
TABLES = {
    "documents": lambda: [
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("account_id", sa.String(255), nullable=False, index=True),
        sa.Column("account_name", sa.String(255), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("date", sa.DateTime, index=True),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("original_text", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("text_key", sa.String(64), index=True),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("embed_model", sa.String(128), nullable=False),
        sa.Column("sentence_spans", sa.Text, nullable=False),
        sa.Column("sentence_vectors", sa.LargeBinary, nullable=False),
        sa.Column("run_id", sa.Integer, index=True),
        sa.Column("ingested_at", sa.DateTime, nullable=False),
    ],
    "flags": lambda: [
        sa.Column("doc_id", sa.String(255), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("signal", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(255), nullable=False, index=True),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    ],
    "runs": lambda: [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False) for name in ("read", "new", "updated", "skipped", "failed")),
        sa.Column("seconds", sa.Float),
        sa.Column("detail", sa.Text, nullable=False),
    ],
    "failures": lambda: [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), index=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("line", sa.Integer),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
    ],
    "feedback": lambda: [
        sa.Column("doc_id", sa.String(255), primary_key=True),
        sa.Column("signal", sa.String(64), primary_key=True),
        sa.Column("present", sa.Boolean, nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    ],
    "score_snapshots": lambda: [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(255), nullable=False, index=True),
        sa.Column("as_of", sa.DateTime, nullable=False),
        sa.Column("quant_score", sa.Float),
        sa.Column("qual_risk", sa.Float),
        sa.Column("health_score", sa.Float),
        sa.Column("band", sa.String(8)),
        sa.Column("signals", sa.Text, nullable=False),
        sa.Column("review", sa.Text),
        sa.UniqueConstraint("account_id", "as_of", name="one_snapshot_per_day"),
    ],
}

# Columns 0.1's development added after its first stores were made.
LATE_COLUMNS = {
    "documents": [("original_text", sa.Text), ("text_key", sa.String(64))],
    "score_snapshots": [("review", sa.Text)],
}


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns in TABLES.items():  # in order: flags and failures refer to tables before them
        if name not in present:
            op.create_table(name, *columns())  # with its indexes, named ix_<table>_<column> as 0.1 named them
    for name, columns in LATE_COLUMNS.items():
        if name not in present:
            continue
        have = {column["name"] for column in sa.inspect(op.get_bind()).get_columns(name)}
        for column_name, kind in columns:
            if column_name not in have:
                op.add_column(name, sa.Column(column_name, kind))
                if column_name == "text_key":
                    op.create_index("ix_documents_text_key", name, ["text_key"])


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
