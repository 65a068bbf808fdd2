"""The action ledger's migrations (actions/migrations/): from the last release's schema and from
nothing to today's models, keeping every audit row; once, however many servers start together.

A database "the last release made" is the create_all of `ledger_77edf9d` (commit 77edf9d's
actions/ledger.py, verbatim), with rows in it. Every test runs on SQLite and on PostgreSQL where
the backend matters.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Dict, List

import psycopg2
import pytest
import requests
import yaml
from alembic import command
from sqlalchemy import create_engine, insert, select, text

from actions import ledger
from actions.gate import Gate, Proposal
from actions.notices import leave_notice, take_notices
from tests import processes
from tests.migrations import ledger_77edf9d as last_release
from tests.migrations.conftest import BACKENDS, differences, schema_of

BOTH_REVISIONS = ["0001_baseline", "0002_review_and_notices", "0003_handoff_inbox"]
SERVERS = 4
CREATED = datetime(2026, 3, 1, 9, 30)
# the rows a ledger of the last release holds: a finished return, a declined address change, one in flight
AUDIT_ROWS = [
    dict(id="a" * 32, conversation_id="conv-1", customer_id="cus_jane_doe", order_id="4521",
         action_name="create_return", arguments={"item_id": "4521-1", "reason": "wrong_size"},
         summary="Return the Blue Denim Jacket", audit_summary="Return the Blue Denim Jacket",
         redacted_arguments={"item_id": "4521-1", "reason": "wrong_size"}, status=ledger.SUCCEEDED,
         created_at=CREATED, updated_at=CREATED + timedelta(minutes=1), expires_at=CREATED + timedelta(minutes=15),
         result={"return_id": "RMA-0001"}, error=None),
    dict(id="b" * 32, conversation_id="conv-2", customer_id="cus_sam_lee", order_id="4522",
         action_name="change_shipping_address", arguments={"address": {"street": "48 Elm Street"}},
         summary="To: 48 Elm Street", audit_summary="To: 4* E** S*****",
         redacted_arguments={"address": {"street": "4* E** S*****"}}, status=ledger.DECLINED,
         created_at=CREATED, updated_at=CREATED, expires_at=CREATED + timedelta(minutes=15), result=None, error=None),
    dict(id="c" * 32, conversation_id="conv-3", customer_id="cus_jane_doe", order_id="4522",
         action_name="cancel_order", arguments={"order_id": "4522"}, summary="Cancel order 4522",
         audit_summary="Cancel order 4522", redacted_arguments={"order_id": "4522"}, status=ledger.UNKNOWN,
         created_at=CREATED, updated_at=CREATED, expires_at=CREATED + timedelta(minutes=15), result=None,
         error="the commerce API did not answer"),
]
HANDOFF = dict(id="d" * 32, conversation_id="conv-2", reason="customer_request", order_id="4522", created_at=CREATED)


def made_by_the_last_release(url: str) -> None:
    """What the last release's first use left: its create_all, then audit rows and a handoff."""
    engine = create_engine(url, future=True)
    last_release.Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(last_release.StagedAction.__table__), AUDIT_ROWS)
        connection.execute(insert(last_release.HandoffRequest.__table__), [HANDOFF])
    engine.dispose()


def rows(url: str, table: str) -> List[Dict]:
    """The table's rows through today's models (typed: times, JSON and booleans as Python values)."""
    columns = ledger.Base.metadata.tables[table]
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(columns).order_by(columns.c.id))]
    finally:
        engine.dispose()


