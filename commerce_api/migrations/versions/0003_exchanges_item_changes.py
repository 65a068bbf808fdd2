"""Exchanges and item changes: exchange columns on `returns` and `return_items`, the policy's item-change statuses.

Unlike 0002 this keeps every row: columns are only added (nullable, or with a server default), so existing
returns become returns of kind "return" and a seeded policy without `item_change_statuses` means
["processing"] (commerce_api/services/shop_policy.py). On SQLite these are plain ALTER TABLE ADD COLUMNs,
no table copies (a copy of `returns` would trip the foreign keys of `return_items`).

An exchange is a `returns` row of kind "exchange" with its lines in `return_items`: the unique
(order_id, item_id) there keeps one open return or exchange per item.

Revision ID: 0003_exchanges_item_changes
Revises: 0002_shops_multi_item_returns
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_exchanges_item_changes"
down_revision = "0002_shops_multi_item_returns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("returns", sa.Column("kind", sa.String(16), nullable=False, server_default="return"))
    op.add_column("returns", sa.Column("payment_method_id", sa.String(64), nullable=True))
    op.add_column("returns", sa.Column("price_difference_cents", sa.Integer(), nullable=True))
    op.add_column("return_items", sa.Column("new_variant_id", sa.String(64), nullable=True))
    op.add_column("return_items", sa.Column("new_options", sa.JSON(), nullable=True))
    op.add_column("return_items", sa.Column("new_price_cents", sa.Integer(), nullable=True))
    op.add_column("shop_policy", sa.Column("item_change_statuses", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Back to 0002: exchanges are deleted (0002 would read them as returns), returns and the rest kept.
    Item changes already made stay (they are the orders' items now). SQLite 3.35+ drops columns in place."""
    exchanges = sa.table("returns", sa.column("id"), sa.column("kind"))
    lines = sa.table("return_items", sa.column("return_id"))
    exchange_ids = sa.select(exchanges.c.id).where(exchanges.c.kind == "exchange")
    op.execute(lines.delete().where(lines.c.return_id.in_(exchange_ids)))
    op.execute(exchanges.delete().where(exchanges.c.kind == "exchange"))
    op.drop_column("shop_policy", "item_change_statuses")
    op.drop_column("return_items", "new_price_cents")
    op.drop_column("return_items", "new_options")
    op.drop_column("return_items", "new_variant_id")
    op.drop_column("returns", "price_difference_cents")
    op.drop_column("returns", "payment_method_id")
    op.drop_column("returns", "kind")
