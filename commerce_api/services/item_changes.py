"""Changing items of an order that has not shipped to other variants of their products (sizes, colours)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from commerce_api import schemas
from commerce_api.formatting import money
from commerce_api.services.orders import cannot, find_item, load_order
from commerce_api.services.payments import method_for_difference, settle_difference
from commerce_api.services.shop_policy import load_policy
from commerce_api.services.variants import Swap, new_variant, price_difference


def change_items(*, session: Session, order_id: str, change: schemas.ItemChange) -> schemas.ItemChangeOut:
    """All or nothing: each item becomes its new variant (ids kept), the total moves by the difference, which
    is charged to (or refunded to) the given payment method."""
    order = load_order(session=session, order_id=order_id, for_update=True)  # row lock: status can't change
    items = [find_item(order, line.item_id) for line in change.items]  # 404 names the first unknown
    if order.status not in load_policy(session=session).item_change_statuses:
        raise cannot("cannot_change_items", order.status, "changed")
    swaps = [
        Swap(item, new_variant(session=session, item=item, variant_id=line.new_variant_id))
        for item, line in zip(items, change.items, strict=True)
    ]  # the first item with a bad variant refuses the whole change
    difference = price_difference(swaps)
    method = method_for_difference(
        session=session, order=order, payment_method_id=change.payment_method_id, difference_cents=difference
    )
    changed = [swap.view() for swap in swaps]
    for swap in swaps:
        options = {str(k): str(v) for k, v in (swap.variant.options or {}).items()}
        swap.item.variant_id = swap.variant.id
        swap.item.options = options
        swap.item.size = options.get("size")
        swap.item.price_cents = swap.variant.price_cents
    order.total_cents += difference
    settle_difference(session=session, method=method, difference_cents=difference)
    session.flush()
    return schemas.ItemChangeOut(
        order_id=order.id,
        items=changed,
        price_difference=money(difference),
        payment_method_id=method.id if method else None,
        total=money(order.total_cents),
    )
