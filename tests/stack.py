"""The whole stack as the tests drive it: a REST client, the ledger and the commerce API."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Type, TypeVar
from urllib.parse import quote

import pytest
import requests

from actions.gate import Gate
from tests import processes

MODEL = processes.ROOT / "models" / "assistant.tar.gz"


class Stack:
    def __init__(self, rasa_url: str, commerce_api_url: str, ledger_url: str, env: Dict[str, str]) -> None:
        self.env = env  # the environment the servers run with (action server URL, ledger, ...)
        self.rasa_url = rasa_url
        self.commerce_api_url = commerce_api_url
        self.gate = Gate(ttl_minutes=15, ledger_url=ledger_url)
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {processes.DEMO_TOKEN}"

    def send(self, sender: str, text: str, **extra: Any) -> List[Dict[str, Any]]:
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text, **extra}, timeout=60,
            headers={"Authorization": f"Bearer {processes.REST_CHANNEL_TOKEN}"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def returns(self, order_id: str) -> List[Dict[str, Any]]:
        return self.api.get(f"{self.commerce_api_url}/returns", params={"order_id": order_id}, timeout=5).json()[
            "returns"
        ]

    def exchanges(self, order_id: str) -> List[Dict[str, Any]]:
        return self.api.get(f"{self.commerce_api_url}/exchanges", params={"order_id": order_id},
                            timeout=5).json()["exchanges"]

    def product(self, product_id: str) -> Dict[str, Any]:
        return self.api.get(f"{self.commerce_api_url}/products/{quote(product_id, safe='')}", timeout=5).json()

    def order(self, order_id: str) -> Dict[str, Any]:
        return self.api.get(f"{self.commerce_api_url}/orders/{quote(order_id, safe='')}", timeout=5).json()

    def customer(self, customer_id: str) -> Dict[str, Any]:
        return self.api.get(f"{self.commerce_api_url}/customers/{quote(customer_id, safe='')}", timeout=5).json()


class Conversation:
    """One customer talking to the stack; `say` returns the replies as one string."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sender = f"customer-{uuid.uuid4().hex[:12]}"
        self.last: List[Dict[str, Any]] = []

    def say(self, text: str) -> str:
        self.last = self.stack.send(self.sender, text)
        said = "\n".join(m.get("text", "") for m in self.last)
        print(f"> {text}\n{said}")  # shown with the failure (pytest captures it)
        return said

    def say_with_metadata(self, text: str, metadata: Any) -> str:
        self.last = self.stack.send(self.sender, text, metadata=metadata)
        return "\n".join(m.get("text", "") for m in self.last)

    def buttons(self) -> List[str]:
        return [b["title"] for m in self.last for b in m.get("buttons", [])]

    def payloads(self) -> List[str]:
        """What each button of the last replies sends when it is clicked."""
        return [b["payload"] for m in self.last for b in m.get("buttons", [])]

    def ledger(self):
        return self.stack.gate.history(self.sender)




class InboxAgent:
    """A person from the support team, logged in to the inbox with a cookie like a browser."""

    def __init__(self, stack: Stack, password: str = processes.INBOX_PASSWORD) -> None:
        self.base = f"{stack.rasa_url}/webhooks/inbox"
        self.http = requests.Session()
        self.http.headers["X-Inbox-Request"] = "1"
        self.login = self.http.post(f"{self.base}/login", timeout=10,
                                    json={"name": processes.INBOX_STAFF_NAME, "password": password})

    def waiting(self) -> List[Dict[str, Any]]:
        reply = self.http.get(f"{self.base}/api/conversations", timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()["waiting"]

    def conversation(self, conversation_id: str) -> Dict[str, Any]:
        reply = self.http.get(f"{self.base}/api/conversation", params={"id": conversation_id}, timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def reply(self, conversation_id: str, text: str) -> requests.Response:
        return self.http.post(f"{self.base}/api/reply", json={"conversation_id": conversation_id, "text": text},
                              timeout=30)

    def hand_back(self, conversation_id: str) -> requests.Response:
        return self.http.post(f"{self.base}/api/hand-back", json={"conversation_id": conversation_id}, timeout=30)


S = TypeVar("S", bound=Stack)


@lru_cache(maxsize=1)
def inbox_staff() -> str:
    from shop_channels.staff import hash_password

    return f"{processes.INBOX_STAFF_NAME}:{hash_password(processes.INBOX_PASSWORD)}"


def stack_env(commerce_api_url: str, state: Path, **extra_env: str) -> Dict[str, str]:
    """The environment of a test stack's servers: throwaway stores in `state`, the test secrets."""
    return processes.base_env(
        COMMERCE_API_URL=commerce_api_url,
        COMMERCE_API_TOKEN=processes.DEMO_TOKEN,
        ACTION_LEDGER_URL=f"sqlite:///{state / 'ledger.db'}",
        ACTION_SERVER_TOKEN=processes.ACTION_SERVER_TOKEN,
        CUSTOMER_TOKEN_SECRET=processes.CUSTOMER_TOKEN_SECRET,
        REST_CHANNEL_TOKEN=processes.REST_CHANNEL_TOKEN,
        SESSION_SIGNING_SECRET=processes.SESSION_SIGNING_SECRET,
        INBOX_STAFF=inbox_staff(),
        TRACKER_DB_PATH=str(state / "tracker.db"),
        EVENT_BROKER_DB_PATH=str(state / "events.db"),
        **extra_env,
    )


@contextmanager
def started(stack_class: Type[S], commerce_api_url: str, state: Path, logs: Path, **extra_env: str) -> Iterator[S]:
    """An action server and a Rasa server with throwaway stores in `state`, on free loopback ports."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first (make test does)")
    env = stack_env(commerce_api_url, state, **extra_env)
    ledger_url = env["ACTION_LEDGER_URL"]
    with processes.action_server(env, logs) as action_url:
        env["ACTION_SERVER_URL"] = action_url
        with processes.rasa_server(env, logs) as rasa_url:
            yield stack_class(rasa_url, commerce_api_url, ledger_url, env)
