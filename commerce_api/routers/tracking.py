"""Shipment tracking endpoint backed by the tracking events stored in the database."""

from __future__ import annotations

from fastapi import APIRouter

from commerce_api import schemas
from commerce_api.deps import ReadSession
from commerce_api.routers.common import error_responses
from commerce_api.services import tracking

router = APIRouter(prefix="/track", tags=["tracking"])


@router.get("/{tracking_number}", response_model=schemas.TrackingOut, responses=error_responses(401, 404))
def track(tracking_number: str, session: ReadSession) -> schemas.TrackingOut:
    return tracking.track(session=session, tracking_number=tracking_number)
