"""Pieces shared by the write endpoints: the Idempotency-Key header and documented error responses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header

from commerce_api.schemas import ErrorResponse

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required on writes; a retry with the same key and body replays the first response.",
    ),
]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse} for status in statuses}
