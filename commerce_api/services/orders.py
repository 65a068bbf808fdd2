"""Orders: look-up, return eligibility of one item, cancellation and re-addressing (and the address check
every address write shares). Items and payment changes: services/item_changes.py, services/payments.py."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from commerce_api import ids, schemas
from commerce_api.addresses import Address, AddressValidationError, validate_address
from commerce_api.errors import ApiError, not_found
from commerce_api.formatting import iso_date, iso_time, money
from commerce_api.models import EXCHANGE, Order, OrderItem, ReturnItem
from commerce_api.policy import DEMO_POLICY, Eligibility, evaluate_return
from commerce_api.services.shop_policy import load_policy
from commerce_api.views import address_of, order_view

CANNOT_REASONS = {"shipped": "already_shipped", "delivered": "already_delivered", "cancelled": "already_cancelled"}


def order_not_found() -> ApiError:
    # Never echo the raw (possibly hostile) identifier back.
    return not_found("order_not_found", "We couldn't find an order with that number.")


def item_not_found(item_id: str | None = None) -> ApiError:
    extra = {"item_id": item_id} if item_id is not None and ids.is_item_id(item_id) else {}
    return ApiError(status_code=404, code="item_not_found", message="That item isn't part of this order.", **extra)


def check_order_id(order_id: str) -> None:
    """A malformed order number is "not found" before it ever reaches SQL."""
    if not ids.is_order_id(order_id):
        raise order_not_found()


def order_view_options() -> list:
    # The to-one relations ride along in the order's own query and the items bring their return with
    # them: two round trips for the whole view instead of five (the API's most frequent request).
    return [
        joinedload(Order.customer),
        joinedload(Order.shipment),
        selectinload(Order.items).joinedload(OrderItem.return_line).joinedload(ReturnItem.ret),
    ]


def load_order(*, session: Session, order_id: str, for_update: bool = False) -> Order:
    check_order_id(order_id)
    stmt = select(Order).where(Order.id == order_id).options(*order_view_options())
    if for_update:
        stmt = stmt.with_for_update(of=Order)
    order = session.scalars(stmt).first()
    if order is None:
        raise order_not_found()
    return order


def find_item(order: Order, item_id: str) -> OrderItem:
    if ids.is_item_id(item_id):
        for item in order.items:
            if item.id == item_id:
                return item
    raise item_not_found(item_id)


def item_verdict(
    order: Order,
    item: OrderItem,
    *,
    today: date,
    window_days: int,
    refund_methods: tuple[str, ...] = DEMO_POLICY.refund_methods,
) -> Eligibility:
    """Can `item` be returned (or exchanged) today? An item already in a return or an exchange cannot."""
    line = item.return_line
    exchanged = line is not None and line.ret.kind == EXCHANGE
    return evaluate_return(
        order_status=order.status,
        delivered_at=order.delivered_at,
        final_sale=item.final_sale,
        already_returned=line is not None and not exchanged,
        already_exchanged=exchanged,
        today=today,
        window_days=window_days,
        refund_methods=refund_methods,
    )


def get_order(*, session: Session, order_id: str) -> schemas.OrderOut:
    return order_view(load_order(session=session, order_id=order_id))


def return_eligibility(
    *, session: Session, order_id: str, item_id: str, today: date, window_days: int
) -> schemas.EligibilityOut:
    order = load_order(session=session, order_id=order_id)
    item = find_item(order, item_id)
    verdict = item_verdict(
        order, item, today=today, window_days=window_days, refund_methods=load_policy(session=session).refund_methods
    )
    return schemas.EligibilityOut(
        eligible=verdict.eligible,
        reason=verdict.reason,  # type: ignore[arg-type]
        message=verdict.message,
        refund_amount=money(item.price_cents),
        currency=order.currency,
        deadline=iso_date(verdict.deadline),
        refund_methods=list(verdict.refund_methods),  # type: ignore[arg-type]
    )


def cannot(code: str, status: str, action: str) -> ApiError:
    """409 `code` for an order whose status no longer allows a write (cancel, re-address, items, payment)."""
    reason = CANNOT_REASONS.get(status, "already_shipped")
    words = reason.replace("_", " ")
    return ApiError(
        status_code=409,
        code=code,
        reason=reason,
        message=f"This order is {words.removeprefix('already ')} already, so it can no longer be {action}.",
    )


def cancel_order(*, session: Session, order_id: str, reason: str | None, now: datetime) -> schemas.CancelOut:
    check_order_id(order_id)
    allowed = load_policy(session=session).cancellable_statuses
    # Conditional UPDATE: of two concurrent cancellations only one can still see a cancellable status.
    result = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status.in_(allowed))
        .values(
            status="cancelled",
            cancelled_at=now,
            cancel_reason=reason,
            refund_status="pending",
            refund_amount_cents=Order.total_cents,
            refund_method="original_payment",
        )
        .execution_options(synchronize_session=False)
    )
    order = session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise order_not_found()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise cannot("cannot_cancel", order.status, "cancelled")
    return schemas.CancelOut(
        order_id=order.id,
        status="cancelled",
        cancelled_at=iso_time(order.cancelled_at) or "",
        refund=schemas.CancelRefundOut(
            status="pending", amount=money(order.refund_amount_cents or 0), method="original_payment"
        ),
        currency=order.currency,
    )


def validated_address(change: schemas.AddressFields, *, name: str) -> Address:
    """The new address normalized, or 422 `invalid_address` naming each bad field (every address write uses it)."""
    try:
        return validate_address(
            name=name,
            street=change.street,
            address2=change.address2,
            city=change.city,
            state=change.state,
            postal_code=change.postal_code,
            country=change.country,
        )
    except AddressValidationError as err:
        raise ApiError(
            status_code=422,
            code="invalid_address",
            message="That address doesn't look right; please check the highlighted fields.",
            fields=err.fields,
        ) from None


def change_shipping_address(
    *, session: Session, order_id: str, change: schemas.AddressChange
) -> schemas.AddressChangeOut:
    order = load_order(session=session, order_id=order_id, for_update=True)  # row lock: status can't change
    if order.status not in load_policy(session=session).address_change_statuses:
        raise cannot("cannot_change_address", order.status, "re-addressed")
    address = validated_address(change, name=change.name if change.name is not None else order.ship_name)
    previous = address_of(order)
    # The whole address is replaced: an omitted address2/state is cleared, never kept from the old address.
    order.ship_name = address.name
    order.ship_street = address.street
    order.ship_address2 = address.address2
    order.ship_city = address.city
    order.ship_state = address.state
    order.ship_postal_code = address.postal_code
    order.ship_country = address.country
    session.flush()
    return schemas.AddressChangeOut(order_id=order.id, shipping_address=address_of(order), previous_address=previous)
