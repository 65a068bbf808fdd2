"""Baseline: the ledger as the last release before migrations made it (create_all of commit 77edf9d).

The tables are written out here as they were then, never imported from actions.ledger (whose
models move on), and created with `create_all(checkfirst=True)`: on an empty database that is
exactly the old first-use `create_all`; on a database that first use already made (no version
table yet) every table exists, nothing is touched, and the database is adopted at this revision.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

baseline = sa.MetaData()

staged_actions = sa.Table(
    "staged_actions",
    baseline,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(32), nullable=False),
    sa.Column("action_name", sa.String(64), nullable=False),
    sa.Column("arguments", sa.JSON, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("audit_summary", sa.Text, nullable=False),
    sa.Column("redacted_arguments", sa.JSON, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_staged_actions_conversation", "conversation_id", "created_at"),
    sa.Index("ix_staged_actions_order", "order_id"),
)

handoff_requests = sa.Table(
    "handoff_requests",
    baseline,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(32), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)


def upgrade() -> None:
    baseline.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    baseline.drop_all(op.get_bind(), checkfirst=True)
