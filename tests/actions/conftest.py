"""Fixtures for action tests: the action code configured against the real commerce API."""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from requests.adapters import HTTPAdapter

from actions import ledger
from actions.api import commerce
from actions.config import get_settings
from actions.gate import get_gate


class CountingAdapter(HTTPAdapter):
    """Transport that counts requests by method and path (ids kept) before sending them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: Counter = Counter()

    def send(self, request, *args: Any, **kwargs: Any):
        path = request.path_url.split("?")[0]
        self.calls[f"{request.method} {path}"] += 1
        return super().send(request, *args, **kwargs)

    def count(self, fragment: str) -> int:
        return sum(n for call, n in self.calls.items() if fragment in call)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, commerce_api_url: str, tmp_path, reseed) -> None:
    """Points the actions at the test commerce API and a fresh ledger."""
    reseed()
    monkeypatch.setenv("COMMERCE_API_URL", commerce_api_url)
    monkeypatch.setenv("COMMERCE_API_TOKEN", "demo-commerce-token")
    monkeypatch.setenv("ACTION_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    for cached in (get_settings, commerce.get_commerce_client, ledger.get_sessionmaker):
        cached.cache_clear()
    yield
    for cached in (get_settings, commerce.get_commerce_client, ledger.get_sessionmaker):
        cached.cache_clear()


@pytest.fixture
def api_calls(configured) -> CountingAdapter:
    adapter = CountingAdapter()
    commerce.get_commerce_client().session.mount("http://", adapter)
    return adapter


@pytest.fixture
def gate(configured):
    return get_gate()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def make_tracker(
    slots: Optional[Dict[str, Any]] = None,
    *,
    text: str = "",
    intent: str = "inform",
    active_loop: Optional[str] = None,
    sender_id: str = "test-conversation",
    events: Optional[List[Dict[str, Any]]] = None,
) -> Tracker:
    return Tracker(
        sender_id=sender_id,
        slots=dict(slots or {}),
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or m.get("response") for m in dispatcher.messages]
