"""Shops: payment methods, products, the shop's policy, verification limits, multi-item returns.

REBUILDS every table but `idempotency_keys`: their rows are lost. This is the reference API's demo and
τ-bench data, which `make seed` (and COMMERCE_SEED_ON_START=if_empty, the default) loads again, and the
change is too wide to carry rows across for no one: order and item ids widen, items get a composite key
(order, item) because τ-bench reuses item ids across orders, a return's items move to `return_items`, and
customers get look-up keys and an address. A shop's real data lives in the shop's own API, never here.
`idempotency_keys` is unchanged and kept. Tables that do not exist are skipped, so a database the
working tree's `create_all` made between the two releases (no version table) comes out the same.

Revision ID: 0002_shops_multi_item_returns
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0002_shops_multi_item_returns"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

# Children before parents (PostgreSQL refuses to drop a table another one's foreign key points at).
REBUILT = (
    "return_items", "tracking_events", "shipments", "returns", "order_items", "payment_methods", "orders",
    "product_variants", "products", "shop_policy", "verify_failures", "customers",
)


def drop_existing() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for table in REBUILT:
        if table in existing:
            op.drop_table(table)


def upgrade() -> None:
    drop_existing()
    op.create_table(
        "customers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False),
        sa.Column("name_key", sa.String(120), nullable=False),
        sa.Column("address_street", sa.String(120), nullable=True),
        sa.Column("address_line2", sa.String(120), nullable=True),
        sa.Column("address_city", sa.String(80), nullable=True),
        sa.Column("address_state", sa.String(80), nullable=True),
        sa.Column("address_postal_code", sa.String(16), nullable=True),
        sa.Column("address_country", sa.String(2), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customers_email_key", "customers", ["email_key"])
    op.create_index("ix_customers_name_key", "customers", ["name_key"])
    op.create_table(
        "products",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_products_name", "products", ["name"])
    op.create_table(
        "shop_policy",
        sa.Column("shop", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("refund_methods", sa.JSON(), nullable=False),
        sa.Column("refund_days", sa.JSON(), nullable=False),
        sa.Column("cancellable_statuses", sa.JSON(), nullable=False),
        sa.Column("address_change_statuses", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("shop"),
    )
    op.create_table(
        "verify_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verify_failures_failed_at", "verify_failures", ["failed_at"])
    op.create_index("ix_verify_failures_subject_time", "verify_failures", ["subject", "failed_at"])
    op.create_table(
        "orders",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
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
        sa.Column("payment_method_id", sa.String(64), nullable=True),
        sa.Column("ship_name", sa.String(120), nullable=False),
        sa.Column("ship_street", sa.String(120), nullable=False),
        sa.Column("ship_address2", sa.String(120), nullable=True),
        sa.Column("ship_city", sa.String(80), nullable=False),
        sa.Column("ship_state", sa.String(80), nullable=True),
        sa.Column("ship_postal_code", sa.String(16), nullable=False),
        sa.Column("ship_country", sa.String(2), nullable=False),
        sa.Column("refund_status", sa.String(16), nullable=True),
        sa.Column("refund_amount_cents", sa.Integer(), nullable=True),
        sa.Column("refund_method", sa.String(32), nullable=True),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])
    op.create_index("ix_orders_customer_placed", "orders", ["customer_id", "placed_at"])
    op.create_table(
        "payment_methods",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("brand", sa.String(32), nullable=True),
        sa.Column("last4", sa.String(4), nullable=True),
        sa.Column("balance_cents", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("customer_id", "id"),
    )
    op.create_table(
        "product_variants",
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("product_id", "id"),
    )
    op.create_table(
        "order_items",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=True),
        sa.Column("variant_id", sa.String(64), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("size", sa.String(32), nullable=True),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("final_sale", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("order_id", "id"),
    )
    op.create_table(
        "returns",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("refund_method", sa.String(32), nullable=False),
        sa.Column("gift_card_id", sa.String(64), nullable=True),
        sa.Column("refund_amount_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("refund_status", sa.String(16), nullable=False),
        sa.Column("label_reference", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_returns_order_id", "returns", ["order_id"])
    op.create_table(
        "shipments",
        sa.Column("tracking_number", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("estimated_delivery", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("tracking_number"),
        sa.UniqueConstraint("order_id"),
    )
    op.create_table(
        "return_items",
        sa.Column("return_id", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("refund_amount_cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id", "item_id"], ["order_items.order_id", "order_items.id"]),
        sa.ForeignKeyConstraint(["return_id"], ["returns.id"]),
        sa.PrimaryKeyConstraint("return_id", "position"),
        sa.UniqueConstraint("order_id", "item_id", name="uq_return_items_order_item"),
    )
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tracking_number", sa.String(40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("location", sa.String(120), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["tracking_number"], ["shipments.tracking_number"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tracking_events_tracking_number", "tracking_events", ["tracking_number"])


def downgrade() -> None:
    """Back to the baseline's (empty) tables: the same rebuild the other way; `make seed` of that release."""
    drop_existing()
    baseline = context.script.get_revision(down_revision).module.baseline
    baseline.create_all(op.get_bind(), checkfirst=True)
