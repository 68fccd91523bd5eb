"""One stored document per text_key, enforced by the database.

Two ingests sharing a database (two homes, two machines) each check the key before they store;
only a unique index stops both from storing the same words when they check at the same moment.
0.1 could store an edited document whose words matched another id's: the later of two such
documents keeps its row and loses its key, so the one stored first stays the one found.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE documents SET text_key = NULL
        WHERE text_key IS NOT NULL AND EXISTS (
            SELECT 1 FROM documents AS earlier
            WHERE earlier.text_key = documents.text_key
              AND (earlier.ingested_at < documents.ingested_at
                   OR (earlier.ingested_at = documents.ingested_at AND earlier.id < documents.id))
        )
        """
    )
    op.drop_index("ix_documents_text_key", "documents")
    op.create_index("ix_documents_text_key", "documents", ["text_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_documents_text_key", "documents")
    op.create_index("ix_documents_text_key", "documents", ["text_key"])
