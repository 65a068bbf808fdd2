"""The conversation lock across processes, against the real Redis server.

Two operating-system processes, each with its own lock store (as two Rasa replicas
have), run a read-modify-write on one shared Redis counter inside the lock. Any
moment with two holders shows up as a lost update or as an overlap marker.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time

import pytest
import redis
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from shop_stores.lock_store import AtomicRedisLockStore
from tests.production.conftest import REDIS_HOST, REDIS_PORT, TEST_DB

CONVERSATION = "race-conversation"


def make_store(key_prefix: str, **options) -> AtomicRedisLockStore:
    config = EndpointConfig(url=REDIS_HOST, port=REDIS_PORT, db=TEST_DB, key_prefix=key_prefix, **options)
    return AtomicRedisLockStore(endpoint_config=config)


def _racer(key_prefix: str, rounds: int, start_at: float, results: "multiprocessing.Queue") -> None:
    """One 'replica': `rounds` critical sections on the shared counter."""
    store = make_store(key_prefix)
    data = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=TEST_DB)
    counter, inside = f"{key_prefix}:counter", f"{key_prefix}:inside"

    async def run() -> int:
        overlaps = 0
        for _ in range(rounds):
            async with store.lock(CONVERSATION):
                if not data.set(inside, "1", nx=True):
                    overlaps += 1
                value = int(data.get(counter) or 0)
                await asyncio.sleep(random.uniform(0, 0.002))  # widen the window a race needs
                data.set(counter, value + 1)
                data.delete(inside)
        return overlaps

    time.sleep(max(0.0, start_at - time.time()))  # both processes start together
    results.put(asyncio.run(run()))


def test_two_processes_never_hold_one_conversation_at_once(redis_client, key_prefix):
    rounds = 150
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 3
    racers = [context.Process(target=_racer, args=(key_prefix, rounds, start_at, results)) for _ in range(2)]
    for racer in racers:
        racer.start()
    overlaps = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(timeout=30)
    assert overlaps == [0, 0]
    assert int(redis_client.get(f"{key_prefix}:counter")) == 2 * rounds
    # nothing left behind once every turn finished
    assert list(redis_client.scan_iter(match=f"shoplock*{key_prefix}*")) == []
    assert list(redis_client.scan_iter(match=f"{key_prefix}:{{*")) == []


def test_rasa_stock_redis_lock_store_admits_two_holders(redis_client, key_prefix):
    """Why the stock store is not used (RasaHQ/rasa#9213), replayed step by step.

    Two replicas each read the lock before either writes it back; both append
    ticket 1, the second write overwrites the first, and both see themselves served.
    """
    replica_a = RedisLockStore(host=REDIS_HOST, port=REDIS_PORT, db=TEST_DB, key_prefix=key_prefix)
    replica_b = RedisLockStore(host=REDIS_HOST, port=REDIS_PORT, db=TEST_DB, key_prefix=key_prefix)
    lock_a = replica_a.get_or_create_lock(CONVERSATION)
    lock_b = replica_b.get_or_create_lock(CONVERSATION)
    ticket_a, ticket_b = lock_a.issue_ticket(60), lock_b.issue_ticket(60)
    replica_a.save_lock(lock_a)
    replica_b.save_lock(lock_b)
    current = replica_a.get_lock(CONVERSATION)
    assert ticket_a == ticket_b
    assert not current.is_locked(ticket_a) and not current.is_locked(ticket_b)


async def test_tickets_are_served_in_the_order_they_were_issued(key_prefix):
    store = make_store(key_prefix)
    order = []

    async def turn(number: int) -> None:
        await asyncio.sleep(number * 0.01)  # issue tickets 0..9 in this order
        async with store.lock(CONVERSATION):
            order.append(number)
            await asyncio.sleep(0.02)

    await asyncio.gather(*(turn(n) for n in range(10)))
    assert order == list(range(10))


async def test_a_slow_turn_keeps_the_lock_beyond_its_lifetime(key_prefix):
    """The holder renews its lease, so a turn longer than the lifetime still excludes the next one."""
    store = make_store(key_prefix, lock_lifetime=0.6)
    other = make_store(key_prefix, lock_lifetime=0.6, max_wait_seconds=10)
    events = []

    async def slow_turn() -> None:
        async with store.lock(CONVERSATION):
            events.append("slow start")
            await asyncio.sleep(2.0)  # more than three lifetimes
            events.append("slow end")

    async def next_turn() -> None:
        await asyncio.sleep(0.1)
        async with other.lock(CONVERSATION):
            events.append("next")

    await asyncio.gather(slow_turn(), next_turn())
    assert events == ["slow start", "slow end", "next"]


def _hold_forever(key_prefix: str, ready: "multiprocessing.Event") -> None:
    store = make_store(key_prefix, lock_lifetime=1)

    async def hold() -> None:
        async with store.lock(CONVERSATION):
            ready.set()
            await asyncio.sleep(3600)

    asyncio.run(hold())


async def test_a_crashed_holder_frees_the_lock_after_one_lifetime(key_prefix):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_forever, args=(key_prefix, ready))
    holder.start()
    assert ready.wait(timeout=60)
    holder.kill()  # no release, no more renewals
    holder.join()
    store = make_store(key_prefix, lock_lifetime=1)
    started = time.monotonic()
    async with store.lock(CONVERSATION):
        waited = time.monotonic() - started
    assert 0.2 < waited < 5


async def test_waiting_longer_than_the_limit_raises(key_prefix):
    holder = make_store(key_prefix)
    waiter = make_store(key_prefix, max_wait_seconds=0.3)
    async with holder.lock(CONVERSATION):
        with pytest.raises(LockError):
            async with waiter.lock(CONVERSATION):
                pass
    async with waiter.lock(CONVERSATION):  # free again afterwards
        pass


async def test_unreachable_redis_raises_lock_error(key_prefix):
    config = EndpointConfig(url="127.0.0.1", port=1, db=0, key_prefix=key_prefix, socket_timeout=0.5)
    store = AtomicRedisLockStore(endpoint_config=config)
    with pytest.raises(LockError):
        async with store.lock(CONVERSATION):
            pass


def test_rasa_builds_it_from_the_production_endpoints_file(production_env):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config("deploy/endpoints.production.yml", "lock_store")
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.lifetime == 45 and store.settings.db == 1 and store.settings.password is None
