"""Customers: profile (default address, payment methods on file) and order history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from commerce_api import ids, schemas
from commerce_api.errors import ApiError, not_found
from commerce_api.models import Customer, Order
from commerce_api.services.orders import order_view_options
from commerce_api.views import customer_view, order_view


def customer_not_found() -> ApiError:
    return not_found("customer_not_found", "We couldn't find that customer.")


def _load_customer(*, session: Session, customer_id: str) -> Customer:
    customer = None
    if ids.is_customer_id(customer_id):
        customer = session.scalars(
            select(Customer).where(Customer.id == customer_id).options(selectinload(Customer.payment_methods))
        ).first()
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
