"""Products and their variants: search by name, fetch one."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from commerce_api import ids, schemas
from commerce_api.errors import not_found
from commerce_api.models import Product
from commerce_api.views import product_view


def search_products(*, session: Session, query: str, limit: int) -> schemas.ProductList:
    """Products whose name contains `query` (case-insensitive; empty matches all), by name."""
    stmt = select(Product).options(selectinload(Product.variants)).order_by(Product.name, Product.id).limit(limit)
    needle = " ".join(query.split()).lower()
    if needle:
        # autoescape: a customer's "%" or "_" is a character to find, not a LIKE wildcard.
        stmt = stmt.where(func.lower(Product.name).contains(needle, autoescape=True))
    return schemas.ProductList(products=[product_view(p) for p in session.scalars(stmt).all()])


def get_product(*, session: Session, product_id: str) -> schemas.ProductOut:
    product = None
    if ids.is_product_id(product_id):
        product = session.scalars(
            select(Product).where(Product.id == product_id).options(selectinload(Product.variants))
        ).first()
    if product is None:
        raise not_found("product_not_found", "We couldn't find that product.")
    return product_view(product)
