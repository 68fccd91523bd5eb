"""An index of each document's account id and name, so the list of accounts that every `ask`
reads comes from the index, not from rows that carry the text and sentence vectors.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_account_names", "documents", ["account_id", "account_name"])


def downgrade() -> None:
    op.drop_index("ix_documents_account_names", table_name="documents")
