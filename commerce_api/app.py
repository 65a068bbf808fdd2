"""Application factory: wires settings, database, error handlers and routers into a FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from commerce_api import __version__
from commerce_api.db import Database
from commerce_api.deps import require_token
from commerce_api.errors import install_error_handlers
from commerce_api.routers import customers, exchanges, health, orders, policy, products, returns, tracking
from commerce_api.seed import seed_on_start
from commerce_api.settings import Settings
from commerce_api.telemetry import instrument

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Reference commerce backend (orders, customers, returns, exchanges, shipping, products, policy) for the support "
    "assistant; docs/commerce-api.md is the contract for a shop implementing it. "
    "All routes except /health need `Authorization: Bearer <token>`; writes need an `Idempotency-Key` header. "
    'Errors are always `{"error": {"code", "message", ...}}`.'
)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the app. Nothing touches the database until startup (migrations + seed) or the first request."""
    settings = settings or Settings.from_env()
    owns_database = database is None
    db = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The schema at the head revision before serving (under a lock: replicas starting together apply
        # each revision once; a database ahead of this release stops the start here).
        applied = db.migrate()
        if applied:
            log.info("commerce database migrated: %s", ", ".join(applied))
        seed_on_start(database=db, mode=settings.seed_on_start, shop=settings.shop, shops_dir=settings.shops_dir)
        yield
        if owns_database:
            db.dispose()

    app = FastAPI(title="Commerce API", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.database = db
    install_error_handlers(app)
    instrument(app)  # request spans (continuing the caller's trace), /metrics, request log
    app.include_router(health.router)
    protected = [Depends(require_token)]
    app.include_router(orders.router, dependencies=protected)
    app.include_router(returns.router, dependencies=protected)
    app.include_router(exchanges.router, dependencies=protected)
    app.include_router(tracking.router, dependencies=protected)
    app.include_router(customers.router, dependencies=protected)
    app.include_router(policy.router, dependencies=protected)
    app.include_router(products.router, dependencies=protected)
    return app
