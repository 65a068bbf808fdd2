"""Return endpoints: start a return (idempotent), list an order's returns, fetch one return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from commerce_api import idempotency, schemas, service
from commerce_api.deps import DatabaseDep, ReadSession, SettingsDep
from commerce_api.formatting import utcnow
from commerce_api.routers.common import IdempotencyKeyHeader, error_responses

router = APIRouter(prefix="/returns", tags=["returns"])


@router.post(
    "",
    status_code=201,
    response_model=schemas.ReturnOut,
    responses=error_responses(400, 401, 404, 409, 422),
)
def create_return(
    body: schemas.ReturnCreate,
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
):
    key = idempotency.require_key(idempotency_key)

    def work(session: Session) -> tuple[int, bytes]:
        out = service.create_return(session, request=body, now=utcnow(), window_days=settings.return_window_days)
        return 201, out.model_dump_json().encode("utf-8")

    return idempotency.execute(
        database=database,
        key=key,
        method="POST",
        route=request.scope["path"],
        request_hash=idempotency.fingerprint(body.model_dump(mode="json")),
        work=work,
    )


@router.get("", response_model=schemas.ReturnList, responses=error_responses(401, 404, 422))
def list_returns(order_id: Annotated[str, Query(max_length=64)], session: ReadSession) -> schemas.ReturnList:
    return service.list_returns(session, order_id=order_id)


@router.get("/{return_id}", response_model=schemas.ReturnOut, responses=error_responses(401, 404))
def get_return(return_id: str, session: ReadSession) -> schemas.ReturnOut:
    return service.get_return(session, return_id=return_id)
