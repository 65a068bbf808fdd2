"""Turns database rows into the API's response schemas (the only place that knows both shapes)."""

from __future__ import annotations

from typing import Any

from commerce_api import schemas
from commerce_api.formatting import iso_date, iso_time, money
from commerce_api.models import (
    EXCHANGE,
    Customer,
    Order,
    OrderItem,
    PaymentMethod,
    Product,
    Return,
    ReturnItem,
    Shipment,
)
from commerce_api.policy import ShopPolicy


def address_of(order: Order) -> schemas.AddressOut:
    return schemas.AddressOut(
        name=order.ship_name,
        street=order.ship_street,
        address2=order.ship_address2,
        city=order.ship_city,
        state=order.ship_state,
        postal_code=order.ship_postal_code,
        country=order.ship_country,
    )


def default_address_of(customer: Customer) -> schemas.AddressOut | None:
    if not (customer.address_street and customer.address_city and customer.address_country):
        return None
    return schemas.AddressOut(
        name=customer.name,
        street=customer.address_street,
        address2=customer.address_line2,
        city=customer.address_city,
        state=customer.address_state,
        postal_code=customer.address_postal_code or "",
        country=customer.address_country,
    )


def _options(raw: Any) -> dict[str, str]:
    # Rows written by older code or bulk loaders may hold NULL; option values are always strings on the wire.
    return {str(k): str(v) for k, v in (raw or {}).items()}


def item_view(item: OrderItem) -> schemas.ItemOut:
    options = _options(item.options)
    line = item.return_line if item.return_line is not None and item.return_line.ret.kind != EXCHANGE else None
    exchange = item.return_line if item.return_line is not None and line is None else None
    return schemas.ItemOut(
        item_id=item.id,
        name=item.name,
        product_id=item.product_id,
        variant_id=item.variant_id,
        options=options,
        size=options.get("size", item.size),
        price=money(item.price_cents),
        final_sale=item.final_sale,
        return_status=line.ret.status if line else None,
        return_id=line.return_id if line else None,
        exchange_status=exchange.ret.status if exchange else None,
        exchange_id=exchange.return_id if exchange else None,
    )


def order_view(order: Order) -> schemas.OrderOut:
    refund = None
    if order.refund_status is not None:
        refund = schemas.OrderRefundOut(
            status=order.refund_status,  # type: ignore[arg-type]
            amount=money(order.refund_amount_cents or 0),
            method=order.refund_method or "original_payment",
            refunded_at=iso_time(order.refunded_at),
        )
    shipment = None
    if order.shipment is not None:
        shipment = schemas.ShipmentOut(carrier=order.shipment.carrier, tracking_number=order.shipment.tracking_number)
    return schemas.OrderOut(
        order_id=order.id,
        status=order.status,  # type: ignore[arg-type]
        placed_at=iso_time(order.placed_at) or "",
        shipped_at=iso_time(order.shipped_at),
        delivered_at=iso_time(order.delivered_at),
        cancelled_at=iso_time(order.cancelled_at),
        expected_ship_date=iso_date(order.expected_ship_date),
        customer=schemas.CustomerOut(id=order.customer.id, name=order.customer.name, email=order.customer.email),
        items=[item_view(item) for item in order.items],
        total=money(order.total_cents),
        currency=order.currency,
        payment=payment_view(order),
        shipping_address=address_of(order),
        shipment=shipment,
        refund=refund,
    )


def payment_view(order: Order) -> schemas.PaymentOut:
    return schemas.PaymentOut(
        method=order.payment_method,  # type: ignore[arg-type]
        brand=order.payment_brand,
        last4=order.payment_last4,
        payment_method_id=order.payment_method_id,
    )


def payment_method_view(method: PaymentMethod) -> schemas.PaymentMethodOut:
    return schemas.PaymentMethodOut(
        payment_method_id=method.id,
        method=method.method,  # type: ignore[arg-type]
        brand=method.brand,
        last4=method.last4,
        balance=money(method.balance_cents)
        if method.method == "gift_card" and method.balance_cents is not None
        else None,
    )


