"""The commerce API's migrations (commerce_api/migrations/): from the last release's schema and from nothing to
today's models, on SQLite and PostgreSQL; once, however many replicas start together; then seeding works.

A database "the last release made" is the create_all of `models_77edf9d` (commit 77edf9d's models, verbatim).
Its rows are demo data the second revision drops with the tables it rebuilds; `make seed` (or the API's
COMMERCE_SEED_ON_START) loads the shop again. The third revision (exchanges) only adds columns: a database
at the second one keeps every row.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import MetaData, create_engine, func, insert, inspect, select, text

from commerce_api import db
from commerce_api.app import create_app
from commerce_api.db import Database
from commerce_api.formatting import utcnow
from commerce_api.models import Base, Order, PaymentMethod, Return, ReturnItem, ShopPolicyRow
from commerce_api.seed import reset, seed_on_start
from commerce_api.services.shop_policy import load_policy
from commerce_api.settings import Settings
from commerce_api.tests import models_77edf9d as last_release
from commerce_api.tests.conftest import AUTH, PG_ADMIN_DSN, TOKEN, idem

REPO_ROOT = Path(__file__).resolve().parents[2]
SECOND = "0002_shops_multi_item_returns"
ALL_REVISIONS = ["0001_baseline", "0002_shops_multi_item_returns", "0003_exchanges_item_changes"]
REPLICAS = 4
BACKENDS = ["sqlite", "postgresql"]
PLACED = datetime(2026, 3, 1, 9, 30)


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes empty databases: `new_database("sqlite")` or `new_database("postgresql")` -> URL."""
    created: list[str] = []

    def make(backend: str) -> str:
        name = f"commerce_migration_{secrets.token_hex(5)}"
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    yield make
    if created:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            for name in created:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def made_by_the_last_release(url: str) -> None:
    """What the last release's create_schema and seed left: its tables with an order and an idempotency key."""
    engine = create_engine(url)
    last_release.Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(last_release.Customer), [{"id": "cus_old", "name": "Old Customer",
                                                             "email": "old@example.com"}])
        connection.execute(insert(last_release.Order), [{
            "id": "4521", "customer_id": "cus_old", "status": "processing", "placed_at": PLACED,
            "total_cents": 8900, "currency": "USD", "payment_method": "card", "payment_brand": "Visa",
            "ship_name": "Old Customer", "ship_street": "1 Main St", "ship_city": "Springfield",
            "ship_postal_code": "12345", "ship_country": "US"}])
        connection.execute(insert(last_release.IdempotencyKey), [{
            "key": "kept-key", "method": "POST", "route": "/returns", "request_hash": "0" * 64,
            "state": "completed", "response_status": 201, "response_body": "{}", "created_at": PLACED}])
    engine.dispose()


def differences(url: str, metadata: MetaData) -> list:
    """Alembic's autogenerate comparison of the database with `metadata` ([] when they agree)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "compare_server_default": True, "version_table": db.VERSION_TABLE},
            )
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def schema_of(url: str) -> dict[str, dict]:
    """Every table as the database describes it (columns, keys, indexes), the version table left out."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {
            name: {
                "columns": sorted(
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(name)
                ),
                "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
                "foreign_keys": sorted(
                    (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                    for fk in inspector.get_foreign_keys(name)
                ),
                "indexes": sorted(
                    (ix["name"], tuple(ix["column_names"]), bool(ix["unique"])) for ix in inspector.get_indexes(name)
                ),
                "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)),
            }
            for name in sorted(set(inspector.get_table_names()) - {db.VERSION_TABLE})
        }
    finally:
        engine.dispose()


def count(database: Database, model: type) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_baseline_revision_is_the_schema_the_last_release_created(new_database, backend):
    created = new_database(backend)
    engine = create_engine(created)
    last_release.Base.metadata.create_all(engine)
    engine.dispose()
    migrated = new_database(backend)
    command.upgrade(db.alembic_config(url=migrated), "0001_baseline")
    assert schema_of(migrated) == schema_of(created)
    assert differences(migrated, last_release.Base.metadata) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_upgraded_database_and_a_new_one_end_in_the_same_schema_as_the_models(new_database, backend):
    upgraded, new = new_database(backend), new_database(backend)
    made_by_the_last_release(upgraded)
    assert db.migrate(upgraded) == ALL_REVISIONS
    assert db.migrate(new) == ALL_REVISIONS
    assert schema_of(upgraded) == schema_of(new)
    assert differences(upgraded, Base.metadata) == []
    assert differences(new, Base.metadata) == []
    assert db.migrate(upgraded) == [] and db.migrate(new) == []  # at head: nothing to do


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_rebuild_drops_the_demo_rows_keeps_idempotency_keys_and_the_seed_reloads_the_shop(new_database, backend):
    url = new_database(backend)
    made_by_the_last_release(url)
    database = Database(url)
    try:
        database.migrate()
        assert count(database, Order) == 0  # rebuilt: the old demo rows are gone
        with database.transaction() as session:
            assert session.scalar(text("SELECT key FROM idempotency_keys")) == "kept-key"
        seed_on_start(database=database, mode="if_empty")
        assert count(database, Order) == 6
        reset(database=database, shop="tau-retail")
        assert count(database, Order) > 6
    finally:
        database.dispose()


