"""Helpers for the attack tests: snapshots of everything an attack could change."""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Dict, List

import jwt
import pytest
from sqlalchemy import text

from tests import processes
from tests.stack import Stack

DEMO_ORDERS = ("4521", "4522", "4523", "4524", "4525", "4526")
DEMO_CUSTOMERS = ("cus_jane_doe", "cus_sam_lee")


def commerce_state(stack: Stack) -> Dict[str, Any]:
    """Order statuses, addresses and returns, and the accounts' saved addresses: what a successful attack
    would change."""
    state: Dict[str, Any] = {}
    for order_id in DEMO_ORDERS:
        order = stack.order(order_id)
        state[order_id] = (order["status"], order["shipping_address"], len(stack.returns(order_id)))
    for customer_id in DEMO_CUSTOMERS:
        state[customer_id] = stack.customer(customer_id)["default_address"]
    return state


def ledger_rows(stack: Stack) -> List[Any]:
    with stack.gate._sessions() as session:
        return list(session.execute(text("SELECT id, status FROM staged_actions ORDER BY created_at")))


def tracker_events(stack: Stack, sender: str) -> List[Dict[str, Any]]:
    """The conversation's events as the SQL tracker store holds them."""
    with sqlite3.connect(stack.env["TRACKER_DB_PATH"]) as db:
        rows = db.execute(
            "SELECT type_name, intent_name, action_name FROM events WHERE sender_id = ? ORDER BY id", (sender,)
        ).fetchall()
    return [{"type": t, "intent": i, "action": a} for t, i, a in rows]


def customer_token(subject: str = "cus_jane_doe", *, expires_in: float = 600,
                   secret: str = processes.CUSTOMER_TOKEN_SECRET, algorithm: str = "HS256") -> str:
    now = int(time.time())
    return jwt.encode({"sub": subject, "iat": now, "exp": now + int(expires_in)}, secret, algorithm=algorithm)


@pytest.fixture
def unchanged(stack: Stack, reseed):
    """Asserts, after the test, that the commerce API and the ledger are as before it."""
    reseed()
    before = (commerce_state(stack), ledger_rows(stack))
    yield
    assert (commerce_state(stack), ledger_rows(stack)) == before
