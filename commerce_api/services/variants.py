"""The variant an order item may become (exchanges and item changes share the rules) and what that costs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce_api import schemas
from commerce_api.errors import ApiError
from commerce_api.models import OrderItem, ProductVariant
from commerce_api.views import variant_change_view


@dataclass(frozen=True)
class Swap:
    """One item and the variant of its product it becomes."""

    item: OrderItem
    variant: ProductVariant

    @property
    def difference_cents(self) -> int:
        """What the customer pays more (negative: gets back) for the new variant."""
        return self.variant.price_cents - self.item.price_cents

    def view(self) -> schemas.VariantChangeOut:
        """The change as the API shows it; call before the item is changed (its old options and price)."""
        return variant_change_view(
            self.item,
            old_options=self.item.options,
            old_price_cents=self.item.price_cents,
            new_variant_id=self.variant.id,
            new_options=self.variant.options,
            new_price_cents=self.variant.price_cents,
        )


def invalid_variant(reason: str, message: str, *, item_id: str) -> ApiError:
    return ApiError(status_code=409, code="invalid_variant", reason=reason, message=message, item_id=item_id)


def new_variant(*, session: Session, item: OrderItem, variant_id: str) -> ProductVariant:
    """The variant `variant_id` of the item's own product, in stock; else 409 `invalid_variant` naming the item."""
    if variant_id == item.variant_id:
        raise invalid_variant("same_variant", "The item already is that variant.", item_id=item.id)
    variant = session.get(ProductVariant, (item.product_id, variant_id)) if item.product_id is not None else None
    if variant is None:
        elsewhere = session.scalar(select(ProductVariant.product_id).where(ProductVariant.id == variant_id).limit(1))
        if elsewhere is not None:
            raise invalid_variant(
                "other_product",
                "That variant belongs to another product; an item can only become another variant of its own product.",
                item_id=item.id,
            )
        raise invalid_variant("unknown_variant", "We couldn't find that variant.", item_id=item.id)
    if not variant.available:
        raise invalid_variant("variant_unavailable", "That variant is sold out right now.", item_id=item.id)
    return variant


def price_difference(swaps: list[Swap]) -> int:
    """Sum of new minus old prices, in cents: positive is charged to the customer, negative refunded."""
    return sum(swap.difference_cents for swap in swaps)
