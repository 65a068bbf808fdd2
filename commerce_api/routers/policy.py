"""The shop's policy: return window, refund destinations and timings, what each order status allows."""

from __future__ import annotations

from fastapi import APIRouter

from commerce_api import schemas
from commerce_api.deps import ReadSession, SettingsDep
from commerce_api.routers.common import error_responses
from commerce_api.services import shop_policy

router = APIRouter(tags=["policy"])


@router.get("/policy", response_model=schemas.PolicyOut, responses=error_responses(401))
def get_policy(session: ReadSession, settings: SettingsDep) -> schemas.PolicyOut:
    return shop_policy.get_policy(session=session, return_window_days=settings.return_window_days)
