"""A conversation lock that stays correct with many Rasa processes on one Redis.

Rasa 3.6's `RedisLockStore` keeps each conversation's ticket queue as one JSON value
and issues a ticket by GET, append, SET. Two processes that read the same value
both write ticket N and both believe they are first, so two turns of one
conversation run at once (RasaHQ/rasa#9213). Here every step is one Redis command
or one Lua script, so it is atomic on the server:

    issue    INCR a per-conversation counter, add the ticket to a sorted queue and
             give it a lease key (PX = lock lifetime) owned by a random token
    acquire  drop dead tickets (lease gone) from the head; the lowest live ticket holds
             the lock; a waiter refreshes its own lease so it keeps its place
    renew    while a turn runs, the holder extends its lease every lifetime/3,
             only if the lease still carries its token; a slow action therefore
             never lets the next turn in, and a crashed process frees the lock
             after one lifetime
    release  compare-and-delete the lease (only with the owner's token), remove the
             ticket, and delete the conversation's keys when nobody is queued

All keys of a conversation share one hash tag, so the scripts also run on a Redis
Cluster.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncGenerator, Optional, Text

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from shop_stores.redis_settings import RedisSettings

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "shoplock"
DEFAULT_LIFETIME_SECONDS = 60.0
# Waiting for a free lock: first poll soon (most turns take tens of milliseconds), then back off.
FIRST_POLL_SECONDS = 0.005
MAX_POLL_SECONDS = 0.1

# KEYS: counter, queue. ARGV: lease key prefix, token, lifetime ms.
# A counter that expired while tickets were still queued restarts above the highest one,
# so ticket numbers never repeat within a queue.
ISSUE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  local highest = redis.call('ZRANGE', KEYS[2], -1, -1)
  if highest[1] then redis.call('SET', KEYS[1], highest[1]) end
end
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ticket, ticket)
redis.call('SET', ARGV[1] .. ticket, ARGV[2], 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[3] * 4)
redis.call('PEXPIRE', KEYS[2], ARGV[3] * 4)
return ticket
"""

# KEYS: counter, queue. ARGV: lease key prefix, ticket, token, lifetime ms.
# Returns 1 = the caller holds the lock, 0 = wait, -1 = the caller's ticket is gone.
ACQUIRE = """
if redis.call('GET', ARGV[1] .. ARGV[2]) ~= ARGV[3] then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return -1
end
redis.call('PEXPIRE', ARGV[1] .. ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4] * 4)
redis.call('PEXPIRE', KEYS[2], ARGV[4] * 4)
while true do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not head then return -1 end
  if head == ARGV[2] then return 1 end
  if redis.call('EXISTS', ARGV[1] .. head) == 1 then return 0 end
  redis.call('ZREM', KEYS[2], head)
end
"""

# KEYS: counter, queue. ARGV: lease key prefix, ticket, token, lifetime ms. Returns 1 if renewed.
RENEW = """
if redis.call('GET', ARGV[1] .. ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('PEXPIRE', ARGV[1] .. ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4] * 4)
redis.call('PEXPIRE', KEYS[2], ARGV[4] * 4)
return 1
"""

# KEYS: counter, queue. ARGV: lease key prefix, ticket, token. Returns 1 if the caller still owned its lease.
RELEASE = """
local owned = 0
if redis.call('GET', ARGV[1] .. ARGV[2]) == ARGV[3] then
  redis.call('DEL', ARGV[1] .. ARGV[2])
  owned = 1
end
redis.call('ZREM', KEYS[2], ARGV[2])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
return owned
"""


@dataclass(frozen=True)
class _Keys:
    counter: str
    queue: str
    lease_prefix: str


