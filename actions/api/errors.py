"""Errors raised by the commerce API client.

    CommerceError                 base class: anything that went wrong talking to the API
    ├── CommerceUnavailable       timeout, refused connection, 5xx: try again later
    │   ├── CircuitOpen           not even tried: the circuit breaker is open (nothing was sent)
    │   └── InProgress            409: an earlier attempt with this Idempotency-Key is still running
    ├── NotFound                  404: the order, item, return or parcel does not exist
    ├── Conflict                  409: a business rule said no (`code` and `reason` say which)
    ├── Rejected                  400/422: the request was invalid (`fields` says why)
    ├── TooManyAttempts           429 too_many_attempts: verification is locked (`retry_after` seconds)
    └── Unauthorized              401/403: the action server's token is wrong (an operator problem)
"""

from __future__ import annotations

from typing import Any, Dict, Optional


class CommerceError(Exception):
    """Something went wrong talking to the commerce API."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        reason: Optional[str] = None,
        fields: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.reason = reason
        self.fields = fields or {}


class CommerceUnavailable(CommerceError):
    """The API timed out, refused the connection or failed on its side."""


class CircuitOpen(CommerceUnavailable):
    """The circuit breaker is open: the call failed fast and nothing was sent."""


class InProgress(CommerceUnavailable):
    """An earlier request with the same Idempotency-Key is still being processed by the API."""


class NotFound(CommerceError):
    """The requested resource does not exist."""


class Conflict(CommerceError):
    """A business rule refused the request (e.g. the order already shipped)."""


class Rejected(CommerceError):
    """The API judged the request invalid."""


class TooManyAttempts(CommerceError):
    """The API refuses more verification attempts for these details or this client for a while."""

    def __init__(self, message: str, *, retry_after: int = 60, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class Unauthorized(CommerceError):
    """The API refused our credentials."""
