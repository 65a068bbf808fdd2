"""Turns a Rasa endpoint block (`url`, `port`, `password`, ...) into Redis clients."""

from __future__ import annotations

import ssl as ssl_module
from dataclasses import dataclass
from typing import Any, Dict, Optional

import redis
import redis.asyncio as aioredis

# Seconds a Redis command may take before it counts as failed: long enough for a busy
# server, short enough that a customer hears "try again" instead of waiting forever.
DEFAULT_SOCKET_TIMEOUT = 5.0
# Seconds a command may wait for a free pooled connection: a busy replica queues here
# (a dead Redis fails at connect instead), so this is much longer than the socket timeout.
POOL_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class RedisSettings:
    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: Optional[str] = None
    password: Optional[str] = None
    use_ssl: bool = False
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT
    max_connections: int = 128

    @classmethod
    def from_endpoint(cls, url: Optional[str], kwargs: Dict[str, Any], default_db: int) -> "RedisSettings":
        def value(name: str, default: Any) -> Any:
            found = kwargs.get(name)
            return default if found in (None, "") else found

        return cls(
            host=url or value("host", "127.0.0.1"),
            port=int(value("port", 6379)),
            db=int(value("db", default_db)),
            username=value("username", None),
            password=value("password", None),
            use_ssl=str(value("use_ssl", "false")).lower() in ("1", "true", "yes"),
            socket_timeout=float(value("socket_timeout", DEFAULT_SOCKET_TIMEOUT)),
            max_connections=int(value("max_connections", 128)),
        )

    def _options(self) -> Dict[str, Any]:
        options: Dict[str, Any] = dict(
            host=self.host, port=self.port, db=self.db, username=self.username, password=self.password,
            socket_timeout=self.socket_timeout, socket_connect_timeout=self.socket_timeout,
            max_connections=self.max_connections, health_check_interval=30,
        )
        if self.use_ssl:
            options.update(ssl=True, ssl_cert_reqs=ssl_module.CERT_REQUIRED)
        return options

    def async_client(self) -> aioredis.Redis:
        # A blocking pool waits for a free connection under load instead of failing with
        # "Too many connections".
        options = self._options()
        pool = aioredis.BlockingConnectionPool(timeout=max(POOL_WAIT_SECONDS, self.socket_timeout), **options)
        return aioredis.Redis(connection_pool=pool)

    def sync_client(self) -> redis.Redis:
        return redis.Redis(**self._options())