class AtomicRedisLockStore(LockStore):
    """Ticket lock per conversation, atomic across processes (see the module docstring)."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs) -> None:
        options = dict(endpoint_config.kwargs) if endpoint_config else {}
        options.update(kwargs)
        url = endpoint_config.url if endpoint_config else options.pop("host", None)
        self.settings = RedisSettings.from_endpoint(url, options, default_db=1)
        self.key_prefix = str(options.get("key_prefix") or DEFAULT_KEY_PREFIX)
        self.lifetime = float(options.get("lock_lifetime") or os.environ.get("TICKET_LOCK_LIFETIME") or 0) \
            or DEFAULT_LIFETIME_SECONDS
        # The longest a message waits in the queue behind other turns of its conversation.
        self.max_wait = float(options.get("max_wait_seconds") or self.lifetime)
        self.redis = self.settings.async_client()
        self._sync = self.settings.sync_client()
        self._issue = self.redis.register_script(ISSUE)
        self._acquire = self.redis.register_script(ACQUIRE)
        self._renew = self.redis.register_script(RENEW)
        self._release = self.redis.register_script(RELEASE)
        super().__init__()

    async def _run(self, script, keys: _Keys, args: list) -> int:
        """Runs a script; once more on a fresh connection if a pooled one was dead.

        After a Redis restart every pooled connection is closed; the first command on
        each fails without reaching the server. ACQUIRE, RENEW and RELEASE are
        idempotent; a repeated ISSUE whose first reply was lost would leave an extra
        ticket whose lease expires after one lifetime.
        """
        try:
            return int(await script(keys=[keys.counter, keys.queue], args=args))
        except RedisConnectionError:
            return int(await script(keys=[keys.counter, keys.queue], args=args))

    def _keys(self, conversation_id: Text) -> _Keys:
        base = f"{self.key_prefix}:{{{conversation_id}}}"
        return _Keys(counter=f"{base}:next", queue=f"{base}:queue", lease_prefix=f"{base}:lease:")

    def _ms(self, seconds: float) -> int:
        return max(1, int(seconds * 1000))

    @asynccontextmanager
    async def lock(
        self, conversation_id: Text, lock_lifetime: float = 0, wait_time_in_seconds: float = 0
    ) -> AsyncGenerator[TicketLock, None]:
        """Holds the conversation's lock for the body of the `async with`.

        Rasa passes its own lifetime (60 s by default); this store's configured
        lifetime wins because the holder renews it anyway. Raises LockError when Redis
        cannot be reached or the wait exceeds `max_wait_seconds`: the caller must
        not touch the conversation then.
        """
        keys = self._keys(conversation_id)
        token = secrets.token_hex(16)
        lifetime_ms = self._ms(self.lifetime)
        try:
            ticket = await self._run(self._issue, keys, [keys.lease_prefix, token, lifetime_ms])
        except RedisError as error:
            raise LockError(f"Lock store unreachable for conversation '{conversation_id}': {error}") from error
        renewal: Optional[asyncio.Task] = None
        try:
            await self._wait_for_turn(conversation_id, keys, ticket, token, lifetime_ms)
            renewal = asyncio.create_task(self._keep_alive(conversation_id, keys, ticket, token, lifetime_ms))
            yield TicketLock(conversation_id, [Ticket(ticket, time.time() + self.lifetime)])
        finally:
            if renewal:
                renewal.cancel()
            await self._release_quietly(conversation_id, keys, ticket, token)

    async def _wait_for_turn(self, conversation_id: Text, keys: _Keys, ticket: int, token: str,
                             lifetime_ms: int) -> None:
        deadline = time.monotonic() + self.max_wait
        pause = FIRST_POLL_SECONDS
        while True:
            try:
                state = await self._run(self._acquire, keys, [keys.lease_prefix, ticket, token, lifetime_ms])
            except RedisError as error:
                raise LockError(f"Lock store unreachable for conversation '{conversation_id}': {error}") from error
            if state == 1:
                return
            if state == -1:
                raise LockError(f"Ticket {ticket} for conversation '{conversation_id}' expired while waiting.")
            if time.monotonic() > deadline:
                raise LockError(f"Waited {self.max_wait:.0f}s for conversation '{conversation_id}'.")
            # jitter keeps the waiters of one conversation from polling in lockstep
            await asyncio.sleep(pause * random.uniform(0.5, 1.0))
            pause = min(pause * 2, MAX_POLL_SECONDS)

    async def _keep_alive(self, conversation_id: Text, keys: _Keys, ticket: int, token: str,
                          lifetime_ms: int) -> None:
        """Extends the holder's lease while its turn runs, however long the actions take."""
        while True:
            await asyncio.sleep(self.lifetime / 3)
            try:
                renewed = await self._run(self._renew, keys, [keys.lease_prefix, ticket, token, lifetime_ms])
            except RedisError as error:
                logger.warning("Could not renew the lock of conversation %s: %s", conversation_id, error)
                continue
            if not renewed:
                logger.error("Lost the lock of conversation %s while its turn was running.", conversation_id)
                return

    async def _release_quietly(self, conversation_id: Text, keys: _Keys, ticket: int, token: str) -> None:
        try:
            owned = await self._run(self._release, keys, [keys.lease_prefix, ticket, token])
        except RedisError as error:
            # the lease expires by itself after one lifetime
            logger.warning("Could not release the lock of conversation %s: %s", conversation_id, error)
            return
        if not owned:
            logger.error("The lock of conversation %s had expired before its turn ended.", conversation_id)

    # Rasa's synchronous LockStore interface, for tools that inspect locks. Issuing and
    # serving tickets only happens through `lock()` above.

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        keys = self._keys(conversation_id)
        tickets = []
        for member in self._sync.zrange(keys.queue, 0, -1):
            remaining_ms = self._sync.pttl(keys.lease_prefix + member.decode())
            if remaining_ms > 0:
                tickets.append(Ticket(int(member), time.time() + remaining_ms / 1000))
        return TicketLock(conversation_id, tickets) if tickets else None

    def delete_lock(self, conversation_id: Text) -> None:
        keys = self._keys(conversation_id)
        members = [m.decode() for m in self._sync.zrange(keys.queue, 0, -1)]
        self._sync.delete(keys.counter, keys.queue, *(keys.lease_prefix + m for m in members))

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore never writes a whole lock: that is the race it avoids.")

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = 0) -> int:
        raise NotImplementedError("Tickets are issued inside lock(), together with their owner token.")
