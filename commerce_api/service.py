"""Business operations on orders, returns and shipments; each takes an open session and keyword arguments."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from commerce_api import schemas
from commerce_api.addresses import AddressValidationError, validate_address
from commerce_api.errors import ApiError, not_found
from commerce_api.formatting import iso_date, iso_time, money
from commerce_api.models import Customer, Order, OrderItem, Return, Shipment
from commerce_api.policy import evaluate_return
from commerce_api.views import address_of, order_view, return_view, tracking_view

# Strict identifier formats: anything else is "not found" before it ever reaches SQL.
ORDER_ID_RE = re.compile(r"[0-9]{1,12}")
ITEM_ID_RE = re.compile(r"[0-9]{1,12}-[0-9]{1,4}")
RETURN_ID_RE = re.compile(r"RMA-[A-Z0-9]{8}")
TRACKING_RE = re.compile(r"[A-Z0-9]{6,40}")

CANNOT_REASONS = {"shipped": "already_shipped", "delivered": "already_delivered", "cancelled": "already_cancelled"}


def order_not_found(order_id: str) -> ApiError:
    del order_id  # never echo the raw (possibly hostile) identifier back
    return not_found("order_not_found", "We couldn't find an order with that number.")


def check_order_id(order_id: str) -> None:
    """A malformed order number is "not found" before it ever reaches SQL."""
    if not ORDER_ID_RE.fullmatch(order_id):
        raise order_not_found(order_id)


def load_order(session: Session, *, order_id: str, for_update: bool = False) -> Order:
    check_order_id(order_id)
    stmt = (
        select(Order)
        .where(Order.id == order_id)
        .options(
            # The to-one relations ride along in the order's own query and the items bring their
            # return with them: two round trips for the whole view instead of five (this is the
            # API's most frequent request, see README "Performance").
            joinedload(Order.customer),
            joinedload(Order.shipment),
            selectinload(Order.items).joinedload(OrderItem.return_request),
        )
    )
    if for_update:
        stmt = stmt.with_for_update(of=Order)
    order = session.scalars(stmt).first()
    if order is None:
        raise order_not_found(order_id)
    return order


def load_item(session: Session, *, order_id: str, item_id: str) -> tuple[Order, OrderItem]:
    order = load_order(session, order_id=order_id)
    if ITEM_ID_RE.fullmatch(item_id):
        for item in order.items:
            if item.id == item_id:
                return order, item
    raise not_found("item_not_found", "That item isn't part of this order.")


def get_order(session: Session, *, order_id: str) -> schemas.OrderOut:
    return order_view(load_order(session, order_id=order_id))


def verify_customer(session: Session, *, order_id: str, email: str) -> schemas.VerifyOut:
    check_order_id(order_id)
    # Only the customer is needed: one query, not the whole order view.
    customer = session.execute(
        select(Customer.id, Customer.email).join(Order, Order.customer_id == Customer.id).where(Order.id == order_id)
    ).first()
    if customer is None:
        raise order_not_found(order_id)
    given = email.strip().casefold().encode("utf-8")
    expected = customer.email.strip().casefold().encode("utf-8")
    if hmac.compare_digest(given, expected):
        return schemas.VerifyOut(verified=True, customer_id=customer.id)
    return schemas.VerifyOut(verified=False)


def return_eligibility(
    session: Session, *, order_id: str, item_id: str, today: date, window_days: int
) -> schemas.EligibilityOut:
    order, item = load_item(session, order_id=order_id, item_id=item_id)
    verdict = evaluate_return(
        order_status=order.status,
        delivered_at=order.delivered_at,
        final_sale=item.final_sale,
        already_returned=item.return_request is not None,
        today=today,
        window_days=window_days,
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


def _already_returned() -> ApiError:
    return ApiError(
        status_code=409,
        code="not_eligible",
        reason="already_returned",
        message="A return has already been started for this item.",
    )


def create_return(
    session: Session, *, request: schemas.ReturnCreate, now: datetime, window_days: int
) -> schemas.ReturnOut:
    order, item = load_item(session, order_id=request.order_id, item_id=request.item_id)
    verdict = evaluate_return(
        order_status=order.status,
        delivered_at=order.delivered_at,
        final_sale=item.final_sale,
        already_returned=item.return_request is not None,
        today=now.date(),
        window_days=window_days,
    )
    if not verdict.eligible:
        raise ApiError(status_code=409, code="not_eligible", reason=verdict.reason, message=verdict.message)
    ret = Return(
        id=f"RMA-{secrets.token_hex(4).upper()}",
        order_id=order.id,
        item_id=item.id,
        reason=request.reason,
        refund_method=request.refund_method,
        refund_amount_cents=item.price_cents,
        status="label_sent",
        refund_status="pending",
        label_reference=f"LBL-{secrets.token_hex(5).upper()}",
        created_at=now,
    )
    session.add(ret)
    try:
        session.flush()  # the unique constraint on returns.item_id settles races between requests
    except IntegrityError:
        raise _already_returned() from None
    return return_view(ret)


def list_returns(session: Session, *, order_id: str) -> schemas.ReturnList:
    order = load_order(session, order_id=order_id)
    rows = session.scalars(
        select(Return)
        .where(Return.order_id == order.id)
        .options(selectinload(Return.item))
        .order_by(Return.created_at, Return.id)
    ).all()
    return schemas.ReturnList(returns=[return_view(r) for r in rows])


def _load_return(session: Session, *, return_id: str) -> Return:
    ret = None
    if RETURN_ID_RE.fullmatch(return_id):
        ret = session.scalars(select(Return).where(Return.id == return_id).options(selectinload(Return.item))).first()
    if ret is None:
        raise not_found("return_not_found", "We couldn't find a return with that number.")
    return ret


def get_return(session: Session, *, return_id: str) -> schemas.ReturnOut:
    return return_view(_load_return(session, return_id=return_id))


def receive_return(session: Session, *, return_id: str, now: datetime) -> schemas.ReturnOut:
    """Warehouse hook: the item arrived, so the refund is issued. Not exposed over HTTP."""
    ret = _load_return(session, return_id=return_id)
    if ret.refund_status != "refunded":
        ret.status = "received"
        ret.refund_status = "refunded"
        ret.refunded_at = now
        session.flush()
    return return_view(ret)


def _cannot(code: str, status: str, action: str) -> ApiError:
    reason = CANNOT_REASONS.get(status, "already_shipped")
    words = reason.replace("_", " ")
    return ApiError(
        status_code=409,
        code=code,
        reason=reason,
        message=f"This order is {words.removeprefix('already ')} already, so it can no longer be {action}.",
    )


def cancel_order(session: Session, *, order_id: str, reason: str | None, now: datetime) -> schemas.CancelOut:
    check_order_id(order_id)
    # Conditional UPDATE: of two concurrent cancellations only one can see status='processing'.
    result = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == "processing")
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
        raise order_not_found(order_id)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _cannot("cannot_cancel", order.status, "cancelled")
    return schemas.CancelOut(
        order_id=order.id,
        status="cancelled",
        cancelled_at=iso_time(order.cancelled_at) or "",
        refund=schemas.CancelRefundOut(
            status="pending", amount=money(order.refund_amount_cents or 0), method="original_payment"
        ),
        currency=order.currency,
    )


def change_shipping_address(
    session: Session, *, order_id: str, change: schemas.AddressChange
) -> schemas.AddressChangeOut:
    order = load_order(session, order_id=order_id, for_update=True)  # row lock: status can't change under us
    if order.status != "processing":
        raise _cannot("cannot_change_address", order.status, "re-addressed")
    try:
        address = validate_address(
            name=change.name if change.name is not None else order.ship_name,
            street=change.street,
            city=change.city,
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
    previous = address_of(order)
    order.ship_name = address.name
    order.ship_street = address.street
    order.ship_city = address.city
    order.ship_postal_code = address.postal_code
    order.ship_country = address.country
    session.flush()
    return schemas.AddressChangeOut(order_id=order.id, shipping_address=address_of(order), previous_address=previous)


def track(session: Session, *, tracking_number: str) -> schemas.TrackingOut:
    number = tracking_number.strip().upper()
    shipment = None
    if TRACKING_RE.fullmatch(number):
        shipment = session.scalars(
            select(Shipment).where(Shipment.tracking_number == number).options(selectinload(Shipment.events))
        ).first()
    if shipment is None:
        raise not_found("tracking_not_found", "We couldn't find a shipment with that tracking number.")
    return tracking_view(shipment)
