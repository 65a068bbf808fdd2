"""Customers return and cancel orders while replicas, action servers and Redis fail at random.

    FAULT_SOAK_SECONDS=1200 make soak-faults     (the 20-minute soak; `make test` runs 60 s)

Against the production layout (two Rasa replicas, two action servers, nginx, its own
Redis). Customer threads run whole return and cancellation conversations, each on
an order of its own (bench/seed.py), answering "yes" or "no" at the confirmation,
and resend a message that was not handled (as a customer does when told to). A fault
thread meanwhile kills a Rasa replica or an action server, or stops Redis, for a few
seconds at random moments (loopback only, bounded by the soak's duration), then
restarts it. Afterwards every order is checked in the commerce API and the ledger:
no duplicated return or cancellation, none the customer did not confirm, every
executed row matches the API.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Set

import requests
from sqlalchemy import create_engine, text

from shop_channels import PROCESSING_FAILED_REPLY
from tests import processes
from tests.processes import API_PYTHON, DEMO_TOKEN, ROOT, ProductionLayout

SOAK_SECONDS = float(os.environ.get("FAULT_SOAK_SECONDS", "60"))
CUSTOMERS = int(os.environ.get("FAULT_SOAK_CUSTOMERS", "6"))
RESENDS = 8


class Customers:
    def __init__(self, layout: ProductionLayout, pool: Dict[str, List[dict]], deadline: float) -> None:
        self.layout = layout
        self.deadline = deadline
        self.orders = {kind: list(entries) for kind, entries in pool.items() if kind in ("return", "cancel")}
        self.lock = threading.Lock()
        self.confirmed: Set[str] = set()  # orders whose customer answered "yes"
        self.declined: Set[str] = set()
        self.turns = 0
        self.unhandled = 0

    def say(self, sender: str, message: str) -> str:
        """Sends until handled, like a customer told to send it again."""
        for _ in range(RESENDS):
            try:
                response = processes.rest_post(self.layout.url, {"sender": sender, "message": message},
                                               timeout=150)
                reply = " ".join(m.get("text", "") for m in response.json()) if response.ok else ""
            except (requests.RequestException, ValueError):
                reply = ""
            with self.lock:
                self.turns += 1
            if reply and reply != PROCESSING_FAILED_REPLY:
                return reply
            with self.lock:
                self.unhandled += 1
            time.sleep(1)
        return ""

    def next_order(self):
        with self.lock:
            kind = random.choice([k for k, v in self.orders.items() if v])
            return kind, self.orders[kind].pop()

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            kind, order = self.next_order()
            sender = f"soak-{uuid.uuid4().hex[:10]}"
            first = (f"I want to return the blue jacket from order #{order['order_id']}" if kind == "return"
                     else f"please cancel order {order['order_id']}")
            reply = self.say(sender, first)
            steps = [order["email"], "it doesn't fit", "store credit"] if kind == "return" else [order["email"],
                                                                                             "changed my mind"]
            for step in steps:
                if "Shall I" in reply or not reply:
                    break
                reply = self.say(sender, step)
            if "Shall I" not in reply:
                continue  # the conversation went elsewhere: nothing was staged for confirmation
            answer = "yes" if random.random() < 0.8 else "no"
            with self.lock:
                (self.confirmed if answer == "yes" else self.declined).add(order["order_id"])
            self.say(sender, answer)


def inject_faults(layout: ProductionLayout, deadline: float, log: List[str]) -> None:
    faults = [("kill", "rasa", 0), ("kill", "rasa", 1), ("kill", "action-server", 0),
              ("kill", "action-server", 1), ("stop", "redis", 0)]
    while time.monotonic() < deadline - 30:
        time.sleep(random.uniform(5, 15))
        how, service, index = random.choice(faults)
        layout.control(how, service, index)
        log.append(f"{time.monotonic():.0f} {how} {service} {index}")
        time.sleep(random.uniform(2, 8))
        layout.control("start", service, index)


def api_state(layout: ProductionLayout, order_ids: List[str]) -> Dict[str, dict]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {DEMO_TOKEN}"
    base = layout.services["commerce_api_url"]
    state = {}
    for order_id in order_ids:
        returns = session.get(f"{base}/returns", params={"order_id": order_id}, timeout=10).json()["returns"]
        status = session.get(f"{base}/orders/{order_id}", timeout=10).json()["status"]
        state[order_id] = {"returns": returns, "status": status}
    return state


def test_random_faults_never_duplicate_or_skip_a_confirmation(production_layout: ProductionLayout, tmp_path: Path):
    layout = production_layout
    pool_file = tmp_path / "pool.json"
    database = layout.services["commerce_database_url"].replace("postgresql://", "postgresql+psycopg://")
    subprocess.run([str(API_PYTHON), "-m", "bench.seed", "--database-url", database, "--pool", str(pool_file),
                    "--counts", "return=3000,cancel=3000"], cwd=ROOT, check=True, capture_output=True)
    pool = json.loads(pool_file.read_text())["sessions"]
    deadline = time.monotonic() + SOAK_SECONDS
    customers = Customers(layout, pool, deadline)
    fault_log: List[str] = []
    threads = [threading.Thread(target=customers.run) for _ in range(CUSTOMERS)]
    for thread in threads:
        thread.start()
    try:
        inject_faults(layout, deadline, fault_log)
    finally:
        for service, count in (("redis", 1), ("rasa", 2), ("action-server", 2)):
            for index in range(count):
                if not alive(layout, service, index):
                    layout.control("start", service, index)
        for thread in threads:
            thread.join(timeout=600)
    assert fault_log, "no fault was injected"

    touched = sorted(customers.confirmed | customers.declined)
    state = api_state(layout, touched)
    engine = create_engine(layout.ledger_url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT order_id, action_name, status, result FROM staged_actions WHERE conversation_id LIKE 'soak-%'"
        )).fetchall()
    engine.dispose()
    ledger = defaultdict(list)
    for order_id, action_name, status, result in rows:
        ledger[order_id].append((action_name, status, result))

    acted = {order_id for order_id, s in state.items() if s["returns"] or s["status"] == "cancelled"}
    # nothing happened that the customer did not confirm
    assert acted <= customers.confirmed, acted - customers.confirmed
    for order_id, s in state.items():
        # never twice: one return per order here (the jacket), one cancellation
        assert len(s["returns"]) <= 1, (order_id, s["returns"])
        statuses = [status for _, status, _ in ledger[order_id]]
        succeeded = [status for status in statuses if status == "succeeded"]
        assert len(succeeded) <= 1, (order_id, statuses)
        if succeeded:
            assert order_id in acted, (order_id, statuses)
        if order_id in acted:
            # the API's effect has its confirmed ledger row (finished, or still being finished)
            assert set(statuses) & {"succeeded", "executing", "outcome_unknown"}, (order_id, statuses)
    assert acted, "no destructive action completed during the soak"
    print(f"\nfault soak {SOAK_SECONDS:.0f}s: {len(fault_log)} faults, {customers.turns} messages "
          f"({customers.unhandled} not handled and resent), {len(customers.confirmed)} confirmed, "
          f"{len(customers.declined)} declined, {len(acted)} executed in the API")


def alive(layout: ProductionLayout, service: str, index: int) -> bool:
    try:
        os.kill(layout.pids(service)[index], 0)
        return True
    except ProcessLookupError:
        return False
