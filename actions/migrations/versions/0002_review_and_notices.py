"""Recovery: when a confirmation claimed a row, rows a person must review, and notices owed to a conversation.

Additive only, so every audit row stays as it was: `staged_actions.confirmed_at` (null for rows
confirmed before it existed), `staged_actions.needs_review` (false for every existing row, through
its server default), and the table `conversation_notices`.

Revision ID: 0002_review_and_notices
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_review_and_notices"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staged_actions", sa.Column("confirmed_at", sa.DateTime(), nullable=True))
    op.add_column("staged_actions",
                  sa.Column("needs_review", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "conversation_notices",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("staged_action_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_conversation_notices_pending", "conversation_notices", ["conversation_id", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_conversation_notices_pending", table_name="conversation_notices")
    op.drop_table("conversation_notices")
    # SQLite cannot drop a column in place: batch mode copies the table without it.
    with op.batch_alter_table("staged_actions") as batch:
        batch.drop_column("needs_review")
        batch.drop_column("confirmed_at")
