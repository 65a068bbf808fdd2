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


def test_the_retention_job_expires_and_redacts_unconfirmed_staged_actions(tmp_path) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from actions import ledger
    from actions.gate import Gate, Proposal
    from actions.ledger import StagedAction
    from scripts.prune_trackers import expire_staged_actions

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    gate = Gate(ttl_minutes=15, ledger_url=url)
    row = gate.stage(conversation_id="c", action_name="change_shipping_address", proposal=Proposal(
        order_id="4522", customer_id="cus_jane_doe", arguments={"address": {"street": "48 Elm Street"}},
        summary_lines=["To: 48 Elm Street"], question="?", audit_lines=["To: 4* E** S*****"],
        redacted_arguments={"address": {"street": "4* E** S*****"}}))
    with gate._sessions.begin() as session:
        session.execute(update(StagedAction).where(StagedAction.id == row.id)
                        .values(expires_at=ledger.utcnow() - timedelta(minutes=1)))
    assert expire_staged_actions(url) == 1
    final = gate.get(row.id)
    assert final.status == ledger.EXPIRED and "Elm" not in final.summary + str(final.arguments)
