"""The account's name as the accounts export gave it, kept with each score snapshot, so the digest
and the review queue can name accounts whose documents carry no name.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("score_snapshots") as batch:
        batch.add_column(sa.Column("account_name", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("score_snapshots") as batch:
        batch.drop_column("account_name")
