"""Conversation trackers in Redis as append-only event lists, with an asyncio client.

Rasa 3.6's `RedisTrackerStore` keeps a conversation as one JSON document and, on
every save, reads it back twice (once to find the events to stream, once to merge),
parses both, merges and writes the whole document again, all with a synchronous
client that holds up the event loop. Cost per turn grows with the conversation and
every other conversation on the replica waits meanwhile (`make bench` measures it).

Here a conversation is a Redis list of events plus a small hash:

    <prefix>:<id>:events   one JSON event per element, appended with RPUSH
    <prefix>:<id>:meta     session_start = index of the last `action_session_start`

`retrieve` reads from the last session start (like Rasa's SQL store), `save` appends
only the events the caller added since (one round trip, in a MULTI block), and
both keys expire `ttl_seconds` after the last save (default one hour). Events
go to the event broker exactly when they are appended.

Redis outages: a read is retried for `read_retry_seconds` (default 2 s), then the
error reaches Rasa; with shop_server.patches installed (`python -m shop_server`, how
every Rasa server of this project starts), the turn stops before any action runs
instead of continuing on an empty conversation. A write comes at the end of a turn
whose actions already ran, so it is retried for `save_retry_seconds`
(default 90 s, longer than a Redis restart): the customer's reply waits instead of
the turn's events being lost. Each attempt re-reads the stored length, so a write
whose reply was lost is never appended twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Text, TypeVar

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shop_stores.redis_settings import RedisSettings

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "shoptracker"
DEFAULT_TTL_SECONDS = 3600
DEFAULT_READ_RETRY_SECONDS = 2.0
DEFAULT_SAVE_RETRY_SECONDS = 90.0
SESSION_START = "session_start"
T = TypeVar("T")


def _is_session_start(event: Dict[str, Any]) -> bool:
    return event.get("event") == "action" and event.get("name") == ACTION_SESSION_START_NAME


class AsyncRedisTrackerStore(TrackerStore):
    """Redis tracker store: append-only, asynchronous, expiring (see the module docstring)."""

    # read by shop_server.patches: Rasa must not hide this store's errors behind an in-memory fallback
    fail_closed = True

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        ttl_seconds: Optional[Any] = None,
        key_prefix: Optional[Text] = None,
        read_retry_seconds: Optional[Any] = None,
        save_retry_seconds: Optional[Any] = None,
        **kwargs: Any,
    ) -> None:
        self.settings = RedisSettings.from_endpoint(host, kwargs, default_db=0)
        self.read_retry_seconds = float(read_retry_seconds or DEFAULT_READ_RETRY_SECONDS)
        self.save_retry_seconds = float(save_retry_seconds or DEFAULT_SAVE_RETRY_SECONDS)
        configured_ttl = ttl_seconds if ttl_seconds not in (None, "") else os.environ.get("TRACKER_TTL_SECONDS")
        self.ttl_seconds = int(configured_ttl or DEFAULT_TTL_SECONDS)
        self.key_prefix = str(key_prefix or DEFAULT_KEY_PREFIX)
        self.redis = self.settings.async_client()
        # Rasa's base class reads only the options it knows (max event history)
        known = {k: v for k, v in kwargs.items() if k == "max_event_history"}
        super().__init__(domain, event_broker, **known)

    async def _retrying(self, operation: Callable[[], Awaitable[T]], budget: float, what: str) -> T:
        """Runs `operation`, retrying connection failures with jittered backoff for `budget` seconds."""
        deadline = time.monotonic() + budget
        backoff = EqualJitterBackoff(cap=2.0, base=0.05)
        failures = 0
        while True:
            try:
                return await operation()
            except (RedisConnectionError, RedisTimeoutError) as error:
                failures += 1
                pause = backoff.compute(failures)
                if time.monotonic() + pause > deadline:
                    raise
                if failures == 1:
                    logger.warning("Redis unreachable while trying to %s; retrying for up to %.0fs: %s",
                                   what, budget, error)
                await asyncio.sleep(pause)

    def _events_key(self, sender_id: Text) -> str:
        return f"{self.key_prefix}:{sender_id}:events"

    def _meta_key(self, sender_id: Text) -> str:
        return f"{self.key_prefix}:{sender_id}:meta"

    async def _stored_shape(self, sender_id: Text) -> "tuple[int, int]":
        """(number of stored events, index where the last session starts)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.llen(self._events_key(sender_id))
            pipe.hget(self._meta_key(sender_id), SESSION_START)
            length, session_start = await pipe.execute()
        return int(length), int(session_start or 0)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Appends the events added since the tracker was retrieved (last session onwards)."""
        new_events = await self._retrying(lambda: self._append_new_events(tracker), self.save_retry_seconds,
                                          "save a conversation")
        self._publish(tracker.sender_id, new_events)

    async def _append_new_events(self, tracker: DialogueStateTracker) -> List[Dict[str, Any]]:
        sender_id = tracker.sender_id
        stored, session_start = await self._stored_shape(sender_id)
        already_known = max(0, stored - session_start)
        events = tracker.events
        new_events = [events[i].as_dict() for i in range(already_known, len(events))]
        if not new_events and stored:
            await self.redis.expire(self._events_key(sender_id), self.ttl_seconds)
            return []
        last_start = session_start
        for offset, event in enumerate(new_events):
            if _is_session_start(event):
                last_start = stored + offset
        async with self.redis.pipeline(transaction=True) as pipe:
            if new_events:
                pipe.rpush(self._events_key(sender_id), *(json.dumps(event) for event in new_events))
            pipe.hset(self._meta_key(sender_id), SESSION_START, last_start)
            pipe.expire(self._events_key(sender_id), self.ttl_seconds)
            pipe.expire(self._meta_key(sender_id), self.ttl_seconds)
            await pipe.execute()
        return new_events

    def _publish(self, sender_id: Text, events: List[Dict[str, Any]]) -> None:
        if self.event_broker is None:
            return
        for event in events:
            self.event_broker.publish({"sender_id": sender_id, **event})

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The conversation from its last session start, or None if it does not exist."""
        async def read() -> Optional[DialogueStateTracker]:
            _, session_start = await self._stored_shape(sender_id)
            return await self._tracker_from(sender_id, session_start)

        return await self._retrying(read, self.read_retry_seconds, "read a conversation")

    async def retrieve_full_tracker(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """Every stored event of the conversation, all sessions."""
        return await self._retrying(lambda: self._tracker_from(sender_id, 0), self.read_retry_seconds,
                                    "read a conversation")

    async def _tracker_from(self, sender_id: Text, start: int) -> Optional[DialogueStateTracker]:
        raw = await self.redis.lrange(self._events_key(sender_id), start, -1)
        if not raw:
            return None
        events = [json.loads(item) for item in raw]
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots, self.max_event_history)

    async def exists(self, conversation_id: Text) -> bool:
        return bool(await self.redis.exists(self._events_key(conversation_id)))

    async def keys(self) -> Iterable[Text]:
        """Conversation ids currently stored (SCAN, so Redis is never blocked)."""
        prefix, suffix = f"{self.key_prefix}:", ":events"
        found = []
        async for key in self.redis.scan_iter(match=f"{prefix}*{suffix}", count=500):
            found.append(key.decode()[len(prefix):-len(suffix)])
        return found

    async def delete(self, sender_id: Text) -> None:
        """Removes a conversation (retention jobs, erasure requests)."""
        await self.redis.delete(self._events_key(sender_id), self._meta_key(sender_id))

