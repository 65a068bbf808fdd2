"""Idempotency-Key handling for writes: claim the key atomically, run the work, store and replay the response."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Response
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from commerce_api.db import Database
from commerce_api.errors import ApiError, json_bytes
from commerce_api.formatting import utcnow
from commerce_api.models import IdempotencyKey

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200
IN_PROGRESS, COMPLETED = "in_progress", "completed"
# A claim still in progress after this long belongs to a process that died mid-request (the work and the
# completion commit together, so the work did not happen); a retry may take it over.
STALE_CLAIM_AFTER = timedelta(seconds=120)
CLAIM_ATTEMPTS = 3

Work = Callable[[Session], tuple[int, bytes]]


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes


def require_key(raw: str | None) -> str:
    """Validate the Idempotency-Key header value (400 when missing or unusable)."""
    if raw is None or raw.strip() == "":
        raise ApiError(
            status_code=400,
            code="idempotency_key_required",
            message=f"Write requests need an {HEADER} header (e.g. a UUID) so retries are safe.",
        )
    if len(raw) > MAX_KEY_LENGTH or not all(32 < ord(ch) < 127 for ch in raw):
        raise ApiError(
            status_code=400,
            code="invalid_idempotency_key",
            message=f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters without spaces.",
        )
    return raw


def fingerprint(payload: Any) -> str:
    """Hash of the validated request body; key order and whitespace do not matter."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def claim(*, database: Database, key: str, method: str, route: str, request_hash: str) -> StoredResponse | None:
    """Claim `key` for this request. Returns None when claimed, the stored response to replay, or raises."""
    for _ in range(CLAIM_ATTEMPTS):
        try:
            with database.transaction() as session:
                session.add(
                    IdempotencyKey(
                        key=key,
                        method=method,
                        route=route,
                        request_hash=request_hash,
                        state=IN_PROGRESS,
                        created_at=utcnow(),
                    )
                )
                session.flush()  # the primary key makes this INSERT the atomic claim
            return None
        except IntegrityError:
            pass  # somebody owns the key already; find out what it holds

        with database.transaction() as session:
            row = session.get(IdempotencyKey, key)
            if row is None:
                continue  # its claim was released in the meantime: try to claim again
            if (row.method, row.route, row.request_hash) != (method, route, request_hash):
                raise ApiError(
                    status_code=422,
                    code="idempotency_key_reused",
                    message=f"This {HEADER} was already used for a different request; use a new key.",
                )
            if row.state == COMPLETED and row.response_status is not None and row.response_body is not None:
                return StoredResponse(row.response_status, row.response_body.encode("utf-8"))
            if row.created_at < utcnow() - STALE_CLAIM_AFTER:
                taken = session.execute(
                    update(IdempotencyKey)
                    .where(
                        IdempotencyKey.key == key,
                        IdempotencyKey.state == IN_PROGRESS,
                        IdempotencyKey.created_at == row.created_at,
                    )
                    .values(created_at=utcnow())
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    return None
        break
    raise ApiError(
        status_code=409,
        code="idempotency_request_in_progress",
        message="A request with this Idempotency-Key is still being processed; retry shortly.",
    )


def _complete(session: Session, *, key: str, status_code: int, body: bytes) -> None:
    done = session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == key, IdempotencyKey.state == IN_PROGRESS)
        .values(state=COMPLETED, response_status=status_code, response_body=body.decode("utf-8"), completed_at=utcnow())
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise RuntimeError(f"idempotency claim for key {key!r} vanished before completion")


def _release(database: Database, key: str) -> None:
    try:
        with database.transaction() as session:
            session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.state == IN_PROGRESS)
            )
    except SQLAlchemyError:
        log.exception("could not release idempotency claim; it expires after %s", STALE_CLAIM_AFTER)


def execute(*, database: Database, key: str, method: str, route: str, request_hash: str, work: Work) -> Response:
    """Run `work` at most once per key and answer with its (stored) response.

    `work` runs inside a transaction and returns (status, JSON bytes); the key is marked completed in that same
    transaction. A 4xx ApiError is stored as the answer too; any other failure releases the claim for a retry.
    """
    stored = claim(database=database, key=key, method=method, route=route, request_hash=request_hash)
    if stored is not None:
        return Response(
            content=stored.body,
            status_code=stored.status_code,
            media_type="application/json",
            headers={REPLAY_HEADER: "true"},
        )
    try:
        with database.session() as session:
            try:
                with session.begin():
                    status_code, body = work(session)
                    _complete(session, key=key, status_code=status_code, body=body)
            except ApiError as err:
                if err.status_code >= 500:
                    raise
                status_code, body = err.status_code, json_bytes(err.payload())
                with session.begin():
                    _complete(session, key=key, status_code=status_code, body=body)
    except BaseException:
        _release(database, key)
        raise
    return Response(content=body, status_code=status_code, media_type="application/json")
