"""Starts the real services on free loopback ports for tests, and stops them."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List

import requests

ROOT = Path(__file__).resolve().parent.parent
API_PYTHON = ROOT / ".venv/api/bin/python"
RASA_BIN = ROOT / ".venv/rasa/bin"
DEMO_TOKEN = "demo-commerce-token"
# generated per test run, like scripts/stack.py does for `make run`
ACTION_SERVER_TOKEN = secrets.token_urlsafe(24)
# signs the logged-in shopper tokens of the tests (a test value, not a deployment secret)
CUSTOMER_TOKEN_SECRET = "test-only-customer-token-secret-0123456789"
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
    env.update(overrides)
    return env


def seed(database_url: str) -> None:
    """Resets the commerce database to the demo data (the real `make seed` path)."""
    subprocess.run(
        [str(API_PYTHON), "-m", "commerce_api.seed"],
        cwd=ROOT,
        env=base_env(COMMERCE_DATABASE_URL=database_url),
        check=True,
        capture_output=True,
    )


@contextmanager
def commerce_api(database_url: str, logs: Path) -> Iterator[str]:
    port = free_port()
    env = base_env(
        COMMERCE_API_PORT=str(port), COMMERCE_DATABASE_URL=database_url,
        COMMERCE_API_TOKEN=DEMO_TOKEN, COMMERCE_SEED_ON_START="always",
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
    command = [
        str(RASA_BIN / "rasa"), "run", "--model", "models", "--port", str(port), "--interface", "127.0.0.1",
        "--credentials", "credentials.yml", "--endpoints", "endpoints.yml", "--cors", "*",
    ]
    with running(command, env, f"http://127.0.0.1:{port}/", logs / "rasa.log"):
        yield f"http://127.0.0.1:{port}"
