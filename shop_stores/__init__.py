"""Redis stores for running several Rasa replicas on one conversation history.

    lock_store.AtomicRedisLockStore      one turn per conversation at a time, across processes
    tracker_store.AsyncRedisTrackerStore append-only event lists, asyncio client, TTL
    redis_settings                      one place that turns endpoint settings into a client

`deploy/endpoints.production.yml` names both classes; the embedded defaults of
`make run` (endpoints.yml) keep SQLite and the in-memory lock store.
"""
