"""Customer endpoints: verification (email, or full name + postal code), profile, order history, default address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request

from commerce_api import idempotency, schemas
from commerce_api.deps import DatabaseDep, ReadSession
from commerce_api.formatting import utcnow
from commerce_api.routers.common import ClientSubject, IdempotencyKeyHeader, VerifyLimits, error_responses, write_once
from commerce_api.services import customers, verification

router = APIRouter(prefix="/customers", tags=["customers"])

MAX_ORDERS = 50


@router.post(
    "/verify",
    response_model=schemas.VerifyOut,
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 422, 429),
    description=(
        'Identify a customer by {"email"} or by {"name", "postal_code"} (the default address\'s), exactly one '
        "shape. Unknown customers and wrong details get the same answer. Failures are limited per email or "
        "name and per client (429 with Retry-After once over the limit)."
    ),
)
def verify(
    body: Annotated[schemas.CustomerVerifyRequest, Body()],
    database: DatabaseDep,
    client: ClientSubject,
    limits: VerifyLimits,
) -> schemas.VerifyOut:
    with database.transaction() as session:
        return verification.verify_customer(session=session, request=body, client=client, limits=limits, now=utcnow())


@router.get("/{customer_id}", response_model=schemas.CustomerDetailOut, responses=error_responses(401, 404))
def get_customer(customer_id: str, session: ReadSession) -> schemas.CustomerDetailOut:
    return customers.get_customer(session=session, customer_id=customer_id)


@router.get("/{customer_id}/orders", response_model=schemas.OrderList, responses=error_responses(401, 404, 422))
def list_orders(
    customer_id: str,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=MAX_ORDERS, description="How many orders, newest placed first.")] = 20,
) -> schemas.OrderList:
    return customers.list_customer_orders(session=session, customer_id=customer_id, limit=limit)


@router.patch(
    "/{customer_id}/address",
    response_model=schemas.DefaultAddressChangeOut,
    responses=error_responses(400, 401, 404, 409, 422),
    description=(
        "Replace the customer's saved (default) address. The name stays the customer's; orders keep the "
        "addresses they were placed with. 409 `cannot_change_default_address` with reason `unchanged` when it "
        "already is that address; 422 `invalid_address` naming the bad fields."
    ),
)
def change_default_address(
    customer_id: str,
    body: schemas.DefaultAddressChange,
    request: Request,
    database: DatabaseDep,
    idempotency_key: IdempotencyKeyHeader = None,
):
    key = idempotency.require_key(idempotency_key)
    customers.check_customer_id(customer_id)  # before an idempotency key is stored against a malformed id

    return write_once(
        request, database, key, body.model_dump(mode="json"),
        lambda session: customers.change_default_address(session=session, customer_id=customer_id, change=body),
    )
