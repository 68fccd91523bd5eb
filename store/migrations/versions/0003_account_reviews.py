"""A person's review notes on an account (`undertow serve`'s review queue).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(255), nullable=False, index=True),
        sa.Column("as_of", sa.DateTime, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("reviewed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_reviews")
