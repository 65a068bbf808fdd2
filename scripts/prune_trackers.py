"""Deletes conversation events older than the retention period from the SQL tracker store.

    .venv/rasa/bin/python scripts/prune_trackers.py [--days 30] [--db-url URL]

Conversations hold what customers typed (order numbers, emails), so they are not
kept forever: run this daily (cron, a Kubernetes CronJob). Default store: the
embedded SQLite file at TRACKER_DB_PATH; --db-url (or TRACKER_DB_URL) for PostgreSQL.
Redis tracker stores expire conversations by TTL instead.
"""

from __future__ import annotations

import argparse
import os
import time

from sqlalchemy import create_engine, inspect, text

DEFAULT_RETENTION_DAYS = 30


def prune(db_url: str, days: float) -> int:
    """Deletes events older than `days`; returns how many were deleted."""
    engine = create_engine(db_url, future=True)
    if not inspect(engine).has_table("events"):
        return 0
    cutoff = time.time() - days * 86400
    with engine.begin() as connection:
        return connection.execute(text("DELETE FROM events WHERE timestamp < :cutoff"), {"cutoff": cutoff}).rowcount


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float, default=float(os.environ.get("TRACKER_RETENTION_DAYS",
                                                                           DEFAULT_RETENTION_DAYS)))
    parser.add_argument("--db-url", default=os.environ.get(
        "TRACKER_DB_URL", f"sqlite:///{os.environ.get('TRACKER_DB_PATH', '.data/tracker.db')}"))
    args = parser.parse_args()
    print(f"deleted {prune(args.db_url, args.days)} events older than {args.days:g} days")


if __name__ == "__main__":
    main()
