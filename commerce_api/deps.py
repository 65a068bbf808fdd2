"""FastAPI dependencies: settings, database, bearer-token auth and per-request read sessions."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from commerce_api.db import Database
from commerce_api.errors import ApiError
from commerce_api.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="Shared API token (COMMERCE_API_TOKEN).")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.database


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = get_settings(request).token.encode("utf-8")
    given = credentials.credentials.encode("utf-8") if credentials else b""
    # Constant-time comparison so the token can't be guessed byte by byte from response timings.
    if not credentials or not hmac.compare_digest(given, expected):
        raise ApiError(
            status_code=401,
            code="unauthorized",
            message="Missing or invalid bearer token.",
            headers={"WWW-Authenticate": "Bearer"},
        )


def read_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A session for read-only endpoints; the transaction is closed when the request ends."""
    with database.transaction() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
ReadSession = Annotated[Session, Depends(read_session)]
