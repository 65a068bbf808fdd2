"""Fixtures of the fault tests: the real stack with a fault-injecting proxy in front of the commerce API.

One session stack for the commerce API fault, lost write and action-server restart tests:
the commerce API, `FaultProxy` in front of it, an action server that can be killed (SIGKILL)
and started again on the same port, and Rasa with the trained model. Timeouts, backoff and
the circuit breaker are shrunk through the environment so that every fault resolves in
seconds.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from actions.gate import Gate
from tests import processes
from tests.faults.proxy import FaultProxy
from tests.stack import MODEL, Conversation, Stack, stack_env

# Small, but the same shape as production: each call retried within its budget, a breaker.
FAULT_ENV = {
    "COMMERCE_API_TIMEOUT": "1.0",
    "COMMERCE_API_CONNECT_TIMEOUT": "0.3",
    "COMMERCE_API_READ_RETRIES": "2",
    "COMMERCE_API_RETRY_BUDGET": "3.0",
    "COMMERCE_API_BACKOFF_FACTOR": "0.05",
    "COMMERCE_API_BACKOFF_JITTER": "0.05",
    "COMMERCE_API_BREAKER_FAILURES": "3",
    "COMMERCE_API_BREAKER_RESET": "2.0",
    # The default (three budgets plus 5 s) would be 14 s; no execution in these tests takes 3 s.
    "GATE_EXECUTION_LEASE_SECONDS": "8",
}
BREAKER_RESET_SECONDS = 2.0
RETRY_BUDGET_SECONDS = 3.0
EXECUTION_LEASE_SECONDS = 8.0


class ActionServer:
    """The action server as a process the tests can kill and start again on the same port."""

    def __init__(self, env: Dict[str, str], logs: Path) -> None:
        self.port = processes.free_port()
        self.env = dict(env, ACTION_SERVER_PORT=str(self.port))
        self.logs = logs
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        self.starts = 0
        self._running: ExitStack = ExitStack()
        self.process = None

    def start(self) -> None:
        self.starts += 1
        command = [str(processes.RASA_BIN / "python"), "-m", "actions.server"]
        self._running = ExitStack()
        self.process = self._running.enter_context(processes.running(
            command, self.env, f"http://127.0.0.1:{self.port}/health", self.logs / f"action-server-{self.starts}.log"
        ))

    def kill(self) -> None:
        """SIGKILL: no clean-up, no answer to the request in flight."""
        self.process.kill()
        self.process.wait(timeout=10)
        self._running.close()

    def restart(self) -> None:
        self.kill()
        self.start()

    def metrics(self) -> str:
        return requests.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text

    def stop(self) -> None:
        self._running.close()


class FaultStack(Stack):
    proxy: FaultProxy
    action_server: ActionServer

    def ledger_statuses(self, sender: str):
        return [row.status for row in self.gate.history(sender)]

    def wait_for_closed_circuit(self) -> None:
        """Lets a breaker opened by an earlier test probe and close again (the probe is a real call)."""
        if "assistant_commerce_api_circuit_state 0.0" in self.action_server.metrics():
            return
        time.sleep(BREAKER_RESET_SECONDS + 0.2)
        requests.post(  # a harmless action run whose API call is the half-open probe
            self.action_server.url, params={"token": processes.ACTION_SERVER_TOKEN}, timeout=10,
            json={"next_action": "action_report_order_status", "sender_id": "circuit-probe",
                  "tracker": {"sender_id": "circuit-probe", "slots": {"order_id": "4521",
                              "customer_id": "cus_jane_doe", "verified_via": "email"}, "events": [],
                              "latest_message": {}, "active_loop": {}},
                  "domain": {}},
        )


@pytest.fixture(scope="session")
def fault_proxy(commerce_api_url: str) -> Iterator[FaultProxy]:
    upstream = urlsplit(commerce_api_url)
    proxy = FaultProxy(upstream.hostname, upstream.port)
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def fault_stack(fault_proxy: FaultProxy, commerce_api_url: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first (make test does)")
    state = tmp_path_factory.mktemp("fault-stack")
    logs = tmp_path_factory.mktemp("fault-logs")
    env = stack_env(fault_proxy.url, state, **FAULT_ENV)
    ledger_url = env["ACTION_LEDGER_URL"]
    action_server = ActionServer(env, logs)
    action_server.start()
    try:
        env["ACTION_SERVER_URL"] = action_server.url
        with processes.rasa_server(env, logs) as rasa_url:
            stack = FaultStack(rasa_url, commerce_api_url, ledger_url, env)
            stack.gate = Gate(ttl_minutes=15, ledger_url=ledger_url, lease_seconds=EXECUTION_LEASE_SECONDS)
            stack.proxy = fault_proxy
            stack.action_server = action_server
            yield stack
    finally:
        action_server.stop()


@pytest.fixture
def shopper(fault_stack: FaultStack, fault_proxy: FaultProxy, reseed) -> Iterator[Conversation]:
    """A customer on the fault stack; demo data fresh, no faults, the circuit closed, the log empty."""
    fault_proxy.heal()
    if fault_stack.action_server.process.poll() is not None:
        fault_stack.action_server.start()
    reseed()
    fault_stack.wait_for_closed_circuit()
    fault_proxy.clear_log()
    yield Conversation(fault_stack)
    fault_proxy.heal()