def version_rows(url: str) -> List[str]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text(f"SELECT version_num FROM {ledger.VERSION_TABLE}")))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_baseline_revision_is_the_schema_the_last_release_created(new_database, backend):
    created = new_database(backend)
    engine = create_engine(created, future=True)
    last_release.Base.metadata.create_all(engine)
    engine.dispose()
    migrated = new_database(backend)
    command.upgrade(ledger.alembic_config(url=migrated), "0001_baseline")
    assert schema_of(migrated) == schema_of(created)
    assert differences(migrated, last_release.Base.metadata) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_ledger_the_last_release_made_is_upgraded_keeping_every_audit_row(new_database, backend):
    url = new_database(backend)
    made_by_the_last_release(url)
    assert ledger.migrate(url) == BOTH_REVISIONS
    # every audit row exactly as it was, the new columns null and false
    assert rows(url, "staged_actions") == [dict(row, confirmed_at=None, needs_review=False) for row in AUDIT_ROWS]
    assert rows(url, "handoff_requests") == [{**HANDOFF, "customer_id": None, "closed_at": None, "closed_by": None}]
    assert rows(url, "conversation_notices") == []
    assert differences(url, ledger.Base.metadata) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_upgraded_ledger_and_a_new_one_end_in_the_same_schema_as_the_models(new_database, backend):
    upgraded, new = new_database(backend), new_database(backend)
    made_by_the_last_release(upgraded)
    assert ledger.migrate(upgraded) == BOTH_REVISIONS
    assert ledger.migrate(new) == BOTH_REVISIONS
    assert schema_of(upgraded) == schema_of(new)
    assert differences(new, ledger.Base.metadata) == []
    assert ledger.migrate(upgraded) == [] and ledger.migrate(new) == []  # at head: nothing to do


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_upgraded_ledger_serves_the_gate_and_the_notices(new_database, backend):
    url = new_database(backend)
    made_by_the_last_release(url)
    gate = Gate(ttl_minutes=15, ledger_url=url)  # first use: migrates
    assert gate.get("a" * 32).status == ledger.SUCCEEDED
    row = gate.stage(conversation_id="conv-9", action_name="create_return", proposal=Proposal(
        order_id="4521", customer_id="cus_jane_doe", arguments={"item_id": "4521-2"},
        summary_lines=["Striped Scarf"], question="Shall I create this return?"))
    assert gate.get(row.id).needs_review is False
    leave_notice("conv-9", "Your return is created.", staged_action_id=row.id, ledger_url=url)
    assert take_notices("conv-9", ledger_url=url) == ["Your return is created."]
    # a row written without the new columns (by a server of the last release, mid-upgrade) needs no review
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(insert(last_release.StagedAction.__table__), [dict(AUDIT_ROWS[1], id="e" * 32)])
    engine.dispose()
    assert gate.get("e" * 32).needs_review is False


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrading_to_nothing_and_upgrading_again_works(new_database, backend):
    url = new_database(backend)
    ledger.migrate(url)
    command.downgrade(ledger.alembic_config(url=url), "0001_baseline")
    assert differences(url, last_release.Base.metadata) == []
    command.downgrade(ledger.alembic_config(url=url), "base")
    assert schema_of(url) == {}
    assert ledger.migrate(url) == BOTH_REVISIONS


def test_a_migrator_waiting_too_long_for_the_lock_says_so(new_database, monkeypatch):
    url = new_database("postgresql")
    holder = psycopg2.connect(url)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (ledger.MIGRATION_LOCK_KEY,))
        monkeypatch.setattr(ledger, "MIGRATION_LOCK_TIMEOUT_SECONDS", 1)
        with pytest.raises(ledger.LedgerSchemaError, match="another process has been migrating the ledger"):
            ledger.migrate(url)
    finally:
        holder.close()
    assert ledger.migrate(url) == BOTH_REVISIONS


def server_env(url: str, port: int) -> Dict[str, str]:
    return processes.base_env(ACTION_LEDGER_URL=url, ACTION_SERVER_PORT=str(port),
                              ACTION_SERVER_TOKEN=processes.ACTION_SERVER_TOKEN,
                              COMMERCE_API_URL="http://127.0.0.1:1", COMMERCE_API_TOKEN="unused")


