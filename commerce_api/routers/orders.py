"""Order endpoints: look-up, verification by the order's email, return eligibility, cancellation, re-addressing,
changing items and the payment method."""

from __future__ import annotations

from fastapi import APIRouter, Request

from commerce_api import idempotency, schemas
from commerce_api.deps import DatabaseDep, ReadSession, SettingsDep
from commerce_api.formatting import utcnow
from commerce_api.routers.common import ClientSubject, IdempotencyKeyHeader, VerifyLimits, error_responses, write_once
from commerce_api.services import item_changes, orders, payments, verification

router = APIRouter(prefix="/orders", tags=["orders"])


@router.get("/{order_id}", response_model=schemas.OrderOut, responses=error_responses(401, 404))
def get_order(order_id: str, session: ReadSession) -> schemas.OrderOut:
    return orders.get_order(session=session, order_id=order_id)


@router.post(
    "/{order_id}/verify",
    response_model=schemas.VerifyOut,
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 404, 422, 429),
    description=(
        "Does this email belong to the order's customer? An unknown order answers exactly like a wrong email. "
        "Failures are limited per order and per client (429 with Retry-After once over the limit)."
    ),
)
def verify(
    order_id: str, body: schemas.VerifyRequest, database: DatabaseDep, client: ClientSubject, limits: VerifyLimits
) -> schemas.VerifyOut:
    # A write transaction of its own: a failure is recorded in the same transaction that decided it.
    with database.transaction() as session:
        return verification.verify_order_email(
            session=session, order_id=order_id, email=body.email, client=client, limits=limits, now=utcnow()
        )


@router.get(
    "/{order_id}/items/{item_id}/return-eligibility",
    response_model=schemas.EligibilityOut,
    responses=error_responses(401, 404),
)
def return_eligibility(
    order_id: str, item_id: str, session: ReadSession, settings: SettingsDep
) -> schemas.EligibilityOut:
    return orders.return_eligibility(
        session=session,
        order_id=order_id,
        item_id=item_id,
        today=utcnow().date(),
        window_days=settings.return_window_days,
    )


@router.post(
    "/{order_id}/cancel",
    response_model=schemas.CancelOut,
    responses=error_responses(400, 401, 404, 409, 422),
)
def cancel(
    order_id: str,
    request: Request,
    database: DatabaseDep,
    idempotency_key: IdempotencyKeyHeader = None,
    body: schemas.CancelRequest | None = None,
):
    key = idempotency.require_key(idempotency_key)
    orders.check_order_id(order_id)  # before an idempotency key is stored against a malformed id
    reason = body.reason if body else None

    return write_once(
        request, database, key, {"reason": reason},
        lambda session: orders.cancel_order(session=session, order_id=order_id, reason=reason, now=utcnow()),
    )


@router.patch(
    "/{order_id}/shipping-address",
    response_model=schemas.AddressChangeOut,
    responses=error_responses(400, 401, 404, 409, 422),
)
def change_shipping_address(
    order_id: str,
    body: schemas.AddressChange,
    request: Request,
    database: DatabaseDep,
    idempotency_key: IdempotencyKeyHeader = None,
):
    key = idempotency.require_key(idempotency_key)
    orders.check_order_id(order_id)  # before an idempotency key is stored against a malformed id

    # address2/state left out when absent, so a retry of a body from before they existed hashes as it did.
    absent = {field for field in ("address2", "state") if getattr(body, field) is None}
    return write_once(
        request, database, key, body.model_dump(mode="json", exclude=absent),
        lambda session: orders.change_shipping_address(session=session, order_id=order_id, change=body),
    )


@router.patch(
    "/{order_id}/items",
    response_model=schemas.ItemChangeOut,
    responses=error_responses(400, 401, 404, 409, 422),
    description=(
        "Change 1-20 items of an order that has not shipped to other variants of the same products (all or "
        "nothing; item ids stay). The total moves by the price difference, charged to or refunded to "
        "`payment_method_id`. 409 `cannot_change_items` once shipped."
    ),
)
def change_items(
    order_id: str,
    body: schemas.ItemChange,
    request: Request,
    database: DatabaseDep,
    idempotency_key: IdempotencyKeyHeader = None,
):
    key = idempotency.require_key(idempotency_key)
    orders.check_order_id(order_id)  # before an idempotency key is stored against a malformed id

    return write_once(
        request, database, key, body.model_dump(mode="json"),
        lambda session: item_changes.change_items(session=session, order_id=order_id, change=body),
    )


@router.patch(
    "/{order_id}/payment",
    response_model=schemas.PaymentChangeOut,
    responses=error_responses(400, 401, 404, 409, 422),
    description=(
        "Pay an order that has not shipped with another of the customer's payment methods (a gift card must "
        "cover the total). 409 `cannot_change_payment` once shipped, `invalid_payment_method` otherwise."
    ),
)
def change_payment(
    order_id: str,
    body: schemas.PaymentChange,
    request: Request,
    database: DatabaseDep,
    idempotency_key: IdempotencyKeyHeader = None,
):
    key = idempotency.require_key(idempotency_key)
    orders.check_order_id(order_id)  # before an idempotency key is stored against a malformed id

    return write_once(
        request, database, key, body.model_dump(mode="json"),
        lambda session: payments.change_payment(session=session, order_id=order_id, change=body),
    )
