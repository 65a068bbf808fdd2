"""Exchange endpoints: exchange delivered items for other variants (idempotent), list an order's, fetch one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from commerce_api import idempotency, schemas
from commerce_api.deps import DatabaseDep, ReadSession, SettingsDep
from commerce_api.formatting import utcnow
from commerce_api.routers.common import IdempotencyKeyHeader, error_responses, write_once
from commerce_api.services import exchanges

router = APIRouter(prefix="/exchanges", tags=["exchanges"])


@router.post(
    "",
    status_code=201,
    response_model=schemas.ExchangeOut,
    responses=error_responses(400, 401, 404, 409, 422),
    description=(
        "Exchange 1-20 delivered items of one order for other variants of the same products: every item must "
        "be returnable and every new variant in stock, or nothing is created (409 names the item). A price "
        "difference is charged to, or refunded to, `payment_method_id` (one of the customer's methods)."
    ),
)
def create_exchange(
    body: schemas.ExchangeCreate,
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
):
    key = idempotency.require_key(idempotency_key)

    return write_once(
        request, database, key, body.model_dump(mode="json"),
        lambda session: exchanges.create_exchange(
            session=session, request=body, now=utcnow(), window_days=settings.return_window_days
        ),
        status=201,
    )


@router.get("", response_model=schemas.ExchangeList, responses=error_responses(401, 404, 422))
def list_exchanges(order_id: Annotated[str, Query(max_length=64)], session: ReadSession) -> schemas.ExchangeList:
    return exchanges.list_exchanges(session=session, order_id=order_id)


@router.get("/{exchange_id}", response_model=schemas.ExchangeOut, responses=error_responses(401, 404))
def get_exchange(exchange_id: str, session: ReadSession) -> schemas.ExchangeOut:
    return exchanges.get_exchange(session=session, exchange_id=exchange_id)