def start_servers(url: str, count: int, logs: Path) -> List[tuple]:
    started = []
    for index in range(count):
        port = processes.free_port()
        log = logs / f"action-server-{index}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([str(processes.RASA_BIN / "python"), "-m", "actions.server"],
                                       cwd=processes.ROOT, env=server_env(url, port), stdout=out,
                                       stderr=subprocess.STDOUT)
        started.append((process, port, log))
    return started


def stop(started: List[tuple]) -> None:
    for process, _, _ in started:
        process.terminate()
    for process, _, _ in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def waiting_for_the_lock(admin, database: str) -> int:
    with admin.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                       "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = %s", (database,))
        return cursor.fetchone()[0]


def test_action_servers_starting_together_on_a_fresh_database_migrate_it_once_and_all_serve(
        new_database, tmp_path):
    url = new_database("postgresql")
    database = url.rsplit("/", 1)[1]
    # Hold the migration lock until every server is queued on it, so all of them really race.
    holder = psycopg2.connect(url)
    holder.autocommit = True
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", (ledger.MIGRATION_LOCK_KEY,))
    started = start_servers(url, SERVERS, tmp_path)
    try:
        deadline = time.monotonic() + 180
        while waiting_for_the_lock(holder, database) < SERVERS:
            assert all(p.poll() is None for p, _, _ in started), [log.read_text()[-2000:] for _, _, log in started]
            assert time.monotonic() < deadline, "the servers never all waited for the migration lock"
            time.sleep(0.2)
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", (ledger.MIGRATION_LOCK_KEY,))
        for process, port, log in started:
            processes.wait_until_healthy(f"http://127.0.0.1:{port}/health", process, log, timeout=120)
            assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json() == {"status": "ok"}
        migrated = [log for _, _, log in started if "action ledger migrated" in log.read_text()]
        assert len(migrated) == 1, [log.read_text()[-2000:] for _, _, log in started]
        assert f"action ledger migrated: {', '.join(BOTH_REVISIONS)}" in migrated[0].read_text()
    finally:
        stop(started)
        holder.close()
    assert version_rows(url) == [ledger.head_revision()]
    assert differences(url, ledger.Base.metadata) == []
    gate = Gate(ttl_minutes=15, ledger_url=url)
    row = gate.stage(conversation_id="conv-1", action_name="cancel_order", proposal=Proposal(
        order_id="4522", customer_id="cus_jane_doe", arguments={"order_id": "4522"},
        summary_lines=["Order #4522"], question="Shall I cancel it?"))
    assert gate.get(row.id).status == ledger.AWAITING_CONFIRMATION


def test_migrators_racing_on_one_fresh_sqlite_file_apply_the_revisions_once(new_database, tmp_path):
    url = new_database("sqlite")
    path = url.removeprefix("sqlite:///")
    # Hold SQLite's write lock (what each migration begins with) until every migrator has started.
    holder = create_engine(url, future=True, connect_args={"isolation_level": None})
    with holder.connect() as connection:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        migrators = [subprocess.Popen([str(processes.RASA_BIN / "python"), "-m", "actions.migrations", "--url", url],
                                      cwd=processes.ROOT, env=processes.base_env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True) for _ in range(SERVERS)]
        time.sleep(8)  # importing SQLAlchemy and Alembic; then each waits on the lock (busy timeout 120 s)
        assert all(m.poll() is None for m in migrators)
        connection.exec_driver_sql("COMMIT")
    holder.dispose()
    outputs = [m.communicate(timeout=120)[0] for m in migrators]
    assert all(m.returncode == 0 for m in migrators), outputs
    assert sum(f"applied {', '.join(BOTH_REVISIONS)}" in out for out in outputs) == 1, outputs
    assert sum("nothing to apply" in out for out in outputs) == SERVERS - 1, outputs
    assert Path(path).exists() and differences(url, ledger.Base.metadata) == []


