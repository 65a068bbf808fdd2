"""Return-policy rules and the shop's policy.

The rules (pure functions): a window (RETURN_WINDOW_DAYS, 30 by default) from delivery, final-sale items
excluded, one return per item. The shop's policy (`ShopPolicy`) is data of the seeded shop: where refunds
may go, how long they take, and which order statuses allow cancelling, re-addressing, or changing the items
and the payment method.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

REFUND_METHODS = ("original_payment", "store_credit", "gift_card")  # every destination the contract knows


@dataclass(frozen=True)
class RefundDays:
    """Business days from the warehouse receiving the item to the refund reaching its destination."""

    min: int
    max: int


@dataclass(frozen=True)
class ShopPolicy:
    shop: str
    refund_methods: tuple[str, ...]
    refund_days: dict[str, RefundDays]
    cancellable_statuses: tuple[str, ...] = ("processing",)
    address_change_statuses: tuple[str, ...] = ("processing",)
    item_change_statuses: tuple[str, ...] = ("processing",)  # PATCH /orders/{id}/items and /payment
    currency: str = "USD"

    def allows(self, refund_method: str) -> bool:
        return refund_method in self.refund_methods


# The demo shop's policy (ARCHITECTURE.md): refunds to the original payment method or as store credit.
# It is also what an API with no seeded policy row answers, which is how the API behaved before policies
# were data.
DEMO_POLICY = ShopPolicy(
    shop="demo",
    refund_methods=("original_payment", "store_credit"),
    refund_days={"original_payment": RefundDays(5, 10), "store_credit": RefundDays(5, 10)},
)


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str | None
    message: str
    deadline: date | None
    refund_methods: tuple[str, ...]


def return_deadline(*, delivered_at: datetime | None, window_days: int) -> date | None:
    """Last calendar day (UTC) on which a return may be started; inclusive."""
    return None if delivered_at is None else delivered_at.date() + timedelta(days=window_days)


def evaluate_return(
    *,
    order_status: str,
    delivered_at: datetime | None,
    final_sale: bool,
    already_returned: bool,
    today: date,
    window_days: int,
    refund_methods: tuple[str, ...] = DEMO_POLICY.refund_methods,
    already_exchanged: bool = False,
) -> Eligibility:
    """Decide whether an item can be returned (or exchanged) today. Checks run from most to least permanent
    reason. An item in an exchange is `already_returned` too (one open request per item), said as such."""
    deadline = return_deadline(delivered_at=delivered_at, window_days=window_days)

    def no(reason: str, message: str) -> Eligibility:
        return Eligibility(False, reason, message, deadline, ())

    if order_status == "cancelled":
        return no("order_cancelled", "This order was cancelled, so there is nothing to return.")
    if already_returned or already_exchanged:
        started = "An exchange" if already_exchanged else "A return"
        return no("already_returned", f"{started} has already been started for this item.")
    if final_sale:
        return no("final_sale", "This item was sold as final sale and cannot be returned.")
    if order_status != "delivered" or deadline is None:
        return no("not_delivered", "This item hasn't been delivered yet; returns open once it arrives.")
    if today > deadline:
        return no(
            "outside_return_window",
            f"The {window_days}-day return window for this item closed on {deadline.isoformat()}.",
        )
    return Eligibility(
        True,
        None,
        f"This item can be returned until {deadline.isoformat()}.",
        deadline,
        refund_methods,
    )
