"""A circuit breaker for the commerce API: stop calling a dead API, probe it, recover.

    closed     calls go through; `failure_threshold` failed calls in a row open the circuit
    open       calls fail at once with `CircuitOpen`, without touching the network, until
               `reset_seconds` have passed since it opened
    half-open  exactly one call (the probe) goes through, the others still fail fast; the
               probe's success closes the circuit, its failure opens it again for `reset_seconds`

One breaker per action-server process, inside the one commerce client; "a failed call" is one
whose retries (within the retry budget) all failed, decided by the client (`is_failure`).

Why not pybreaker: `pybreaker.CircuitBreaker.call` holds the breaker's lock for the whole
guarded call (danielfm/pybreaker#3; the pull requests that would change it were closed), so
every commerce API call of the action server's worker threads would queue behind one slow
request: three concurrent one-second calls take three seconds. `circuitbreaker` has no locking
at all and lets every call through while half-open. Here the lock only guards the state
changes, never the call.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional, TypeVar

from actions.api.errors import CircuitOpen

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Thread-safe; the guarded call itself runs outside the lock."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_seconds: float,
        is_failure: Callable[[BaseException], bool],
        on_change: Optional[Callable[[str, str], None]] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = max(1, failure_threshold)
        self.reset_seconds = reset_seconds
        self._is_failure = is_failure
        self._on_change = on_change or (lambda old, new: None)
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_running = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def call(self, function: Callable[..., T], *args, **kwargs) -> T:
        """Runs `function` if the circuit lets it through; raises `CircuitOpen` otherwise."""
        probe = self._admit()
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            self._settle(probe, failed=self._is_failure(error))
            raise
        self._settle(probe, failed=False)
        return result

    def _admit(self) -> bool:
        """True if this call is the half-open probe; raises CircuitOpen if it may not run."""
        with self._lock:
            if self._state == CLOSED:
                return False
            if self._state == OPEN:
                waited = self._clock() - self._opened_at
                if waited < self.reset_seconds:
                    raise CircuitOpen(f"commerce API circuit open, next probe in {self.reset_seconds - waited:.1f} s")
                self._move(HALF_OPEN)
            if self._probe_running:
                raise CircuitOpen("commerce API circuit half-open, a probe is running")
            self._probe_running = True
            return True

    def _settle(self, probe: bool, *, failed: bool) -> None:
        with self._lock:
            if probe:
                self._probe_running = False
            if not failed:
                self._failures = 0
                if self._state != CLOSED and probe:
                    self._move(CLOSED)
                return
            self._failures += 1
            if probe or (self._state == CLOSED and self._failures >= self.failure_threshold):
                self._opened_at = self._clock()
                self._move(OPEN)

    def _move(self, new: str) -> None:
        old, self._state = self._state, new
        if old != new:
            self._on_change(old, new)
