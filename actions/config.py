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
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read on first use, not at import time)."""
    return Settings.from_env()
