"""The agent inbox: who was handed over, and when a person handed the conversation back.

Additive only: `handoff_requests.customer_id` (the verified customer at the time, if any),
`closed_at` and `closed_by` (null for every existing row: still waiting), and an index for the
inbox's list of waiting conversations.

Revision ID: 0003_handoff_inbox
Revises: 0002_review_and_notices
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_handoff_inbox"
down_revision = "0002_review_and_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("handoff_requests", sa.Column("customer_id", sa.String(64), nullable=True))
    op.add_column("handoff_requests", sa.Column("closed_at", sa.DateTime(), nullable=True))
    op.add_column("handoff_requests", sa.Column("closed_by", sa.String(64), nullable=True))
    op.create_index("ix_handoff_requests_open", "handoff_requests", ["closed_at", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_handoff_requests_open", table_name="handoff_requests")
    # SQLite cannot drop a column in place: batch mode copies the table without it.
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_column("closed_by")
        batch.drop_column("closed_at")
        batch.drop_column("customer_id")
