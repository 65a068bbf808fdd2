"""Seeding: wipe the commerce database and load one shop, dated relative to the moment of seeding.

    python -m commerce_api.seed                    # the demo shop (or the shop named by env SHOP)
    python -m commerce_api.seed --shop tau-retail  # the τ-bench retail shop (shops/tau-retail/)

The command first brings the database to the current schema (its migrations, commerce_api/migrations/), so a
database made by an older version of the API gets it too, then replaces every row. The API's own seed-on-start
(COMMERCE_SEED_ON_START) loads the shop named by SHOP.
"""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from commerce_api.db import Database
from commerce_api.formatting import utcnow
from commerce_api.models import Base, Order
from commerce_api.settings import DEFAULT_SHOPS_DIR, SHOPS
from commerce_api.shopdata import demo, load_shop

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key of seeding on start (the migrations have their own, commerce_api.db)
SEED_LOCK_KEY = 0x434F4D5345454401  # "COMSEED" 1


def wipe(session: Session) -> None:
    """Delete every row of every table (children first), inside the caller's transaction."""
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(table.delete())


def reset_demo_data(session: Session, *, now: datetime) -> None:
    """Delete every row and insert the demo shop, inside the caller's transaction (bench/seed.py uses this)."""
    wipe(session)
    demo.load(session, now=now)


def reset(
    *,
    database: Database,
    now: datetime | None = None,
    shop: str = "demo",
    shops_dir: str | Path = DEFAULT_SHOPS_DIR,
) -> None:
    """Replace all data with `shop`'s, on the schema's head revision (migrated first if it is behind)."""
    database.migrate()
    with database.transaction() as session:
        wipe(session)
        load_shop(session, shop=shop, now=now or utcnow(), shops_dir=Path(shops_dir))


def seed_on_start(
    *, database: Database, mode: str, shop: str = "demo", shops_dir: str | Path = DEFAULT_SHOPS_DIR
) -> None:
    """Apply COMMERCE_SEED_ON_START on a migrated database: 'always' reseeds, 'if_empty' seeds only a database
    without orders.

    Replicas starting together seed one after the other: the look and the load are one transaction, which
    on PostgreSQL first takes an advisory lock (SQLite's BEGIN IMMEDIATE already serialises them), so with
    'if_empty' the first loads the shop and the others find its orders.
    """
    if mode == "never":
        return
    with database.transaction() as session:
        if not database.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK_KEY})
        if mode == "if_empty" and session.scalar(select(func.count()).select_from(Order)):
            return
        log.info("seeding the %s shop (%s)", shop, mode)
        wipe(session)
        load_shop(session, shop=shop, now=utcnow(), shops_dir=Path(shops_dir))


def main(argv: list[str] | None = None) -> None:
    from commerce_api.settings import Settings

    logging.basicConfig(level=logging.INFO)
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description="Reset the commerce database to one shop's data.")
    parser.add_argument("--shop", choices=SHOPS, default=settings.shop, help="default: env SHOP, else demo")
    args = parser.parse_args(argv)
    database = Database(settings.database_url)
    try:
        reset(database=database, shop=args.shop, shops_dir=settings.shops_dir)
    finally:
        database.dispose()
    print(f"{args.shop} shop loaded")


if __name__ == "__main__":
    main()
