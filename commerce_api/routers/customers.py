"""Customer endpoints: verification (email, or full name + postal code), profile, order history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from commerce_api import schemas
from commerce_api.deps import DatabaseDep, ReadSession
from commerce_api.formatting import utcnow
from commerce_api.routers.common import ClientSubject, VerifyLimits, error_responses
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
