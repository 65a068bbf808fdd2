"""Shipment tracking from the events stored in the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from commerce_api import ids, schemas
from commerce_api.errors import not_found
from commerce_api.models import Shipment
from commerce_api.views import tracking_view


def track(*, session: Session, tracking_number: str) -> schemas.TrackingOut:
    number = tracking_number.strip().upper()
    shipment = None
    if ids.is_tracking_number(number):
        shipment = session.scalars(
            select(Shipment).where(Shipment.tracking_number == number).options(selectinload(Shipment.events))
        ).first()
    if shipment is None:
        raise not_found("tracking_not_found", "We couldn't find a shipment with that tracking number.")
    return tracking_view(shipment)
