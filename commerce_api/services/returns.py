"""Returns: start one for one or more items of an order (all or nothing), list an order's, fetch one."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from commerce_api import ids, schemas
from commerce_api.errors import ApiError, not_found
from commerce_api.models import EXCHANGE, RETURN, Order, PaymentMethod, Return, ReturnItem
from commerce_api.services.orders import find_item, item_verdict, load_order
from commerce_api.services.shop_policy import load_policy
from commerce_api.views import return_view


def not_eligible(reason: str, message: str, *, item_id: str | None = None) -> ApiError:
    extra = {"item_id": item_id} if item_id is not None else {}
    return ApiError(status_code=409, code="not_eligible", reason=reason, message=message, **extra)


def already_taken(item_id: str, kind: str = RETURN) -> ApiError:
    """A request lost the race for `item_id` to a return or an exchange (`kind`) that took it."""
    started = "An exchange" if kind == EXCHANGE else "A return"
    return not_eligible("already_returned", f"{started} has already been started for this item.", item_id=item_id)


def _check_refund_destination(*, session: Session, order: Order, request: schemas.ReturnCreate) -> None:
    policy = load_policy(session=session)
    if not policy.allows(request.refund_method):
        allowed = ", ".join(policy.refund_methods)
        raise not_eligible("refund_method_not_allowed", f"This shop refunds returns only as: {allowed}.")
    if request.refund_method == "gift_card":
        owned = session.scalar(
            select(PaymentMethod.id).where(
                PaymentMethod.customer_id == order.customer_id,
                PaymentMethod.id == request.gift_card_id,
                PaymentMethod.method == "gift_card",
            )
        )
        if owned is None:
            raise not_eligible(
                "gift_card_not_customers", "Refunds can only go to a gift card of the customer who placed the order."
            )


def create_return(
    *, session: Session, request: schemas.ReturnCreate, now: datetime, window_days: int
) -> schemas.ReturnOut:
    order = load_order(session=session, order_id=request.order_id)
    items = [find_item(order, item_id) for item_id in request.requested_items]  # 404 names the first unknown
    _check_refund_destination(session=session, order=order, request=request)
    for item in items:  # all or nothing: the first ineligible item refuses the whole return
        verdict = item_verdict(order, item, today=now.date(), window_days=window_days)
        if not verdict.eligible:
            raise not_eligible(verdict.reason or "not_eligible", verdict.message, item_id=item.id)

    ret = Return(
        id=f"RMA-{secrets.token_hex(4).upper()}",
        order_id=order.id,
        kind=RETURN,
        reason=request.reason,
        refund_method=request.refund_method,
        gift_card_id=request.gift_card_id,
        refund_amount_cents=sum(item.price_cents for item in items),
        status="label_sent",
        refund_status="pending",
        label_reference=f"LBL-{secrets.token_hex(5).upper()}",
        created_at=now,
    )
    ret.lines = [
        ReturnItem(position=n, order_id=order.id, item_id=item.id, refund_amount_cents=item.price_cents)
        for n, item in enumerate(items, start=1)
    ]
    insert_taking_items(session=session, request=ret, item_ids=[i.id for i in items])
    return return_view(ret, currency=order.currency)


def insert_taking_items(*, session: Session, request: Return, item_ids: list[str]) -> None:
    """Insert a return or an exchange with its lines, or 409 `already_returned` when another request (a
    return or an exchange) took one of its items first."""
    try:
        with session.begin_nested():  # a savepoint, so the transaction survives a lost race
            session.add(request)
            session.flush()  # the unique (order_id, item_id) of return_items settles races between requests
    except IntegrityError:
        raise already_taken(*_first_taken(session=session, order_id=request.order_id, item_ids=item_ids)) from None


def _first_taken(*, session: Session, order_id: str, item_ids: list[str]) -> tuple[str, str]:
    """Which of the requested items a concurrent request took (the first in request order), and its kind."""
    rows = session.execute(
        select(ReturnItem.item_id, Return.kind)
        .join(Return, Return.id == ReturnItem.return_id)
        .where(ReturnItem.order_id == order_id, ReturnItem.item_id.in_(item_ids))
    ).tuples()
    taken = {item_id: kind for item_id, kind in rows}
    first = next((item_id for item_id in item_ids if item_id in taken), item_ids[0])
    return first, taken.get(first, RETURN)


def _return_options() -> list:
    return [
        selectinload(Return.lines).joinedload(ReturnItem.item),
        selectinload(Return.order).load_only(Order.currency),
    ]


def list_returns(*, session: Session, order_id: str) -> schemas.ReturnList:
    order = load_order(session=session, order_id=order_id)
    rows = session.scalars(
        select(Return)
        .where(Return.order_id == order.id, Return.kind == RETURN)  # exchanges have their own endpoint
        .options(*_return_options())
        .order_by(Return.created_at, Return.id)
    ).all()
    return schemas.ReturnList(returns=[return_view(r, currency=order.currency) for r in rows])


def _load_return(*, session: Session, return_id: str) -> Return:
    ret = None
    if ids.is_return_id(return_id):
        ret = session.scalars(
            select(Return).where(Return.id == return_id, Return.kind == RETURN).options(*_return_options())
        ).first()
    if ret is None:
        raise not_found("return_not_found", "We couldn't find a return with that number.")
    return ret


def get_return(*, session: Session, return_id: str) -> schemas.ReturnOut:
    ret = _load_return(session=session, return_id=return_id)
    return return_view(ret, currency=ret.order.currency)


def receive_return(*, session: Session, return_id: str, now: datetime) -> schemas.ReturnOut:
    """Warehouse hook: the items arrived, so the refund is issued. Not exposed over HTTP."""
    ret = _load_return(session=session, return_id=return_id)
    if ret.refund_status != "refunded":
        ret.status = "received"
        ret.refund_status = "refunded"
        ret.refunded_at = now
        session.flush()
    return return_view(ret, currency=ret.order.currency)
