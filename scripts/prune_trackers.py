"""Deletes conversation events older than the retention period from the SQL stores.

    make prune    (= .venv/rasa/bin/python -m scripts.prune_trackers [--days 30] [--db-url URL ...])

Conversations hold what customers typed (order numbers, emails), so they are not
kept forever: run this daily (cron, a Kubernetes CronJob). By default it prunes the
embedded SQLite tracker store (TRACKER_DB_PATH) and the SQL event broker used for
analytics (EVENT_BROKER_DB_PATH); pass --db-url (repeatable) for PostgreSQL stores.
Redis tracker stores expire conversations by TTL instead.

It also marks staged actions nobody confirmed before their expiry as expired in the
action ledger (ACTION_LEDGER_URL), which redacts them: an unanswered address change
does not keep the full address in the ledger; and it finishes confirmed actions left
unfinished (an action server died mid-execution, or the outcome was unknown) by
re-sending them with their idempotency key (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import List

from sqlalchemy import create_engine, inspect, text

DEFAULT_RETENTION_DAYS = 30


def prune(db_url: str, days: float) -> int:
    """Deletes events older than `days` from the store at `db_url`; returns how many."""
    engine = create_engine(db_url, future=True)
    inspector = inspect(engine)
    if not inspector.has_table("events"):
        return 0
    columns = {column["name"] for column in inspector.get_columns("events")}
    if "timestamp" in columns:  # Rasa's SQL tracker store
        age = "timestamp"
    elif engine.dialect.name == "postgresql":  # Rasa's SQL event broker keeps it in the JSON
        age = "CAST(CAST(data AS json)->>'timestamp' AS double precision)"
    else:
        age = "CAST(json_extract(data, '$.timestamp') AS REAL)"
    cutoff = time.time() - days * 86400
    with engine.begin() as connection:
        return connection.execute(text(f"DELETE FROM events WHERE {age} < :cutoff"), {"cutoff": cutoff}).rowcount


def default_urls() -> List[str]:
    paths = (os.environ.get("TRACKER_DB_PATH", ".data/tracker.db"),
             os.environ.get("EVENT_BROKER_DB_PATH", ".data/events.db"))
    return [f"sqlite:///{path}" for path in paths if os.path.exists(path)]


def expire_staged_actions(ledger_url: str) -> int:
    from actions.gate import Gate

    return Gate(ttl_minutes=0, ledger_url=ledger_url).expire_stale()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float,
                        default=float(os.environ.get("TRACKER_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)))
    parser.add_argument("--db-url", action="append", help="a SQL tracker store or event broker (repeatable)")
    parser.add_argument("--ledger-url", default=os.environ.get("ACTION_LEDGER_URL", "sqlite:///.data/ledger.db"))
    args = parser.parse_args()
    for url in args.db_url or default_urls():
        print(f"{url}: deleted {prune(url, args.days)} events older than {args.days:g} days")
    print(f"{args.ledger_url}: {expire_staged_actions(args.ledger_url)} unconfirmed staged actions expired")
    from actions.dialogue.gate_actions import recover_unfinished

    print(f"{args.ledger_url}: confirmed actions left unfinished, now: {recover_unfinished(args.ledger_url) or 'none'}")


if __name__ == "__main__":
    main()
