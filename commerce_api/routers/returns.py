"""Return endpoints: start a return of one or more items (idempotent), list an order's returns, fetch one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from commerce_api import idempotency, schemas
from commerce_api.deps import DatabaseDep, ReadSession, SettingsDep
from commerce_api.formatting import utcnow
from commerce_api.routers.common import IdempotencyKeyHeader, error_responses, write_once
from commerce_api.services import returns

router = APIRouter(prefix="/returns", tags=["returns"])


@router.post(
    "",
    status_code=201,
    response_model=schemas.ReturnOut,
    responses=error_responses(400, 401, 404, 409, 422),
    description=(
        "Start one return for 1-20 items of one order: every item must be eligible or nothing is created "
        "(409 names the item). Give item_ids, or item_id for a single item."
    ),
)
def create_return(
    body: schemas.ReturnCreate,
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
):
    key = idempotency.require_key(idempotency_key)

    return write_once(
        request, database, key, body.fingerprint_payload(),
        lambda session: returns.create_return(
            session=session, request=body, now=utcnow(), window_days=settings.return_window_days
        ),
        status=201,
    )


@router.get("", response_model=schemas.ReturnList, responses=error_responses(401, 404, 422))
def list_returns(order_id: Annotated[str, Query(max_length=64)], session: ReadSession) -> schemas.ReturnList:
    return returns.list_returns(session=session, order_id=order_id)


@router.get("/{return_id}", response_model=schemas.ReturnOut, responses=error_responses(401, 404))
def get_return(return_id: str, session: ReadSession) -> schemas.ReturnOut:
    return returns.get_return(session=session, return_id=return_id)
