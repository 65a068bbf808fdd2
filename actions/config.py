"""Configuration of the action server, read once from the environment.

Every port, URL and secret has an embedded default so `make run` works on a
laptop; production overrides them through environment variables
(`.env.example` lists them all).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_COMMERCE_API_URL = "http://127.0.0.1:8000"
DEFAULT_COMMERCE_API_TOKEN = "demo-commerce-token"
DEFAULT_LEDGER_URL = "sqlite:///.data/ledger.db"
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 2.0
DEFAULT_READ_RETRIES = 2
# One commerce API call, retries and backoff included, never takes longer than this: a
# retry is only started if its backoff and a whole attempt (connect + read timeout) fit.
DEFAULT_RETRY_BUDGET_SECONDS = 10.0
# Backoff before retry n is BACKOFF_FACTOR * 2**(n-1) plus up to BACKOFF_JITTER seconds at random.
DEFAULT_BACKOFF_FACTOR = 0.2
DEFAULT_BACKOFF_JITTER = 0.2
# The circuit opens after this many calls in a row failed (after their retries) and lets one
# probe through after BREAKER_RESET seconds.
DEFAULT_BREAKER_FAILURES = 5
DEFAULT_BREAKER_RESET_SECONDS = 30.0
# Margin on top of three call budgets (ownership check, write, reconciliation) for the ledger writes.
EXECUTION_LEASE_MARGIN_SECONDS = 5.0
DEFAULT_GATE_TTL_MINUTES = 15
DEFAULT_MAX_VERIFICATION_FAILURES = 3
DEFAULT_MAX_FAILED_ATTEMPTS = 3


@dataclass(frozen=True)
class Settings:
    """Settings of the action server."""

    commerce_api_url: str
    commerce_api_token: str
    ledger_url: str
    timeout_seconds: float
    connect_timeout_seconds: float
    read_retries: int
    gate_ttl_minutes: float
    max_verification_failures: int
    max_failed_attempts: int
    # Logged-in shoppers: the shop signs a JWT naming the customer (`sub`); HS256
    # with a shared secret or RS256 with the shop's public key. Unset: no logins.
    customer_token_secret: str = ""
    customer_token_public_key: str = ""
    customer_token_audience: str = ""
    customer_token_issuer: str = ""
    retry_budget_seconds: float = DEFAULT_RETRY_BUDGET_SECONDS
    backoff_factor: float = DEFAULT_BACKOFF_FACTOR
    backoff_jitter: float = DEFAULT_BACKOFF_JITTER
    breaker_failures: int = DEFAULT_BREAKER_FAILURES
    breaker_reset_seconds: float = DEFAULT_BREAKER_RESET_SECONDS
    # 0: derived from the retry budget (see `execution_lease_seconds`)
    gate_execution_lease_seconds: float = 0.0
    # A shop's helpdesk told of every handoff (actions.handoffs); unset: the agent inbox only.
    handoff_webhook_url: str = ""
    handoff_webhook_secret: str = ""

    @property
    def execution_lease_seconds(self) -> float:
        """How long a claimed gate row may stay `executing` before it counts as orphaned.

        An execution is at most three commerce API calls (ownership check, the write, the
        reconciliation read), each bounded by the retry budget; a row still `executing` after
        that belongs to a process that died, and another may take it over (same idempotency key).
        """
        if self.gate_execution_lease_seconds > 0:
            return self.gate_execution_lease_seconds
        return 3 * self.retry_budget_seconds + EXECUTION_LEASE_MARGIN_SECONDS

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        return cls(
            commerce_api_url=env.get("COMMERCE_API_URL", DEFAULT_COMMERCE_API_URL).rstrip("/"),
            commerce_api_token=env.get("COMMERCE_API_TOKEN", DEFAULT_COMMERCE_API_TOKEN),
            ledger_url=env.get("ACTION_LEDGER_URL", DEFAULT_LEDGER_URL),
            timeout_seconds=float(env.get("COMMERCE_API_TIMEOUT", DEFAULT_TIMEOUT_SECONDS)),
            connect_timeout_seconds=float(
                env.get("COMMERCE_API_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT_SECONDS)
            ),
            read_retries=int(env.get("COMMERCE_API_READ_RETRIES", DEFAULT_READ_RETRIES)),
            gate_ttl_minutes=float(env.get("GATE_TTL_MINUTES", DEFAULT_GATE_TTL_MINUTES)),
            max_verification_failures=int(
                env.get("MAX_VERIFICATION_FAILURES", DEFAULT_MAX_VERIFICATION_FAILURES)
            ),
            max_failed_attempts=int(env.get("MAX_FAILED_ATTEMPTS", DEFAULT_MAX_FAILED_ATTEMPTS)),
            customer_token_secret=env.get("CUSTOMER_TOKEN_SECRET", ""),
            customer_token_public_key=env.get("CUSTOMER_TOKEN_PUBLIC_KEY", "").replace("\\n", "\n"),
            customer_token_audience=env.get("CUSTOMER_TOKEN_AUDIENCE", ""),
            customer_token_issuer=env.get("CUSTOMER_TOKEN_ISSUER", ""),
            retry_budget_seconds=float(env.get("COMMERCE_API_RETRY_BUDGET", DEFAULT_RETRY_BUDGET_SECONDS)),
            backoff_factor=float(env.get("COMMERCE_API_BACKOFF_FACTOR", DEFAULT_BACKOFF_FACTOR)),
            backoff_jitter=float(env.get("COMMERCE_API_BACKOFF_JITTER", DEFAULT_BACKOFF_JITTER)),
            breaker_failures=int(env.get("COMMERCE_API_BREAKER_FAILURES", DEFAULT_BREAKER_FAILURES)),
            breaker_reset_seconds=float(env.get("COMMERCE_API_BREAKER_RESET", DEFAULT_BREAKER_RESET_SECONDS)),
            gate_execution_lease_seconds=float(env.get("GATE_EXECUTION_LEASE_SECONDS", 0)),
            handoff_webhook_url=env.get("HANDOFF_WEBHOOK_URL", ""),
            handoff_webhook_secret=env.get("HANDOFF_WEBHOOK_SECRET", ""),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read on first use, not at import time)."""
    return Settings.from_env()
