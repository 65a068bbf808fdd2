"""Faults of the production layout (scripts/production.py): a Rasa replica dies, Redis stops.

Each test asserts what the customer read, the conversation history in Redis, and
the commerce API and ledger afterwards.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Dict, List, Tuple

import requests

from shop_channels import PROCESSING_FAILED_REPLY
from tests import processes
from tests.processes import ProductionLayout, seed
from tests.stack import Conversation, Stack

OUTAGE_SECONDS = 30


def stack_for(layout: ProductionLayout) -> Stack:
    return Stack(layout.url, layout.services["commerce_api_url"], layout.ledger_url, env={})


def stored_user_texts(layout: ProductionLayout, sender: str) -> List[str]:
    raw = layout.redis_command("-n", "0", "--raw", "LRANGE", f"shoptracker:{sender}:events", "0", "-1")
    return [event["text"] for event in map(json.loads, filter(str.strip, raw.splitlines())) if event["event"] == "user"]


def reseed(layout: ProductionLayout) -> None:
    seed(layout.services["commerce_database_url"].replace("postgresql://", "postgresql+psycopg://"))


def stage_jacket_return(customer: Conversation) -> None:
    assert "email address" in customer.say("I want to return the blue jacket from order #4521")
    assert "reason for the return" in customer.say("jane.doe@example.com")
    assert "How would you like your refund" in customer.say("it doesn't fit")
    assert "Shall I create this return?" in customer.say("store credit")


def test_a_killed_rasa_replica_loses_nothing(production_layout: ProductionLayout):
    stack = stack_for(production_layout)
    customer = Conversation(stack)
    assert "email address" in customer.say("where is my order 4523")
    served_by = processes.rest_post(production_layout.url, timeout=60,
                                    json_body={"sender": customer.sender, "message": "what is your return policy?"})
    port = int(served_by.headers["X-Upstream"].rsplit(":", 1)[1])
    index = production_layout.services["rasa_ports"].index(port)
    production_layout.control("kill", "rasa", index)
    try:
        # the verification form is still waiting for the email: the other replica knows it
        reply = customer.say("jane.doe@example.com")
        assert "you're verified" in reply and "on its way with UPS" in reply
        assert stored_user_texts(production_layout, customer.sender) == [
            "where is my order 4523", "what is your return policy?", "jane.doe@example.com"]
    finally:
        production_layout.control("start", "rasa", index)


class Load:
    """Customers tracking orders in a loop; records what each one sent and read."""

    def __init__(self, layout: ProductionLayout, customers: int) -> None:
        self.layout = layout
        self.senders = [f"load-{uuid.uuid4().hex[:10]}" for _ in range(customers)]
        self.sent: Dict[str, List[Tuple[str, str]]] = {s: [] for s in self.senders}
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._customer, args=(s,)) for s in self.senders]

    def _customer(self, sender: str) -> None:
        script = ["where is my order 4523", "jane.doe@example.com", "what is your return policy?", "thanks"]
        step = 0
        while not self.stop.is_set():
            text = f"{script[step % len(script)]}"
            try:
                response = processes.rest_post(self.layout.url, {"sender": sender, "message": text}, timeout=150)
                reply = " ".join(m.get("text", "") for m in response.json()) if response.ok else "HTTP error"
            except requests.RequestException as error:
                reply = f"request failed: {error}"
            self.sent[sender].append((text, reply))
            step += 1
            time.sleep(0.3)

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=200)


def test_redis_stopped_for_thirty_seconds_under_load(production_layout: ProductionLayout):
    layout = production_layout
    reseed(layout)
    stack = stack_for(layout)
    buyer = Conversation(stack)
    stage_jacket_return(buyer)
    with Load(layout, customers=6) as load:
        time.sleep(3)
        layout.control("stop", "redis")
        try:
            time.sleep(2)
            # the confirmation cannot be read back: nothing executes, the customer is told to retry
            assert buyer.say("yes") == PROCESSING_FAILED_REPLY
            assert stack.returns("4521") == []
            assert [row.status for row in buyer.ledger()] == ["awaiting_confirmation"]
            time.sleep(OUTAGE_SECONDS - 2)
        finally:
            layout.control("start", "redis")
        time.sleep(5)

    # after Redis is back the same answer goes through, exactly once
    assert "Done — your return" in buyer.say("yes")
    assert len(stack.returns("4521")) == 1
    assert [row.status for row in buyer.ledger()] == ["succeeded"]

    failed_during_outage = 0
    for sender, exchanges in load.sent.items():
        answered = [text for text, reply in exchanges if reply and reply != PROCESSING_FAILED_REPLY
                    and not reply.startswith(("request failed", "HTTP error"))]
        failed_during_outage += sum(1 for _, reply in exchanges if reply == PROCESSING_FAILED_REPLY)
        # every message that got a real answer is in the shared history, once, in order; no other is
        assert stored_user_texts(layout, sender) == answered, sender
        assert all(not reply.startswith(("request failed", "HTTP error")) for _, reply in exchanges)
    assert failed_during_outage > 0  # the load really ran into the outage
