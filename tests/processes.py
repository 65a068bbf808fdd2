"""Starts the real services on free loopback ports for tests, and stops them."""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List

import requests

ROOT = Path(__file__).resolve().parent.parent
API_PYTHON = ROOT / ".venv/api/bin/python"
RASA_BIN = ROOT / ".venv/rasa/bin"
DEMO_TOKEN = "demo-commerce-token"
# generated per test run, like scripts/stack.py does for `make run`
ACTION_SERVER_TOKEN = secrets.token_urlsafe(24)
# signs the logged-in shopper tokens of the tests (a test value, not a deployment secret)
CUSTOMER_TOKEN_SECRET = "test-only-customer-token-secret-0123456789"
# the shop backend's credential on the REST channel, and the web chat's session signing key
REST_CHANNEL_TOKEN = secrets.token_urlsafe(18)
SESSION_SIGNING_SECRET = secrets.token_urlsafe(24)
# The agent inbox's one staff account in test stacks (shop_channels.staff)
INBOX_STAFF_NAME = "agent"
INBOX_PASSWORD = secrets.token_urlsafe(18)
CHANNEL_SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MESSENGER_VERIFY_TOKEN", "MESSENGER_APP_SECRET",
                   "MESSENGER_PAGE_ACCESS_TOKEN")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy in {timeout}s:\n{log.read_text()[-4000:]}")


@contextmanager
def running(command: List[str], env: Dict[str, str], health_url: str, log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(health_url, process, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def base_env(**overrides: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update({"SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore",
                # no telemetry or crash reports to Rasa's servers from tests
                "RASA_TELEMETRY_ENABLED": "false"})
    for name in CHANNEL_SECRETS:  # credentials.yml reads them; unset would stop Rasa from starting
        env.setdefault(name, "not-configured")
    env["SHOP"] = "demo"  # the tests' shop unless a test says otherwise (whatever the shell has)
    env.update(overrides)
    return env


def seed(database_url: str, shop: str = "demo") -> None:
    """Resets the commerce database to a shop's data (the real `make seed` path)."""
    subprocess.run(
        [str(API_PYTHON), "-m", "commerce_api.seed", "--shop", shop],
        cwd=ROOT,
        env=base_env(COMMERCE_DATABASE_URL=database_url),
        check=True,
        capture_output=True,
    )


@contextmanager
def commerce_api(database_url: str, logs: Path, shop: str = "demo") -> Iterator[str]:
    port = free_port()
    env = base_env(
        COMMERCE_API_PORT=str(port), COMMERCE_DATABASE_URL=database_url,
        COMMERCE_API_TOKEN=DEMO_TOKEN, COMMERCE_SEED_ON_START="always", SHOP=shop,
    )
    with running([str(API_PYTHON), "-m", "commerce_api"], env, f"http://127.0.0.1:{port}/health",
                 logs / "commerce-api.log"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def action_server(env: Dict[str, str], logs: Path) -> Iterator[str]:
    port = free_port()
    env = dict(env, ACTION_SERVER_PORT=str(port))
    env.setdefault("ACTION_SERVER_TOKEN", ACTION_SERVER_TOKEN)
    command = [str(RASA_BIN / "python"), "-m", "actions.server"]
    with running(command, env, f"http://127.0.0.1:{port}/health", logs / "action-server.log"):
        yield f"http://127.0.0.1:{port}/webhook"


@contextmanager
def rasa_server(env: Dict[str, str], logs: Path) -> Iterator[str]:
    port = free_port()
    command = [  # as scripts/stack.py starts it: the guarded patches, then Rasa's CLI
        str(RASA_BIN / "python"), "-m", "shop_server", "run", "--model", "models", "--port", str(port),
        "--interface", "127.0.0.1",
        "--credentials", "credentials.yml", "--endpoints", "endpoints.yml", "--cors", "*",
    ]
    with running(command, env, f"http://127.0.0.1:{port}/", logs / "rasa.log"):
        yield f"http://127.0.0.1:{port}"


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free loopback ports."""
    for _ in range(200):
        first = random.randint(20000, 40000)
        try:
            for port in range(first, first + size):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError("no block of free ports")


@dataclass
class ProductionLayout:
    """What scripts/production.py started (its services.json) and how to reach it."""

    state: Path
    services: Dict[str, Any]

    @property
    def url(self) -> str:
        return self.services["balancer_url"]

    def pids(self, name: str) -> List[int]:
        return self.services["processes"][name]

    @property
    def ledger_url(self) -> str:
        return self.services["ledger_database_url"]

    def control(self, command: str, service: str, index: int = 0) -> None:
        """`scripts/production.py stop|kill|start SERVICE INDEX` on this layout."""
        subprocess.run([str(RASA_BIN / "python"), "scripts/production.py", command, service, str(index),
                        "--state", str(self.state)], cwd=ROOT, env=production_env(), check=True, capture_output=True)
        self.services = json.loads((self.state / "services.json").read_text())

    def redis_command(self, *args: str) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.services["redis_port"]), *args],
                              capture_output=True, text=True, check=True).stdout.strip()


def production_env() -> Dict[str, str]:
    return base_env(ACTION_SERVER_TOKEN=ACTION_SERVER_TOKEN, COMMERCE_SEED_ON_START="always",
                    CUSTOMER_TOKEN_SECRET=CUSTOMER_TOKEN_SECRET, REST_CHANNEL_TOKEN=REST_CHANNEL_TOKEN,
                    SESSION_SIGNING_SECRET=SESSION_SIGNING_SECRET)


REST_HEADERS = {"Authorization": f"Bearer {REST_CHANNEL_TOKEN}"}


def rest_post(base_url: str, json_body: Any, **kwargs: Any) -> requests.Response:
    """A REST channel message with the shop backend's credential (the channel refuses any without)."""
    headers = {**REST_HEADERS, **kwargs.pop("headers", {})}
    return requests.post(f"{base_url}/webhooks/rest/webhook", json=json_body, headers=headers, **kwargs)


@contextmanager
def production_layout(state: Path, rasa_replicas: int = 2, action_replicas: int = 2) -> Iterator[ProductionLayout]:
    prefix = f"prodtest_{secrets.token_hex(4)}"
    balancer = free_port_block(2)
    first = free_port_block(rasa_replicas + action_replicas + 1)
    script = [str(RASA_BIN / "python"), "scripts/production.py"]
    flags = ["--state", str(state)]
    env = production_env()
    up = subprocess.run(
        [*script, "up", *flags, "--port", str(balancer), "--first-service-port", str(first),
         "--redis-port", str(free_port()), "--db-prefix", prefix,
         "--rasa-replicas", str(rasa_replicas), "--action-replicas", str(action_replicas)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    try:
        if up.returncode != 0:
            logs = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in (state / "logs").glob("*.log"))
            raise RuntimeError(f"production layout did not start: {up.stdout}{up.stderr}\n{logs}")
        yield ProductionLayout(state, json.loads((state / "services.json").read_text()))
    finally:
        subprocess.run([*script, "down", *flags], cwd=ROOT, env=env, capture_output=True)
        for suffix in ("commerce", "ledger", "events"):
            subprocess.run(["dropdb", "--if-exists", "--force", "-h", "127.0.0.1", "-U", "postgres",
                            f"{prefix}_{suffix}"], capture_output=True)
