"""The committed OpenAPI document, settings parsing, and the seed command / seeding modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from commerce_api.db import Database
from commerce_api.export_openapi import OPENAPI_PATH, current_spec, render
from commerce_api.models import Order, Return, ReturnItem
from commerce_api.seed import reset, seed_on_start
from commerce_api.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_is_current() -> None:
    committed = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert committed == current_spec(), "run: .venv/api/bin/python -m commerce_api.export_openapi"
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render(current_spec())


def test_settings_defaults_and_env() -> None:
    assert Settings.from_env({}) == Settings(
        host="127.0.0.1",
        port=8000,
        token="demo-commerce-token",
        database_url="sqlite:///.data/commerce.db",
        seed_on_start="if_empty",
        return_window_days=30,
        shop="demo",
        verify_max_failures=5,
        verify_max_failures_per_client=20,
        verify_window_seconds=900,
    )
    assert Path(Settings().shops_dir) == REPO_ROOT / "shops"
    env = {
        "COMMERCE_API_HOST": "0.0.0.0",
        "COMMERCE_API_PORT": "9001",
        "COMMERCE_API_TOKEN": "s3cret",
        "COMMERCE_DATABASE_URL": "postgresql://postgres@127.0.0.1/x",
        "COMMERCE_SEED_ON_START": "Always",
        "RETURN_WINDOW_DAYS": "14",
        "SHOP": "Tau-Retail",
        "COMMERCE_SHOPS_DIR": "/srv/shops",
        "VERIFY_MAX_FAILURES": "3",
        "VERIFY_MAX_FAILURES_PER_CLIENT": "10",
        "VERIFY_WINDOW_SECONDS": "60",
    }
    assert Settings.from_env(env) == Settings(
        "0.0.0.0", 9001, "s3cret", "postgresql://postgres@127.0.0.1/x", "always", 14, "tau-retail", "/srv/shops",
        3, 10, 60,
    )  # fmt: skip


@pytest.mark.parametrize(
    "env",
    [
        {"COMMERCE_API_PORT": "http"},
        {"COMMERCE_API_PORT": "70000"},
        {"COMMERCE_SEED_ON_START": "sometimes"},
        {"RETURN_WINDOW_DAYS": "-1"},
        {"COMMERCE_API_TOKEN": ""},
        {"SHOP": "amazon"},
        {"VERIFY_MAX_FAILURES": "0"},
        {"VERIFY_MAX_FAILURES_PER_CLIENT": "many"},
        {"VERIFY_WINDOW_SECONDS": "0"},
    ],
)
def test_settings_reject_bad_values(env: dict) -> None:
    with pytest.raises(ValueError):
        Settings.from_env(env)


def _count(database: Database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_seed_modes(db_url: str, seeded: Database) -> None:
    with seeded.transaction() as session:
        placed_at = session.get(Order, "4521").placed_at
        ret = Return(
            id="RMA-TEST0001",
            order_id="4521",
            reason="other",
            refund_method="store_credit",
            refund_amount_cents=8900,
            status="label_sent",
            refund_status="pending",
            label_reference="LBL-X",
            created_at=placed_at,
        )
        ret.lines = [ReturnItem(position=1, order_id="4521", item_id="4521-1", refund_amount_cents=8900)]
        session.add(ret)
    seed_on_start(database=seeded, mode="if_empty")
    assert _count(seeded, Return) == 1  # data present: left alone
    seed_on_start(database=seeded, mode="never")
    assert _count(seeded, Return) == 1
    seed_on_start(database=seeded, mode="always")
    assert _count(seeded, Return) == 0
    assert _count(seeded, Order) == 6


def test_seed_if_empty_on_fresh_database(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'fresh.db'}")
    try:
        database.create_schema()
        seed_on_start(database=database, mode="if_empty")
        assert _count(database, Order) == 6
        reset(database=database)
        assert _count(database, Order) == 6
    finally:
        database.dispose()


def test_seed_command_resets_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "COMMERCE_DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "commerce_api.seed"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    database = Database(url)
    try:
        assert _count(database, Order) == 6
    finally:
        database.dispose()


def test_no_connection_at_import_or_app_creation() -> None:
    from commerce_api.app import create_app

    app = create_app(Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/never"))
    assert app.state.database._engine is None


def _run_seed(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "commerce_api.seed", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "COMMERCE_DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("args", "env"), [(["--shop", "tau-retail"], {}), ([], {"SHOP": "tau-retail"})])
def test_seed_command_loads_the_tau_shop(tmp_path: Path, args: list[str], env: dict) -> None:
    url = f"sqlite:///{tmp_path / 'tau.db'}"
    result = _run_seed(url, *args, **env)
    assert result.returncode == 0, result.stderr
    assert "tau-retail shop loaded" in result.stdout
    database = Database(url)
    try:
        assert _count(database, Order) == 1000
    finally:
        database.dispose()


def test_seed_command_refuses_an_unknown_shop(tmp_path: Path) -> None:
    result = _run_seed(f"sqlite:///{tmp_path / 'x.db'}", "--shop", "nope")
    assert result.returncode != 0 and "nope" in result.stderr


def test_seed_command_upgrades_an_old_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database = Database(url)
    try:
        with database.engine.begin() as conn:  # the previous version's items table, with a row in it
            conn.exec_driver_sql("CREATE TABLE order_items (id VARCHAR(20) PRIMARY KEY, order_id VARCHAR(12))")
            conn.exec_driver_sql("INSERT INTO order_items VALUES ('4521-1', '4521')")
        assert _run_seed(url).returncode == 0
        assert _count(database, Order) == 6
    finally:
        database.dispose()


def test_api_seeds_the_shop_named_by_shop(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from commerce_api.app import create_app

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}", token="t", shop="tau-retail")
    with TestClient(create_app(settings), headers={"Authorization": "Bearer t"}) as client:
        assert client.get("/policy").json()["shop"] == "tau-retail"
        assert client.get("/orders/%23W2611340").status_code == 200