def customer_view(customer: Customer) -> schemas.CustomerDetailOut:
    return schemas.CustomerDetailOut(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        default_address=default_address_of(customer),
        payment_methods=[payment_method_view(m) for m in customer.payment_methods],
    )


def return_view(ret: Return, *, currency: str) -> schemas.ReturnOut:
    items = [
        schemas.ReturnItemOut(item_id=line.item_id, name=line.item.name, refund_amount=money(line.refund_amount_cents))
        for line in ret.lines
    ]
    return schemas.ReturnOut(
        return_id=ret.id,
        order_id=ret.order_id,
        item_id=items[0].item_id,
        item_name=items[0].name,
        items=items,
        reason=ret.reason,  # type: ignore[arg-type]
        refund_method=ret.refund_method,  # type: ignore[arg-type]
        gift_card_id=ret.gift_card_id,
        refund_amount=money(ret.refund_amount_cents),
        currency=currency,
        status=ret.status,
        refund_status=ret.refund_status,  # type: ignore[arg-type]
        label_reference=ret.label_reference,
        created_at=iso_time(ret.created_at) or "",
        refunded_at=iso_time(ret.refunded_at),
    )


def variant_change_view(
    item: OrderItem, *, old_options: Any, old_price_cents: int, new_variant_id: str, new_options: Any,
    new_price_cents: int,
) -> schemas.VariantChangeOut:
    return schemas.VariantChangeOut(
        item_id=item.id,
        name=item.name,
        old_options=_options(old_options),
        new_variant_id=new_variant_id,
        new_options=_options(new_options),
        old_price=money(old_price_cents),
        new_price=money(new_price_cents),
    )


def exchange_line_view(line: ReturnItem) -> schemas.VariantChangeOut:
    # The item itself is never changed by its exchange (a delivered item keeps what was delivered).
    return variant_change_view(
        line.item,
        old_options=line.item.options,
        old_price_cents=line.refund_amount_cents,
        new_variant_id=line.new_variant_id or "",
        new_options=line.new_options,
        new_price_cents=line.new_price_cents or 0,
    )


def exchange_view(exchange: Return) -> schemas.ExchangeOut:
    return schemas.ExchangeOut(
        exchange_id=exchange.id,
        order_id=exchange.order_id,
        status=exchange.status,
        items=[exchange_line_view(line) for line in exchange.lines],
        price_difference=money(exchange.price_difference_cents or 0),
        payment_method_id=exchange.payment_method_id,
        label_reference=exchange.label_reference,
        created_at=iso_time(exchange.created_at) or "",
    )


def tracking_view(shipment: Shipment) -> schemas.TrackingOut:
    events = [
        schemas.TrackingEventOut(location=e.location, time=iso_time(e.occurred_at) or "", description=e.description)
        for e in shipment.events  # newest first (relationship order_by)
    ]
    last_scan = schemas.ScanOut(location=events[0].location, time=events[0].time) if events else None
    return schemas.TrackingOut(
        tracking_number=shipment.tracking_number,
        carrier=shipment.carrier,
        status=shipment.status,  # type: ignore[arg-type]
        last_scan=last_scan,
        estimated_delivery=iso_date(shipment.estimated_delivery),
        events=events,
    )


def policy_view(policy: ShopPolicy, *, return_window_days: int) -> schemas.PolicyOut:
    return schemas.PolicyOut(
        shop=policy.shop,
        return_window_days=return_window_days,
        refund_methods=list(policy.refund_methods),  # type: ignore[arg-type]
        refund_days={
            method: schemas.RefundDaysOut(min=days.min, max=days.max)
            for method, days in policy.refund_days.items()
            if method in policy.refund_methods
        },
        cancellable_statuses=list(policy.cancellable_statuses),  # type: ignore[arg-type]
        address_change_statuses=list(policy.address_change_statuses),  # type: ignore[arg-type]
        currency=policy.currency,
    )


def product_view(product: Product) -> schemas.ProductOut:
    return schemas.ProductOut(
        product_id=product.id,
        name=product.name,
        variants=[
            schemas.VariantOut(
                variant_id=v.id, options=_options(v.options), available=v.available, price=money(v.price_cents)
            )
            for v in product.variants
        ],
    )
