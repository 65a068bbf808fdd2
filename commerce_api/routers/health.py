"""Unauthenticated liveness/readiness probe that also checks the database."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from commerce_api import schemas
from commerce_api.deps import DatabaseDep
from commerce_api.errors import error_payload
from commerce_api.routers.common import error_responses

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/health", response_model=schemas.HealthOut, responses=error_responses(503))
def health(database: DatabaseDep):
    try:
        database.ping()
    except Exception as exc:  # noqa: BLE001 -- any failure to reach the DB means "not ready", never a 500
        log.warning("health check failed: %s", exc.__class__.__name__)
        return JSONResponse(
            error_payload("database_unavailable", "The order database is not reachable.", database="unavailable"),
            status_code=503,
        )
    return schemas.HealthOut(status="ok", database="ok")
