"""The shop's return and refund policy as the commerce API enforces it (`GET /policy`).

Quoted by the bot wherever it names a return window or a refund timing, so the bot and the API
cannot disagree. An API without the endpoint falls back to the profile's `policy` section. The
answer is kept for a minute: policies change rarely and it is read on many turns.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from actions.api.commerce import CommerceClient
from actions.api.errors import NotFound
from actions.shop.profile import get_profile

CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Policy:
    return_window_days: int
    refund_methods: Tuple[str, ...]
    #: business days from the warehouse receiving a return to the refund, per destination
    refund_days: Dict[str, Tuple[int, int]]

    def refund_timing(self, method: str) -> str:
        low, high = self.refund_days.get(method) or self.refund_days.get("original_payment") or (5, 10)
        if high == 0:
            return "minutes"
        return f"{low}–{high} business days" if low != high else f"{low} business days"


_lock = threading.Lock()
_cached: Optional[Tuple[float, Policy]] = None


def get_policy(client: CommerceClient) -> Policy:
    """The API's policy (or the profile's fallback), at most a minute old; may raise CommerceError."""
    global _cached
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < CACHE_SECONDS:
            return _cached[1]
    policy = _read(client)
    with _lock:
        _cached = (time.monotonic(), policy)
    return policy


def forget_policy() -> None:
    global _cached
    with _lock:
        _cached = None


def _read(client: CommerceClient) -> Policy:
    fallback = get_profile().policy
    try:
        raw = client.policy()
    except NotFound:
        return Policy(
            return_window_days=fallback.return_window_days,
            refund_methods=tuple(fallback.refund_methods),
            refund_days={method: (fallback.refund_days_min, fallback.refund_days_max)
                         for method in fallback.refund_methods},
        )
    days = {}
    for method, span in (raw.get("refund_days") or {}).items():
        if isinstance(span, dict):
            days[method] = (int(span.get("min", fallback.refund_days_min)),
                            int(span.get("max", fallback.refund_days_max)))
    return Policy(
        return_window_days=int(raw.get("return_window_days", fallback.return_window_days)),
        refund_methods=tuple(raw.get("refund_methods") or fallback.refund_methods),
        refund_days=days or {"original_payment": (fallback.refund_days_min, fallback.refund_days_max)},
    )
