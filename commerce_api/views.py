"""Turns database rows into the API's response schemas (the only place that knows both shapes)."""

from __future__ import annotations

from commerce_api import schemas
from commerce_api.formatting import iso_date, iso_time, money
from commerce_api.models import Order, Return, Shipment


def address_of(order: Order) -> schemas.AddressOut:
    return schemas.AddressOut(
        name=order.ship_name,
        street=order.ship_street,
        city=order.ship_city,
        postal_code=order.ship_postal_code,
        country=order.ship_country,
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
        items=[
            schemas.ItemOut(
                item_id=item.id,
                name=item.name,
                size=item.size,
                price=money(item.price_cents),
                final_sale=item.final_sale,
                return_status=item.return_request.status if item.return_request else None,
                return_id=item.return_request.id if item.return_request else None,
            )
            for item in order.items
        ],
        total=money(order.total_cents),
        currency=order.currency,
        payment=schemas.PaymentOut(
            method=order.payment_method,  # type: ignore[arg-type]
            brand=order.payment_brand,
            last4=order.payment_last4,
        ),
        shipping_address=address_of(order),
        shipment=shipment,
        refund=refund,
    )


def return_view(ret: Return) -> schemas.ReturnOut:
    return schemas.ReturnOut(
        return_id=ret.id,
        order_id=ret.order_id,
        item_id=ret.item_id,
        item_name=ret.item.name,
        reason=ret.reason,  # type: ignore[arg-type]
        refund_method=ret.refund_method,  # type: ignore[arg-type]
        refund_amount=money(ret.refund_amount_cents),
        currency="USD",
        status=ret.status,
        refund_status=ret.refund_status,  # type: ignore[arg-type]
        label_reference=ret.label_reference,
        created_at=iso_time(ret.created_at) or "",
        refunded_at=iso_time(ret.refunded_at),
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
