"""`make run` with no Slack or Messenger configuration: both webhooks refuse every request."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests import processes
from tests.channels.conftest import messenger_signature, slack_signature


@pytest.fixture(scope="module")
def bare_rasa(tmp_path_factory: pytest.TempPathFactory, logs_dir: Path) -> Iterator[str]:
    """Rasa with the repository's defaults: every channel secret is `not-configured`."""
    state = tmp_path_factory.mktemp("bare-rasa")
    env = processes.base_env(TRACKER_DB_PATH=str(state / "tracker.db"),
                             EVENT_BROKER_DB_PATH=str(state / "events.db"),
                             ACTION_SERVER_URL=f"http://127.0.0.1:{processes.free_port()}/webhook",
                             ACTION_SERVER_TOKEN="unused")
    for name in processes.CHANNEL_SECRETS:
        env[name] = "not-configured"
    bare_logs = logs_dir / "bare"
    bare_logs.mkdir(exist_ok=True)
    with processes.rasa_server(env, bare_logs) as url:
        yield url


def test_unconfigured_slack_and_messenger_refuse_everything(bare_rasa: str) -> None:
    slack = f"{bare_rasa}/webhooks/slack/webhook"
    event = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {
        "type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "text": "hi"}}).encode()
    # even signed with the placeholder itself: a known value must never open the door
    signed = slack_signature(event, int(time.time()), secret="not-configured")
    assert requests.post(slack, data=event, headers={"Content-Type": "application/json", **signed},
                         timeout=10).status_code == 403
    assert requests.post(slack, data=event, headers={"Content-Type": "application/json"}, timeout=10).status_code == 403

    messenger = f"{bare_rasa}/webhooks/facebook/webhook"
    delivery = json.dumps({"object": "page", "entry": [{"messaging": [
        {"sender": {"id": "P1"}, "message": {"mid": "m1", "text": "hi"}}]}]}).encode()
    assert requests.post(messenger, data=delivery, timeout=10, headers={
        "Content-Type": "application/json", **messenger_signature(delivery, "not-configured")}).status_code == 403
    assert requests.get(messenger, timeout=10, params={
        "hub.mode": "subscribe", "hub.verify_token": "not-configured", "hub.challenge": "1"}).status_code == 403
    # the customer channels are unaffected
    assert requests.get(f"{bare_rasa}/webhooks/rest/", timeout=10).status_code == 200
