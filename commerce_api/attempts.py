"""Failed-verification counters shared by every API replica: one row per failure in `verify_failures`.

A verification names a *target* (an order id, a normalized email or a normalized name) and comes from a
*client* (the X-Client-Key the assistant sends per end client, or one anonymous key per calling address).
Failures are counted per target and per client over a rolling window; once either has reached its limit,
every attempt on it, right or wrong, is refused until enough failures have aged out of the window, so a
locked-out guesser learns nothing more. A success clears the target's failures (not the client's).

Race safety: `guard` runs inside the caller's transaction and first serializes the attempts that share a
target or client. On PostgreSQL that is a transaction-scoped advisory lock per subject, taken in sorted
order so two attempts can never deadlock; on SQLite every transaction already holds the write lock from
its start (BEGIN IMMEDIATE, see commerce_api.db). Count, decision and the new failure row commit together.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from commerce_api.errors import ApiError
from commerce_api.models import VerifyFailure

SWEEP_BATCH = 100  # expired rows of other subjects removed per recorded failure, so the table stays small


@dataclass(frozen=True)
class Limits:
    per_target: int
    per_client: int
    window: timedelta


@dataclass(frozen=True)
class Subject:
    """Something failures are counted against: scope is order | email | name | client."""

    scope: str
    value: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.scope}:{self.value}".encode()).hexdigest()

    @property
    def lock_id(self) -> int:
        # PostgreSQL advisory locks take a signed 64-bit key; a collision only serializes a little more.
        return int.from_bytes(hashlib.sha256(self.digest.encode()).digest()[:8], "big", signed=True)


def too_many_attempts(retry_after: int) -> ApiError:
    return ApiError(
        status_code=429,
        code="too_many_attempts",
        message="Too many failed verification attempts; please wait before trying again.",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


def _serialize(session: Session, subjects: list[Subject]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: the transaction began IMMEDIATE, so it is the only writer already
    for lock_id in sorted({s.lock_id for s in subjects}):
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def _seconds_until_unlocked(failures: list[datetime], *, limit: int, window: timedelta, now: datetime) -> int:
    """0 when fewer than `limit` failures are in the window, else whole seconds until one fewer would be."""
    if len(failures) < limit:
        return 0
    oldest_first = sorted(failures)
    # The subject is free again once only limit-1 failures remain in the window: when this one leaves it.
    leaves_at = oldest_first[len(oldest_first) - limit] + window
    return max(1, math.ceil((leaves_at - now).total_seconds()))


def guard(session: Session, *, target: Subject, client: Subject, limits: Limits, now: datetime) -> int:
    """Serialize on target and client, then raise 429 if either is locked. Call before comparing anything.

    Returns how many failures the target has in the window (what a success has to clear).
    """
    _serialize(session, [target, client])
    since = now - limits.window
    rows = session.execute(
        select(VerifyFailure.subject, VerifyFailure.failed_at).where(
            VerifyFailure.subject.in_([target.digest, client.digest]), VerifyFailure.failed_at > since
        )
    ).all()
    waits = [
        _seconds_until_unlocked(
            [r.failed_at for r in rows if r.subject == subject.digest], limit=limit, window=limits.window, now=now
        )
        for subject, limit in ((target, limits.per_target), (client, limits.per_client))
    ]
    if max(waits) > 0:
        raise too_many_attempts(max(waits))
    return sum(1 for r in rows if r.subject == target.digest)


def record_failure(session: Session, *, target: Subject, client: Subject, limits: Limits, now: datetime) -> None:
    since = now - limits.window
    session.add_all(
        [
            VerifyFailure(scope=target.scope, subject=target.digest, failed_at=now),
            VerifyFailure(scope=client.scope, subject=client.digest, failed_at=now),
        ]
    )
    # Our own subjects' expired rows (we hold their locks), then a bounded sweep of anyone's expired rows
    # that skips rows another transaction is touching, so sweeps never wait on or deadlock each other.
    session.execute(
        delete(VerifyFailure).where(
            VerifyFailure.subject.in_([target.digest, client.digest]), VerifyFailure.failed_at <= since
        )
    )
    expired = (
        select(VerifyFailure.id)
        .where(VerifyFailure.failed_at <= since)
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(VerifyFailure).where(VerifyFailure.id.in_(expired.scalar_subquery())))


def clear_target(session: Session, *, target: Subject, failures: int) -> None:
    """A success: the target's failures are forgiven (the client's stay counted)."""
    if failures:  # the common success has nothing to clear: no write at all
        session.execute(delete(VerifyFailure).where(VerifyFailure.subject == target.digest))