def made_by_the_second_revision(url: str) -> None:
    """A database at 0002 with a shop's rows in it: an order with a return of one item, a policy row, a
    product with variants, a gift card and an idempotency key (rows written as 0002's tables take them)."""
    command.upgrade(db.alembic_config(url=url), SECOND)
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    delivered = utcnow() - timedelta(days=3)
    t = tables.tables
    with engine.begin() as connection:
        connection.execute(insert(t["customers"]), [{
            "id": "cus_kept", "name": "Kept Customer", "email": "kept@example.com", "email_key": "kept@example.com",
            "name_key": "kept customer", "address_street": "1 Main St", "address_city": "Springfield",
            "address_postal_code": "12345", "address_country": "US"}])
        connection.execute(insert(t["payment_methods"]), [
            {"customer_id": "cus_kept", "id": "pm_kept_visa_4242", "position": 1, "method": "card", "brand": "Visa",
             "last4": "4242", "balance_cents": None},
            {"customer_id": "cus_kept", "id": "pm_kept_gift_card_1", "position": 2, "method": "gift_card",
             "brand": "Gift Card", "last4": None, "balance_cents": 1000}])
        connection.execute(insert(t["products"]), [{"id": "tee", "name": "Plain Tee"}])
        connection.execute(insert(t["product_variants"]), [
            {"product_id": "tee", "id": f"tee-{size.lower()}", "position": n, "options": {"size": size},
             "available": True, "price_cents": price}
            for n, (size, price) in enumerate([("S", 2000), ("M", 2000), ("L", 2500)], start=1)])
        connection.execute(insert(t["orders"]), [{
            "id": "7001", "customer_id": "cus_kept", "status": "delivered", "placed_at": delivered - timedelta(days=3),
            "shipped_at": delivered - timedelta(days=2), "delivered_at": delivered, "total_cents": 4000,
            "currency": "USD", "payment_method": "card", "payment_brand": "Visa", "payment_last4": "4242",
            "payment_method_id": "pm_kept_visa_4242", "ship_name": "Kept Customer", "ship_street": "1 Main St",
            "ship_city": "Springfield", "ship_postal_code": "12345", "ship_country": "US"}])
        connection.execute(insert(t["order_items"]), [
            {"order_id": "7001", "id": f"7001-{n}", "position": n, "name": "Plain Tee", "product_id": "tee",
             "variant_id": "tee-m", "options": {"size": "M"}, "size": "M", "price_cents": 2000, "final_sale": False}
            for n in (1, 2)])
        connection.execute(insert(t["returns"]), [{
            "id": "RMA-0000KEPT", "order_id": "7001", "reason": "wrong_size", "refund_method": "original_payment",
            "refund_amount_cents": 2000, "status": "label_sent", "refund_status": "pending",
            "label_reference": "LBL-KEPT", "created_at": delivered + timedelta(days=1)}])
        connection.execute(insert(t["return_items"]), [
            {"return_id": "RMA-0000KEPT", "position": 1, "order_id": "7001", "item_id": "7001-1",
             "refund_amount_cents": 2000}])
        connection.execute(insert(t["shop_policy"]), [{
            "shop": "kept-shop", "currency": "USD", "refund_methods": ["original_payment"],
            "refund_days": {"original_payment": {"min": 1, "max": 2}}, "cancellable_statuses": ["processing"],
            "address_change_statuses": ["processing"]}])
        connection.execute(insert(t["idempotency_keys"]), [{
            "key": "kept-key", "method": "POST", "route": "/returns", "request_hash": "0" * 64,
            "state": "completed", "response_status": 201, "response_body": "{}", "created_at": PLACED}])
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrading_from_the_second_revision_keeps_every_row_and_serves_exchanges(new_database, backend):
    url = new_database(backend)
    made_by_the_second_revision(url)
    assert db.migrate(url) == ["0003_exchanges_item_changes"]
    assert differences(url, Base.metadata) == []
    database = Database(url)
    try:
        assert count(database, Order) == 1 and count(database, ReturnItem) == 1 and count(database, PaymentMethod) == 2
        with database.transaction() as session:
            kept = session.get(Return, "RMA-0000KEPT")
            assert kept is not None and kept.kind == "return" and kept.price_difference_cents is None
            assert session.scalar(text("SELECT key FROM idempotency_keys")) == "kept-key"
            assert session.get(ShopPolicyRow, "kept-shop").item_change_statuses is None  # type: ignore[union-attr]
            policy = load_policy(session=session)
            assert (policy.shop, policy.item_change_statuses) == ("kept-shop", ("processing",))
        settings = Settings(database_url=url, token=TOKEN, seed_on_start="if_empty")  # not empty: nothing seeded
        with TestClient(create_app(settings, database=database), headers=AUTH) as client:
            [ret] = client.get("/returns", params={"order_id": "7001"}).json()["returns"]
            assert ret["return_id"] == "RMA-0000KEPT" and ret["refund_amount"] == "20.00"
            body = {"order_id": "7001", "items": [{"item_id": "7001-2", "new_variant_id": "tee-l"}],
                    "payment_method_id": "pm_kept_gift_card_1"}
            created = client.post("/exchanges", json=body, headers=idem())
            assert created.status_code == 201, created.text
            assert created.json()["price_difference"] == "5.00"
            returned = {**body, "items": [{"item_id": "7001-1", "new_variant_id": "tee-l"}]}
            taken = client.post("/exchanges", json=returned, headers=idem())
            assert (taken.status_code, taken.json()["error"]["reason"]) == (409, "already_returned")
            items = client.get("/orders/7001").json()["items"]
            assert [(i["return_id"], i["exchange_id"]) for i in items] == [
                ("RMA-0000KEPT", None), (None, created.json()["exchange_id"])]
            assert client.get("/customers/cus_kept").json()["payment_methods"][1]["balance"] == "5.00"
    finally:
        database.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrading_to_the_second_revision_keeps_returns_and_drops_exchanges(new_database, backend):
    url = new_database(backend)
    made_by_the_second_revision(url)
    db.migrate(url)
    engine = create_engine(url)
    with engine.begin() as connection:  # an exchange of the second item, as the API would store it
        connection.execute(insert(Return.__table__), [{
            "id": "EXC-0000GONE", "order_id": "7001", "kind": "exchange", "reason": "exchange",
            "refund_method": "exchange", "refund_amount_cents": 2000, "status": "label_sent", "refund_status": "none",
            "label_reference": "LBL-GONE", "created_at": PLACED, "price_difference_cents": 0}])
        connection.execute(insert(ReturnItem.__table__), [{
            "return_id": "EXC-0000GONE", "position": 1, "order_id": "7001", "item_id": "7001-2",
            "refund_amount_cents": 2000, "new_variant_id": "tee-s", "new_options": {"size": "S"},
            "new_price_cents": 2000}])
    engine.dispose()
    command.downgrade(db.alembic_config(url=url), SECOND)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert list(connection.execute(text("SELECT id FROM returns"))) == [("RMA-0000KEPT",)]
            assert list(connection.execute(text("SELECT item_id FROM return_items"))) == [("7001-1",)]
            assert connection.execute(text("SELECT count(*) FROM orders")).scalar() == 1
        columns = {c["name"] for c in inspect(engine).get_columns("returns")}
        assert "kind" not in columns and "price_difference_cents" not in columns
    finally:
        engine.dispose()
    assert db.migrate(url) == ["0003_exchanges_item_changes"]
    assert differences(url, Base.metadata) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrading_to_the_baseline_and_to_nothing_and_upgrading_again_works(new_database, backend):
    url = new_database(backend)
    db.migrate(url)
    command.downgrade(db.alembic_config(url=url), "0001_baseline")
    assert differences(url, last_release.Base.metadata) == []
    command.downgrade(db.alembic_config(url=url), "base")
    assert schema_of(url) == {}
    assert db.migrate(url) == ALL_REVISIONS


