"""Payment methods in writes: who pays a price difference, gift card balances, changing an order's payment.

A price difference is settled when the write that causes it commits: a charge to a gift card takes it off
the balance, a refund to a gift card adds it; a card or PayPal is charged or refunded outside this API
(the write records which method). Balances only move through conditional UPDATEs, so two writes racing for
one gift card can never take it below zero.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from commerce_api import schemas
from commerce_api.errors import ApiError
from commerce_api.formatting import money
from commerce_api.models import Order, PaymentMethod
from commerce_api.services.orders import cannot, load_order
from commerce_api.services.shop_policy import load_policy
from commerce_api.views import payment_view

GIFT_CARD = "gift_card"
BRANDS = {"card": "Card", "paypal": "PayPal", "gift_card": "Gift Card"}  # when the method has no brand on file


def invalid_payment_method(reason: str, message: str) -> ApiError:
    return ApiError(status_code=409, code="invalid_payment_method", reason=reason, message=message)


def _not_customers() -> ApiError:
    return invalid_payment_method("not_customers", "That payment method isn't one of the customer's own.")


def _insufficient_balance() -> ApiError:
    return invalid_payment_method("insufficient_balance", "That gift card's balance doesn't cover the amount.")


def customers_method(*, session: Session, customer_id: str, payment_method_id: str | None) -> PaymentMethod | None:
    if payment_method_id is None:
        return None
    return session.scalars(
        select(PaymentMethod).where(PaymentMethod.customer_id == customer_id, PaymentMethod.id == payment_method_id)
    ).first()


def method_for_difference(
    *, session: Session, order: Order, payment_method_id: str | None, difference_cents: int
) -> PaymentMethod | None:
    """The customer's method that pays (or is refunded) a price difference, checked; None only when there is
    nothing to settle and no method was given."""
    if payment_method_id is None:
        if difference_cents != 0:
            raise ApiError(
                status_code=409,
                code="payment_required",
                reason="payment_method_required",
                message="The new variants cost a different amount, so a payment method is needed for the difference.",
            )
        return None
    method = customers_method(session=session, customer_id=order.customer_id, payment_method_id=payment_method_id)
    if method is None:
        raise _not_customers()
    if difference_cents > 0 and method.method == GIFT_CARD and (method.balance_cents or 0) < difference_cents:
        raise _insufficient_balance()
    return method


def charge_gift_card(*, session: Session, method: PaymentMethod, amount_cents: int) -> None:
    """Take `amount_cents` off a gift card's balance, or 409 `insufficient_balance` (also under races)."""
    taken = session.execute(
        update(PaymentMethod)
        .where(
            PaymentMethod.customer_id == method.customer_id,
            PaymentMethod.id == method.id,
            PaymentMethod.balance_cents >= amount_cents,
        )
        .values(balance_cents=PaymentMethod.balance_cents - amount_cents)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise _insufficient_balance()
    session.expire(method, ["balance_cents"])


def credit_gift_card(*, session: Session, method: PaymentMethod, amount_cents: int) -> None:
    session.execute(
        update(PaymentMethod)
        .where(PaymentMethod.customer_id == method.customer_id, PaymentMethod.id == method.id)
        .values(balance_cents=func.coalesce(PaymentMethod.balance_cents, 0) + amount_cents)
        .execution_options(synchronize_session=False)
    )
    session.expire(method, ["balance_cents"])


def settle_difference(*, session: Session, method: PaymentMethod | None, difference_cents: int) -> None:
    """Charge a positive difference to `method`, refund a negative one; only a gift card's balance moves here."""
    if method is None or method.method != GIFT_CARD or difference_cents == 0:
        return
    if difference_cents > 0:
        charge_gift_card(session=session, method=method, amount_cents=difference_cents)
    else:
        credit_gift_card(session=session, method=method, amount_cents=-difference_cents)


def change_payment(*, session: Session, order_id: str, change: schemas.PaymentChange) -> schemas.PaymentChangeOut:
    """Pay a not yet shipped order with another of the customer's methods: the whole total moves to it.

    A new gift card is charged the total; the old method, when it is one of the customer's gift cards, gets
    the total back on its balance (a card or PayPal is refunded outside this API).
    """
    order = load_order(session=session, order_id=order_id, for_update=True)  # row lock: status can't change
    if order.status not in load_policy(session=session).item_change_statuses:
        raise cannot("cannot_change_payment", order.status, "paid with another method")
    customer_id = order.customer_id
    method = customers_method(session=session, customer_id=customer_id, payment_method_id=change.payment_method_id)
    if method is None:
        raise _not_customers()
    if method.id == order.payment_method_id:
        raise invalid_payment_method("unchanged", "The order is already paid with that payment method.")
    if method.method == GIFT_CARD:
        if (method.balance_cents or 0) < order.total_cents:
            raise _insufficient_balance()
        charge_gift_card(session=session, method=method, amount_cents=order.total_cents)
    old = customers_method(session=session, customer_id=customer_id, payment_method_id=order.payment_method_id)
    if old is not None and old.method == GIFT_CARD and order.payment_method == GIFT_CARD:
        credit_gift_card(session=session, method=old, amount_cents=order.total_cents)
    order.payment_method = method.method
    order.payment_brand = method.brand or BRANDS.get(method.method, method.method)
    order.payment_last4 = method.last4
    order.payment_method_id = method.id
    session.flush()
    return schemas.PaymentChangeOut(order_id=order.id, payment=payment_view(order), total=money(order.total_cents))