def test_an_action_server_started_on_the_last_release_ledger_migrates_it_then_serves(new_database, tmp_path):
    url = new_database("sqlite")
    made_by_the_last_release(url)
    port = processes.free_port()
    with processes.running([str(processes.RASA_BIN / "python"), "-m", "actions.server"], server_env(url, port),
                           f"http://127.0.0.1:{port}/health", tmp_path / "server.log"):
        assert f"action ledger migrated: {', '.join(BOTH_REVISIONS)}" in (tmp_path / "server.log").read_text()
    assert len(rows(url, "staged_actions")) == len(AUDIT_ROWS)
    assert differences(url, ledger.Base.metadata) == []


def test_an_action_server_refuses_a_ledger_a_newer_release_migrated(new_database, tmp_path):
    url = new_database("sqlite")
    ledger.migrate(url)
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {ledger.VERSION_TABLE} SET version_num = '0099_from_a_newer_release'"))
    engine.dispose()
    server = subprocess.run([str(processes.RASA_BIN / "python"), "-m", "actions.server"], cwd=processes.ROOT,
                            env=server_env(url, processes.free_port()), capture_output=True, text=True, timeout=120)
    assert server.returncode != 0
    assert "'0099_from_a_newer_release', which this release does not know" in server.stderr
    assert "a newer release migrated it" in server.stderr
    check = subprocess.run([str(processes.RASA_BIN / "python"), "-m", "actions.migrations", "check", "--url", url],
                           cwd=processes.ROOT, env=processes.base_env(), capture_output=True, text=True, timeout=60)
    assert check.returncode == 1 and "run `make migrate`" in check.stderr


def test_make_migrate_brings_both_configured_databases_to_their_head(tmp_path):
    ledger_url, commerce_url = f"sqlite:///{tmp_path / 'ledger.db'}", f"sqlite:///{tmp_path / 'commerce.db'}"
    made_by_the_last_release(ledger_url)
    env = processes.base_env(ACTION_LEDGER_URL=ledger_url, COMMERCE_DATABASE_URL=commerce_url)
    result = subprocess.run([str(processes.RASA_BIN / "python"), "scripts/stack.py", "migrate"], cwd=processes.ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "action ledger" in result.stdout and f"applied {', '.join(BOTH_REVISIONS)}" in result.stdout
    commerce_head = max(p.stem for p in (processes.ROOT / "commerce_api" / "migrations" / "versions").glob("0*.py"))
    assert "commerce database" in result.stdout and f"at {commerce_head} (head)" in result.stdout
    assert differences(ledger_url, ledger.Base.metadata) == []
    again = subprocess.run([str(processes.RASA_BIN / "python"), "scripts/stack.py", "migrate"], cwd=processes.ROOT,
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout.count("nothing to apply") == 2, again.stdout


def test_every_deployment_path_migrates_before_serving():
    makefile = (processes.ROOT / "Makefile").read_text()
    assert "\nmigrate: " in makefile and "scripts/stack.py migrate" in makefile
    stack = (processes.ROOT / "scripts/stack.py").read_text()
    assert stack.count("if not migrate(env):") == 2  # run and up
    assert "if not migrate(env):" in (processes.ROOT / "scripts/production.py").read_text()
    # the images migrate in their own start command (the servers themselves, under the lock)
    assert 'ENTRYPOINT ["python", "-m", "actions.server"]' in (processes.ROOT / "deploy/actions.Dockerfile").read_text()
    # Helm: an init container of the action server image runs the migration with the ledger's URL
    values = yaml.safe_load((processes.ROOT / "deploy/helm/actions-values.yaml").read_text())
    (init,) = values["initContainers"]
    assert init["image"] == f"{values['registry']}/{values['image']['name']}:{values['image']['tag']}"
    assert init["command"] == ["python", "-m", "actions.migrations", "upgrade"]
    server_ledger = next(e for e in values["extraEnv"] if e["name"] == "ACTION_LEDGER_URL")
    assert init["env"] == [server_ledger]
