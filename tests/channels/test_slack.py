"""Slack as a support team uses it: signed Events API deliveries in, chat.postMessage out (to a stand-in)."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List

import requests

from tests.channels.conftest import ChannelStack, slack_signature

JANE = "jane.doe@example.com"


class SlackUser:
    """One person in a DM with the app: what Slack would POST to the webhook."""

    def __init__(self, stack: ChannelStack, user: str) -> None:
        self.stack = stack
        self.user = user
        self.channel = f"D{user}"
        self.url = f"{stack.rasa_url}/webhooks/slack/webhook"
        self.count = 0

    def _post(self, body: bytes, content_type: str, timestamp: int | None = None,
              headers: Dict[str, str] | None = None) -> requests.Response:
        signed = slack_signature(body, int(time.time()) if timestamp is None else timestamp)
        return requests.post(self.url, data=body, timeout=10,
                             headers={"Content-Type": content_type, **signed, **(headers or {})})

    def event(self, text: str, event_id: str | None = None) -> Dict[str, Any]:
        self.count += 1
        return {
            "token": "legacy-unused", "team_id": "T0SHOP", "api_app_id": "A0SHOP", "type": "event_callback",
            "event_id": event_id or f"Ev{self.user}{self.count}", "event_time": int(time.time()),
            "authorizations": [{"user_id": "U0BOT", "is_bot": True}],
            "event": {"type": "message", "channel_type": "im", "channel": self.channel, "user": self.user,
                      "text": text, "ts": f"{time.time():.6f}"},
        }

    def send_event(self, event: Dict[str, Any], **kwargs: Any) -> requests.Response:
        return self._post(json.dumps(event).encode(), "application/json", **kwargs)

    def click(self, value: str, title: str) -> requests.Response:
        self.count += 1
        payload = {
            "type": "block_actions", "user": {"id": self.user}, "channel": {"id": self.channel},
            "trigger_id": f"trigger-{self.user}-{self.count}", "message": {"ts": f"{time.time():.6f}"},
            "actions": [{"type": "button", "action_id": "choice-0", "text": {"type": "plain_text", "text": title},
                         "value": value, "action_ts": f"{time.time():.6f}"}],
        }
        body = requests.models.RequestEncodingMixin._encode_params({"payload": json.dumps(payload)}).encode()
        return self._post(body, "application/x-www-form-urlencoded")

    def posts(self) -> List[Dict[str, Any]]:
        return self.stack.platform.matching(
            lambda c: c["path"].endswith("/chat.postMessage") and c["body"].get("channel") == self.channel)

    def say(self, text: str, until: str) -> List[Dict[str, Any]]:
        before = len(self.posts())
        response = self.send_event(self.event(text))
        assert response.status_code == 200, response.text
        return self.wait(before, until)

    def wait(self, before: int, until: str, timeout: float = 60) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = self.posts()[before:]
            if any(until in post["body"].get("text", "") for post in new):
                time.sleep(0.8)  # the rest of the turn
                return [p["body"] for p in self.posts()[before:]]
            time.sleep(0.1)
        raise AssertionError(f"no chat.postMessage containing {until!r}; got {self.posts()[before:]}")


def buttons(posts: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    blocks = [b for post in posts for b in (json.loads(post["blocks"]) if isinstance(post.get("blocks"), str)
                                            else post.get("blocks") or [])]
    return [element for block in blocks if block["type"] == "actions" for element in block["elements"]]


def test_a_return_in_slack_with_block_buttons_and_the_gate(shop: ChannelStack, unique) -> None:
    slack = SlackUser(shop, unique("U"))
    slack.say("I want to return the blue jacket from order #4521", until="email")
    reasons = slack.say(JANE, until="reason")
    reason_buttons = buttons(reasons)
    assert [b["value"] for b in reason_buttons][:2] == ["Wrong size", "It arrived damaged"]
    assert len(reason_buttons) == 6  # all six reasons, in rows of five (stock Rasa drops them past five)
    assert all(b["type"] == "button" and not b["value"].startswith("/") for b in reason_buttons)

    before = len(slack.posts())
    assert slack.click("Wrong size", "Wrong size").status_code == 200
    refund = slack.wait(before, "refund")
    assert "Store credit" in [b["value"] for b in buttons(refund)]

    before = len(slack.posts())
    assert slack.click("Store credit", "Store credit").status_code == 200
    prompt = slack.wait(before, "Shall I create this return?")
    [post] = [p for p in prompt if p.get("blocks")]
    for detail in ("#4521", "Blue Denim Jacket (Size M)", "$89.00"):
        assert detail in post["text"]
    assert [(b["text"]["text"], b["value"]) for b in buttons(prompt)] == [("Yes", "Yes"), ("No", "No")]
    auth = slack.posts()[-1]["headers"].get("Authorization")
    assert auth == "Bearer xoxb-test-token"

    before = len(slack.posts())
    assert slack.click("Yes", "Yes").status_code == 200
    assert "RMA-" in "\n".join(p["text"] for p in slack.wait(before, "RMA-"))
    assert len(shop.returns("4521")) == 1


def test_forged_and_stale_slack_requests_are_refused_before_nlu(shop: ChannelStack, unique) -> None:
    slack = SlackUser(shop, unique("U"))
    body = json.dumps(slack.event("track order 4521")).encode()
    now = int(time.time())
    forged = requests.post(slack.url, data=body, timeout=10, headers={
        "Content-Type": "application/json", **slack_signature(body, now, secret="not-the-secret")})
    unsigned = requests.post(slack.url, data=body, timeout=10, headers={"Content-Type": "application/json"})
    stale = slack.send_event(json.loads(body), timestamp=now - 6 * 60)
    future = slack.send_event(json.loads(body), timestamp=now + 6 * 60)
    tampered = requests.post(slack.url, data=body.replace(b"4521", b"4522"), timeout=10, headers={
        "Content-Type": "application/json", **slack_signature(body, now)})
    for response in (forged, unsigned, stale, future, tampered):
        assert response.status_code == 401, response.text
    time.sleep(2)
    assert shop.events(slack.user) == 0  # nothing reached NLU or the tracker
    assert slack.posts() == []  # nothing was sent to Slack


def test_a_redelivered_slack_event_is_processed_once(shop: ChannelStack, unique) -> None:
    slack = SlackUser(shop, unique("U"))
    event = slack.event("track order 4521")
    assert slack.send_event(event).status_code == 200
    slack.wait(0, "email")
    # Slack's retry: the same event_id, freshly signed, with retry headers
    again = slack.send_event(event, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    assert again.status_code == 200
    time.sleep(3)
    assert [m["text"] for m in shop.user_messages(slack.user)] == ["track order 4521"]
    assert len([p for p in slack.posts() if "email" in p["body"]["text"]]) == 1


def test_slack_url_verification_needs_a_signature(shop: ChannelStack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "token": "legacy"}).encode()
    url = f"{shop.rasa_url}/webhooks/slack/webhook"
    signed = requests.post(url, data=body, timeout=10, headers={
        "Content-Type": "application/json", **slack_signature(body, int(time.time()))})
    assert signed.status_code == 200 and signed.json() == {
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert requests.post(url, data=body, timeout=10, headers={"Content-Type": "application/json"}).status_code == 401
