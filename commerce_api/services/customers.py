"""Customers: profile (default address, payment methods on file), order history, changing the default address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from commerce_api import ids, schemas
from commerce_api.errors import ApiError, not_found
from commerce_api.models import Customer, Order
from commerce_api.services.orders import order_view_options, validated_address
from commerce_api.views import customer_view, default_address_of, order_view


def customer_not_found() -> ApiError:
    return not_found("customer_not_found", "We couldn't find that customer.")


def check_customer_id(customer_id: str) -> None:
    """A malformed customer id is "not found" before it ever reaches SQL."""
    if not ids.is_customer_id(customer_id):
        raise customer_not_found()


def _load_customer(*, session: Session, customer_id: str, for_update: bool = False) -> Customer:
    customer = None
    if ids.is_customer_id(customer_id):
        stmt = select(Customer).where(Customer.id == customer_id).options(selectinload(Customer.payment_methods))
        if for_update:
            stmt = stmt.with_for_update(of=Customer)
        customer = session.scalars(stmt).first()
    if customer is None:
        raise customer_not_found()
    return customer


def get_customer(*, session: Session, customer_id: str) -> schemas.CustomerDetailOut:
    return customer_view(_load_customer(session=session, customer_id=customer_id))


def list_customer_orders(*, session: Session, customer_id: str, limit: int) -> schemas.OrderList:
    """The customer's orders, newest placed first (ties by id, so pages are stable)."""
    customer = _load_customer(session=session, customer_id=customer_id)
    orders = session.scalars(
        select(Order)
        .where(Order.customer_id == customer.id)
        .options(*order_view_options())
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(limit)
    ).all()
    return schemas.OrderList(orders=[order_view(o) for o in orders])


ADDRESS_FIELDS = ("street", "address2", "city", "state", "postal_code", "country")


def _same_address(a: object, b: object) -> bool:
    return all(str(getattr(a, f) or "").casefold() == str(getattr(b, f) or "").casefold() for f in ADDRESS_FIELDS)


def change_default_address(
    *, session: Session, customer_id: str, change: schemas.DefaultAddressChange
) -> schemas.DefaultAddressChangeOut:
    """Replaces the saved address; the orders keep the addresses they were placed with.

    The name stays the customer's (the request cannot carry one). The postal code is the one
    POST /customers/verify checks with the name from then on.
    """
    customer = _load_customer(session=session, customer_id=customer_id, for_update=True)
    address = validated_address(change, name=customer.name)
    previous = default_address_of(customer)
    if previous is not None and _same_address(previous, address):
        raise ApiError(
            status_code=409,
            code="cannot_change_default_address",
            reason="unchanged",
            message="That already is the customer's default address.",
        )
    # The whole address is replaced: an omitted address2/state is cleared, never kept from the old one.
    customer.address_street = address.street
    customer.address_line2 = address.address2
    customer.address_city = address.city
    customer.address_state = address.state
    customer.address_postal_code = address.postal_code
    customer.address_country = address.country
    session.flush()
    return schemas.DefaultAddressChangeOut(
        customer_id=customer.id, default_address=default_address_of(customer), previous_address=previous
    )
