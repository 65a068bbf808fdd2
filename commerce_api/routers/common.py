"""Pieces shared by the routers: the Idempotency-Key and X-Client-Key headers, documented error responses,
and the one way a write answers (`write_once`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from commerce_api import attempts, idempotency
from commerce_api.db import Database
from commerce_api.deps import SettingsDep
from commerce_api.ids import CLIENT_KEY_PATTERN
from commerce_api.schemas import ErrorResponse

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required on writes; a retry with the same key and body replays the first response.",
    ),
]

_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds until another attempt can be made.", "schema": {"type": "integer"}}
}


def write_once(
    request: Request,
    database: Database,
    key: str,
    payload: Any,
    produce: Callable[[Session], BaseModel],
    *,
    status: int = 200,
) -> Response:
    """A write that happens at most once per Idempotency-Key: `produce` runs in one transaction with the key's
    claim, and a retry with the same key and body (`payload` is what is fingerprinted) replays its answer."""

    def work(session: Session) -> tuple[int, bytes]:
        return status, produce(session).model_dump_json().encode("utf-8")

    return idempotency.execute(
        database=database,
        key=key,
        method=request.method,
        route=request.scope["path"],
        request_hash=idempotency.fingerprint(payload),
        work=work,
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        responses[status] = {"model": ErrorResponse}
        if status == 429:
            responses[status]["headers"] = _RETRY_AFTER
    return responses


def client_subject(
    request: Request,
    x_client_key: Annotated[
        str | None,
        Header(
            alias="X-Client-Key",
            pattern=CLIENT_KEY_PATTERN,
            description=(
                "Opaque id of the end client (e.g. the conversation's customer session), 1-128 printable "
                "ASCII characters. Failed verifications are also limited per client; without this header "
                "every request from the same address shares one anonymous client."
            ),
        ),
    ] = None,
) -> attempts.Subject:
    if x_client_key is not None:
        return attempts.Subject("client", f"key:{x_client_key}")
    return attempts.Subject("client", f"anonymous:{request.client.host if request.client else 'unknown'}")


def verify_limits(settings: SettingsDep) -> attempts.Limits:
    return attempts.Limits(
        per_target=settings.verify_max_failures,
        per_client=settings.verify_max_failures_per_client,
        window=timedelta(seconds=settings.verify_window_seconds),
    )


ClientSubject = Annotated[attempts.Subject, Depends(client_subject)]
VerifyLimits = Annotated[attempts.Limits, Depends(verify_limits)]