def test_the_seed_command_migrates_the_last_release_database_then_loads_the_demo_shop(new_database):
    url = new_database("sqlite")
    made_by_the_last_release(url)
    result = subprocess.run(
        [sys.executable, "-m", "commerce_api.seed"], cwd=REPO_ROOT, env={**os.environ, "COMMERCE_DATABASE_URL": url},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    database = Database(url)
    try:
        assert count(database, Order) == 6
    finally:
        database.dispose()
    assert differences(url, Base.metadata) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_api_started_on_the_last_release_database_migrates_it_then_serves(new_database, backend):
    url = new_database(backend)
    made_by_the_last_release(url)
    database = Database(url)
    settings = Settings(database_url=url, token=TOKEN, seed_on_start="if_empty")
    try:
        with TestClient(create_app(settings, database=database), headers=AUTH) as client:
            response = client.get("/orders/4521")
            assert response.status_code == 200, response.text
            assert response.json()["items"][0]["name"] == "Blue Denim Jacket"
    finally:
        database.dispose()
    assert differences(url, Base.metadata) == []


def test_the_api_refuses_a_database_a_newer_release_migrated(new_database):
    url = new_database("sqlite")
    db.migrate(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {db.VERSION_TABLE} SET version_num = '0099_from_a_newer_release'"))
    engine.dispose()
    database = Database(url)
    try:
        app = create_app(Settings(database_url=url, token=TOKEN, seed_on_start="if_empty"), database=database)
        refused = pytest.raises(db.SchemaError, match="'0099_from_a_newer_release', which this release does not know")
        with refused, TestClient(app):
            pass
    finally:
        database.dispose()
    check = subprocess.run(
        [sys.executable, "-m", "commerce_api.migrations", "check", "--url", url], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 1 and "run `make migrate`" in check.stderr


def test_a_migrator_waiting_too_long_for_the_lock_says_so(new_database, monkeypatch):
    url = new_database("postgresql")
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (db.MIGRATION_LOCK_KEY,))
        monkeypatch.setattr(db, "MIGRATION_LOCK_TIMEOUT_S", 1)
        with pytest.raises(db.SchemaError, match="another process has been migrating the commerce database"):
            db.migrate(url)
    assert db.migrate(url) == ALL_REVISIONS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _waiting_for_the_lock(holder: psycopg.Connection, database: str) -> int:
    row = holder.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = %s",
        (database,),
    ).fetchone()
    return row[0] if row else 0


def _healthy(port: int, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not healthy in {timeout}s:\n{log.read_text()[-3000:]}")


def test_replicas_starting_together_on_a_fresh_database_migrate_it_once_and_all_serve(new_database, tmp_path):
    url = new_database("postgresql")
    database = url.rsplit("/", 1)[1]
    started: list[tuple[subprocess.Popen, int, Path]] = []
    # Hold the migration lock until every replica is queued on it, so all of them really race.
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (db.MIGRATION_LOCK_KEY,))
        try:
            for index in range(REPLICAS):
                port, log = _free_port(), tmp_path / f"commerce-api-{index}.log"
                env = {**os.environ, "COMMERCE_DATABASE_URL": url, "COMMERCE_API_PORT": str(port),
                       "COMMERCE_API_TOKEN": TOKEN, "COMMERCE_SEED_ON_START": "if_empty", "LOG_FORMAT": "text"}
                with open(log, "wb") as out:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "commerce_api"], cwd=REPO_ROOT, env=env, stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                started.append((process, port, log))
            deadline = time.monotonic() + 120
            while _waiting_for_the_lock(holder, database) < REPLICAS:
                assert all(p.poll() is None for p, _, _ in started), [log.read_text()[-2000:] for *_, log in started]
                assert time.monotonic() < deadline, "the replicas never all waited for the migration lock"
                time.sleep(0.2)
            holder.execute("SELECT pg_advisory_unlock(%s)", (db.MIGRATION_LOCK_KEY,))
            for process, port, log in started:
                _healthy(port, process, log)
                order = httpx.get(f"http://127.0.0.1:{port}/orders/4521", headers=AUTH, timeout=10)
                assert order.status_code == 200, order.text
            logs = [log.read_text() for *_, log in started]
            assert sum(f"commerce database migrated: {', '.join(ALL_REVISIONS)}" in text
                       for text in logs) == 1, logs
        finally:
            for process, _, _ in started:
                process.terminate()
            for process, _, _ in started:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
    assert differences(url, Base.metadata) == []
    checked = Database(url)
    try:
        assert count(checked, Order) == 6  # seeded once, whichever replica did it
    finally:
        checked.dispose()
