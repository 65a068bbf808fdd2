"""Tracker retention: old conversation events are deleted, recent ones kept."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text

from scripts.prune_trackers import prune


def test_events_older_than_the_retention_period_are_deleted(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(url, future=True)
    now = time.time()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp FLOAT)"))
        connection.execute(text("INSERT INTO events (sender_id, timestamp) VALUES ('old', :old), ('new', :new)"),
                           {"old": now - 40 * 86400, "new": now - 86400})
    assert prune(url, days=30) == 1
    with engine.connect() as connection:
        assert [r[0] for r in connection.execute(text("SELECT sender_id FROM events"))] == ["new"]


def test_the_analytics_event_broker_is_pruned_by_the_timestamp_in_each_event(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    engine = create_engine(url, future=True)
    now = time.time()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)"))
        connection.execute(text("INSERT INTO events (sender_id, data) VALUES ('old', :old), ('new', :new)"),
                           {"old": f'{{"event": "user", "timestamp": {now - 40 * 86400}}}',
                            "new": f'{{"event": "user", "timestamp": {now - 60}}}'})
    assert prune(url, days=30) == 1
    with engine.connect() as connection:
        assert [r[0] for r in connection.execute(text("SELECT sender_id FROM events"))] == ["new"]
