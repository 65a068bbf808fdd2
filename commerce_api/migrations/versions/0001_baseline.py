"""Baseline: the commerce API's tables as the last release before migrations made them (commit 77edf9d).

The tables are written out here as they were then, never imported from commerce_api.models (which move
on), and created with `create_all(checkfirst=True)`: on an empty database that is exactly the old
`create_schema`; on a database it already made (no version table yet) every table exists, nothing is
touched, and the database is adopted at this revision.

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

sa.Table(
    "customers",
    baseline,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
)

sa.Table(
    "orders",
    baseline,
    sa.Column("id", sa.String(12), primary_key=True),
    sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("placed_at", sa.DateTime(), nullable=False),
    sa.Column("shipped_at", sa.DateTime(), nullable=True),
    sa.Column("delivered_at", sa.DateTime(), nullable=True),
    sa.Column("cancelled_at", sa.DateTime(), nullable=True),
    sa.Column("cancel_reason", sa.String(500), nullable=True),
    sa.Column("expected_ship_date", sa.Date(), nullable=True),
    sa.Column("total_cents", sa.Integer(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("payment_method", sa.String(16), nullable=False),
    sa.Column("payment_brand", sa.String(32), nullable=False),
    sa.Column("payment_last4", sa.String(4), nullable=True),
    sa.Column("ship_name", sa.String(120), nullable=False),
    sa.Column("ship_street", sa.String(120), nullable=False),
    sa.Column("ship_city", sa.String(80), nullable=False),
    sa.Column("ship_postal_code", sa.String(16), nullable=False),
    sa.Column("ship_country", sa.String(2), nullable=False),
    sa.Column("refund_status", sa.String(16), nullable=True),
    sa.Column("refund_amount_cents", sa.Integer(), nullable=True),
    sa.Column("refund_method", sa.String(32), nullable=True),
    sa.Column("refunded_at", sa.DateTime(), nullable=True),
)

sa.Table(
    "order_items",
    baseline,
    sa.Column("id", sa.String(20), primary_key=True),
    sa.Column("order_id", sa.String(12), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("size", sa.String(16), nullable=True),
    sa.Column("price_cents", sa.Integer(), nullable=False),
    sa.Column("final_sale", sa.Boolean(), nullable=False),
)

sa.Table(
    "returns",
    baseline,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("order_id", sa.String(12), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("item_id", sa.String(20), sa.ForeignKey("order_items.id"), nullable=False, unique=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("refund_method", sa.String(32), nullable=False),
    sa.Column("refund_amount_cents", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("refund_status", sa.String(16), nullable=False),
    sa.Column("label_reference", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("refunded_at", sa.DateTime(), nullable=True),
)

sa.Table(
    "shipments",
    baseline,
    sa.Column("tracking_number", sa.String(40), primary_key=True),
    sa.Column("order_id", sa.String(12), sa.ForeignKey("orders.id"), nullable=False, unique=True),
    sa.Column("carrier", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("estimated_delivery", sa.Date(), nullable=True),
)

sa.Table(
    "tracking_events",
    baseline,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "tracking_number", sa.String(40), sa.ForeignKey("shipments.tracking_number"), nullable=False, index=True
    ),
    sa.Column("occurred_at", sa.DateTime(), nullable=False),
    sa.Column("location", sa.String(120), nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
)

sa.Table(
    "idempotency_keys",
    baseline,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("route", sa.String(300), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("response_status", sa.Integer(), nullable=True),
    sa.Column("response_body", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("completed_at", sa.DateTime(), nullable=True),
)


def upgrade() -> None:
    baseline.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    baseline.drop_all(op.get_bind(), checkfirst=True)
