"""Action servers starting together on an empty ledger database all come up.

Seen under `make bench`: two action servers' first gated actions both ran CREATE TABLE
on a fresh PostgreSQL database, the second failed, and that customer got an empty reply.
"""

from __future__ import annotations

import threading
import uuid
from urllib.parse import quote

from sqlalchemy import create_engine, inspect, text

from actions import ledger


def test_servers_creating_the_ledger_at_the_same_moment_all_succeed(postgres_url):
    schema = f"ledger_race_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_url}?options={quote(f'-csearch_path={schema}')}"
    servers = 8
    start = threading.Barrier(servers)
    errors = []

    def first_use() -> None:
        start.wait()
        try:
            ledger.get_sessionmaker.__wrapped__(url)  # each call its own engine, like separate processes
        except Exception as error:  # noqa: BLE001 - collected and reported below
            errors.append(error)

    threads = [threading.Thread(target=first_use) for _ in range(servers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == []
        assert "staged_actions" in inspect(admin).get_table_names(schema=schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
