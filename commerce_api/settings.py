"""Runtime configuration of the commerce API, read once from environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SEED_MODES = ("if_empty", "never", "always")
SHOPS = ("demo", "tau-retail")  # what `SHOP` may name; commerce_api.shops loads each
DEFAULT_SHOPS_DIR = str(Path(__file__).resolve().parents[1] / "shops")  # the repository's shops/
DEMO_TOKEN = "demo-commerce-token"  # noqa: S105 -- public demo default; deployments set COMMERCE_API_TOKEN


@dataclass(frozen=True)
class Settings:
    """All tunables of the service; build it with :meth:`from_env`."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str = DEMO_TOKEN
    database_url: str = "sqlite:///.data/commerce.db"
    seed_on_start: str = "if_empty"
    return_window_days: int = 30
    # Which shop seeding loads (SHOP), and where shop data files live (COMMERCE_SHOPS_DIR).
    shop: str = "demo"
    shops_dir: str = DEFAULT_SHOPS_DIR
    # Verification rate limits (both verify endpoints): failures per target and per client in a rolling window.
    verify_max_failures: int = 5
    verify_max_failures_per_client: int = 20
    verify_window_seconds: int = 900

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        seed = env.get("COMMERCE_SEED_ON_START", cls.seed_on_start).strip().lower()
        if seed not in SEED_MODES:
            raise ValueError(f"COMMERCE_SEED_ON_START must be one of {', '.join(SEED_MODES)}, got {seed!r}")
        token = env.get("COMMERCE_API_TOKEN", cls.token)
        if not token:
            raise ValueError("COMMERCE_API_TOKEN must not be empty")
        shop = env.get("SHOP", cls.shop).strip().lower() or cls.shop
        if shop not in SHOPS:
            raise ValueError(f"SHOP must be one of {', '.join(SHOPS)}, got {shop!r}")
        return cls(
            host=env.get("COMMERCE_API_HOST", cls.host),
            port=_int(env, "COMMERCE_API_PORT", cls.port, minimum=1, maximum=65535),
            token=token,
            database_url=env.get("COMMERCE_DATABASE_URL", cls.database_url),
            seed_on_start=seed,
            return_window_days=_int(env, "RETURN_WINDOW_DAYS", cls.return_window_days, minimum=0, maximum=3650),
            shop=shop,
            shops_dir=env.get("COMMERCE_SHOPS_DIR") or cls.shops_dir,
            verify_max_failures=_int(env, "VERIFY_MAX_FAILURES", cls.verify_max_failures, minimum=1, maximum=1000),
            verify_max_failures_per_client=_int(
                env, "VERIFY_MAX_FAILURES_PER_CLIENT", cls.verify_max_failures_per_client, minimum=1, maximum=100_000
            ),
            verify_window_seconds=_int(
                env, "VERIFY_WINDOW_SECONDS", cls.verify_window_seconds, minimum=1, maximum=7 * 86400
            ),
        )


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value
