"""Product endpoints: search the catalogue by name, fetch one product with its variants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from commerce_api import schemas
from commerce_api.deps import ReadSession
from commerce_api.routers.common import error_responses
from commerce_api.services import products

router = APIRouter(prefix="/products", tags=["products"])

MAX_PRODUCTS = 50


@router.get("", response_model=schemas.ProductList, responses=error_responses(401, 422))
def search_products(
    session: ReadSession,
    query: Annotated[
        str,
        # No control characters: PostgreSQL refuses NUL in text, and no product name has any.
        Query(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$", description="Part of the name, any case; empty: all."),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_PRODUCTS)] = 20,
) -> schemas.ProductList:
    return products.search_products(session=session, query=query, limit=limit)


@router.get("/{product_id}", response_model=schemas.ProductOut, responses=error_responses(401, 404))
def get_product(product_id: str, session: ReadSession) -> schemas.ProductOut:
    return products.get_product(session=session, product_id=product_id)
