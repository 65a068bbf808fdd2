"""Exchanges: delivered items sent back for other variants of their products (all or nothing), list, fetch.

An exchange is a `returns` row of kind "exchange" with its lines in `return_items`, so the unique
(order_id, item_id) there allows one open return or exchange per item, also for racing requests.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from commerce_api import ids, schemas
from commerce_api.errors import not_found
from commerce_api.models import EXCHANGE, Return, ReturnItem
from commerce_api.services.orders import find_item, item_verdict, load_order
from commerce_api.services.payments import method_for_difference, settle_difference
from commerce_api.services.returns import insert_taking_items, not_eligible
from commerce_api.services.variants import Swap, new_variant, price_difference
from commerce_api.views import exchange_view


def create_exchange(
    *, session: Session, request: schemas.ExchangeCreate, now: datetime, window_days: int
) -> schemas.ExchangeOut:
    order = load_order(session=session, order_id=request.order_id)
    items = [find_item(order, line.item_id) for line in request.items]  # 404 names the first unknown
    swaps = []
    for item, line in zip(items, request.items, strict=True):  # the first item that fails refuses them all
        verdict = item_verdict(order, item, today=now.date(), window_days=window_days)
        if not verdict.eligible:
            raise not_eligible(verdict.reason or "not_eligible", verdict.message, item_id=item.id)
        swaps.append(Swap(item, new_variant(session=session, item=item, variant_id=line.new_variant_id)))
    difference = price_difference(swaps)
    method = method_for_difference(
        session=session, order=order, payment_method_id=request.payment_method_id, difference_cents=difference
    )
    exchange = Return(
        id=f"EXC-{secrets.token_hex(4).upper()}",
        order_id=order.id,
        kind=EXCHANGE,
        reason=EXCHANGE,
        refund_method=EXCHANGE,
        gift_card_id=None,
        refund_amount_cents=sum(item.price_cents for item in items),  # the value of what is sent back
        status="label_sent",
        refund_status="none",
        label_reference=f"LBL-{secrets.token_hex(5).upper()}",
        created_at=now,
        payment_method_id=method.id if method else None,
        price_difference_cents=difference,
    )
    exchange.lines = [
        ReturnItem(
            position=n,
            order_id=order.id,
            item_id=swap.item.id,
            refund_amount_cents=swap.item.price_cents,
            new_variant_id=swap.variant.id,
            new_options={str(k): str(v) for k, v in (swap.variant.options or {}).items()},
            new_price_cents=swap.variant.price_cents,
        )
        for n, swap in enumerate(swaps, start=1)
    ]
    insert_taking_items(session=session, request=exchange, item_ids=[item.id for item in items])
    settle_difference(session=session, method=method, difference_cents=difference)
    session.flush()
    return exchange_view(exchange)


def _exchange_options() -> list:
    return [selectinload(Return.lines).joinedload(ReturnItem.item)]


def list_exchanges(*, session: Session, order_id: str) -> schemas.ExchangeList:
    order = load_order(session=session, order_id=order_id)
    rows = session.scalars(
        select(Return)
        .where(Return.order_id == order.id, Return.kind == EXCHANGE)
        .options(*_exchange_options())
        .order_by(Return.created_at, Return.id)
    ).all()
    return schemas.ExchangeList(exchanges=[exchange_view(r) for r in rows])


def get_exchange(*, session: Session, exchange_id: str) -> schemas.ExchangeOut:
    exchange = None
    if ids.is_exchange_id(exchange_id):
        exchange = session.scalars(
            select(Return).where(Return.id == exchange_id, Return.kind == EXCHANGE).options(*_exchange_options())
        ).first()
    if exchange is None:
        raise not_found("exchange_not_found", "We couldn't find an exchange with that number.")
    return exchange_view(exchange)
