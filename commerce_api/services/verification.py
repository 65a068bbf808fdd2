"""Who is this customer? Verification by an order's email, by email alone, or by full name + postal code.

Every path has the same shape, so unknown customers and wrong details are indistinguishable from outside:
guard (429 if the target or client is locked) → look the candidates up (possibly none) → compare in
constant time against the candidate's value or a stand-in → record the failure or clear the target.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce_api import attempts, schemas
from commerce_api.models import Customer, Order
from commerce_api.normalize import email_key, name_key, postal_code_key
from commerce_api.services.orders import check_order_id

# Compared against when there is nobody to compare with, so a miss costs what a mismatch costs.
_STAND_IN = "\x00no-such-customer\x00"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _answer(
    *,
    session: Session,
    target: attempts.Subject,
    client: attempts.Subject,
    limits: attempts.Limits,
    now: datetime,
    customer_id: str | None,
    failures: int,
) -> schemas.VerifyOut:
    if customer_id is None:
        attempts.record_failure(session, target=target, client=client, limits=limits, now=now)
        return schemas.VerifyOut(verified=False)
    attempts.clear_target(session, target=target, failures=failures)
    return schemas.VerifyOut(verified=True, customer_id=customer_id)


def verify_order_email(
    *,
    session: Session,
    order_id: str,
    email: str,
    client: attempts.Subject,
    limits: attempts.Limits,
    now: datetime,
) -> schemas.VerifyOut:
    """Does `email` belong to the customer of `order_id`? An unknown order is a wrong email."""
    check_order_id(order_id)  # malformed: 404 before anything is counted (the format is public anyway)
    target = attempts.Subject("order", order_id)
    failures = attempts.guard(session, target=target, client=client, limits=limits, now=now)
    owner = session.execute(
        select(Customer.id, Customer.email).join(Order, Order.customer_id == Customer.id).where(Order.id == order_id)
    ).first()
    matched = _same(email_key(email), email_key(owner.email) if owner else _STAND_IN) and owner is not None
    return _answer(
        session=session,
        target=target,
        client=client,
        limits=limits,
        now=now,
        customer_id=owner.id if matched and owner else None,
        failures=failures,
    )


def verify_customer(
    *,
    session: Session,
    request: schemas.CustomerVerifyByEmail | schemas.CustomerVerifyByName,
    client: attempts.Subject,
    limits: attempts.Limits,
    now: datetime,
) -> schemas.VerifyOut:
    """Find the one customer with this email, or with this full name and default-address postal code."""
    if isinstance(request, schemas.CustomerVerifyByEmail):
        given = email_key(request.email)
        target = attempts.Subject("email", given)
        failures = attempts.guard(session, target=target, client=client, limits=limits, now=now)
        rows = session.execute(select(Customer.id, Customer.email_key).where(Customer.email_key == given)).all()
        # Exactly one account may answer: an address on two accounts identifies nobody.
        expected = rows[0].email_key if len(rows) == 1 else _STAND_IN
        matched = _same(given, expected) and len(rows) == 1
        customer_id = rows[0].id if matched else None
    else:
        name = name_key(request.name)
        postal = postal_code_key(request.postal_code)
        target = attempts.Subject("name", name)
        failures = attempts.guard(session, target=target, client=client, limits=limits, now=now)
        rows = session.execute(
            select(Customer.id, Customer.address_postal_code).where(Customer.name_key == name).order_by(Customer.id)
        ).all()
        # Every namesake is compared (no early exit); with none, the stand-in is, so a miss costs the same.
        matches = []
        for row in rows or [None]:
            expected = postal_code_key(row.address_postal_code) if row and row.address_postal_code else _STAND_IN
            if _same(postal, expected) and row is not None:
                matches.append(row.id)
        customer_id = matches[0] if len(matches) == 1 else None
    return _answer(
        session=session,
        target=target,
        client=client,
        limits=limits,
        now=now,
        customer_id=customer_id,
        failures=failures,
    )
