"""Remembers which platform deliveries were already handled.

Slack redelivers an event (same `event_id`) when it did not get a 200 within
three seconds, and Messenger redelivers a message (same `mid`) on timeouts. Each
delivery must reach the assistant once. This set lives in the channel instance,
so it is per process: one Rasa server (the embedded default) is covered;
replicas behind a load balancer need a shared store (e.g. Redis SET NX with a TTL).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Optional


class SeenIds:
    """A bounded set of ids that forgets each id after `ttl_seconds`."""

    def __init__(self, max_size: int = 10_000, ttl_seconds: float = 3600,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_size = max_size
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._seen: "OrderedDict[str, float]" = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: Optional[str]) -> bool:
        """True the first time `key` is offered (within the TTL), False after that.

        A delivery without an id cannot be recognised again and always counts as new.
        """
        if not key:
            return True
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, seen_at = next(iter(self._seen.items()))
                if now - seen_at < self.ttl_seconds:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            self._seen[key] = now
            while len(self._seen) > self.max_size:
                self._seen.popitem(last=False)
            return True

    def __len__(self) -> int:
        return len(self._seen)
