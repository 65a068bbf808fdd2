"""Messenger as shoppers use it: signed webhook deliveries in, Send API calls out (to a stand-in)."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List

import requests

from tests.channels.conftest import MESSENGER_VERIFY_TOKEN, ChannelStack, messenger_signature

JANE = "jane.doe@example.com"


class MessengerUser:
    def __init__(self, stack: ChannelStack, psid: str) -> None:
        self.stack = stack
        self.psid = psid
        self.url = f"{stack.rasa_url}/webhooks/facebook/webhook"
        self.count = 0

    def delivery(self, text: str, quick_reply: bool = False, mid: str | None = None) -> Dict[str, Any]:
        self.count += 1
        message: Dict[str, Any] = {"mid": mid or f"m_{self.psid}_{self.count}", "text": text}
        if quick_reply:
            message["quick_reply"] = {"payload": text}
        return {"object": "page", "entry": [{"id": "PAGE1", "time": int(time.time() * 1000), "messaging": [
            {"sender": {"id": self.psid}, "recipient": {"id": "PAGE1"}, "timestamp": int(time.time() * 1000),
             "message": message}]}]}

    def post(self, delivery: Dict[str, Any]) -> requests.Response:
        body = json.dumps(delivery).encode()
        return requests.post(self.url, data=body, timeout=60,
                             headers={"Content-Type": "application/json", **messenger_signature(body)})

    def sent(self) -> List[Dict[str, Any]]:
        """The messages (not sender actions) the Send API got for this person."""
        return [c["body"] for c in self.stack.platform.matching(
            lambda c: c["path"].endswith("/me/messages") and c["body"].get("recipient", {}).get("id") == self.psid
            and "message" in c["body"])]

    def say(self, text: str, quick_reply: bool = False) -> List[Dict[str, Any]]:
        before = len(self.sent())
        response = self.post(self.delivery(text, quick_reply))
        assert response.status_code == 200, response.text
        return [m["message"] for m in self.sent()[before:]]  # the webhook answers once the turn is done


def text_of(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def test_a_return_in_messenger_with_quick_replies_and_the_gate(shop: ChannelStack, unique) -> None:
    fb = MessengerUser(shop, unique("psid"))
    assert "email" in text_of(fb.say("I want to return the blue jacket from order #4521"))
    reasons = fb.say(JANE)
    [asking] = [m for m in reasons if m.get("quick_replies")]
    assert {"content_type": "text", "title": "Wrong size", "payload": "Wrong size"} in asking["quick_replies"]
    assert len(asking["quick_replies"]) == 6  # all six reasons (a button template would take three)
    assert all(len(q["title"]) <= 20 and not q["payload"].startswith("/") for q in asking["quick_replies"])

    refund = fb.say("Wrong size", quick_reply=True)
    assert "Store credit" in [q["payload"] for m in refund for q in m.get("quick_replies", [])]
    prompt = fb.say("Store credit", quick_reply=True)
    [gate] = [m for m in prompt if m.get("quick_replies")]
    for detail in ("#4521", "Blue Denim Jacket (Size M)", "$89.00", "Shall I create this return?"):
        assert detail in gate["text"]
    assert gate["quick_replies"] == [
        {"content_type": "text", "title": "Yes", "payload": "Yes"},
        {"content_type": "text", "title": "No", "payload": "No"},
    ]
    call = shop.platform.matching(lambda c: c["path"] == "/graph/v2.12/me/messages")[-1]
    assert call["query"]["access_token"] == ["test-page-token"] and call["query"].get("appsecret_proof")

    assert "RMA-" in text_of(fb.say("Yes", quick_reply=True))
    assert len(shop.returns("4521")) == 1
    actions = shop.platform.matching(lambda c: c["body"].get("sender_action") and
                                     c["body"]["recipient"]["id"] == fb.psid)
    assert {"mark_seen", "typing_on", "typing_off"} <= {c["body"]["sender_action"] for c in actions}


def test_missing_and_forged_messenger_signatures_are_refused_before_nlu(shop: ChannelStack, unique) -> None:
    fb = MessengerUser(shop, unique("psid"))
    body = json.dumps(fb.delivery("track order 4521")).encode()
    headers = {"Content-Type": "application/json"}
    responses = [
        requests.post(fb.url, data=body, headers=headers, timeout=10),  # no signature
        requests.post(fb.url, data=body, timeout=10, headers={**headers, **messenger_signature(body, "wrong")}),
        requests.post(fb.url, data=body.replace(b"4521", b"4522"), timeout=10,  # body changed after signing
                      headers={**headers, **messenger_signature(body)}),
        requests.post(fb.url, data=body, timeout=10, headers={  # only the legacy SHA-1 header
            **headers, "X-Hub-Signature": "sha1=" + messenger_signature(body)["X-Hub-Signature-256"][7:47]}),
    ]
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert shop.events(fb.psid) == 0
    assert fb.sent() == []
    assert shop.platform.matching(lambda c: c["body"].get("recipient", {}).get("id") == fb.psid) == []


def test_a_redelivered_messenger_message_is_processed_once(shop: ChannelStack, unique) -> None:
    fb = MessengerUser(shop, unique("psid"))
    delivery = fb.delivery("track order 4521")
    assert fb.post(delivery).status_code == 200
    assert fb.post(delivery).status_code == 200  # Meta redelivers the same mid
    assert [m["text"] for m in shop.user_messages(fb.psid)] == ["track order 4521"]
    assert len([m for m in fb.sent() if "email" in m["message"].get("text", "")]) == 1


def test_the_subscription_handshake_checks_the_verify_token(shop: ChannelStack) -> None:
    url = f"{shop.rasa_url}/webhooks/facebook/webhook"
    ok = requests.get(url, timeout=10, params={
        "hub.mode": "subscribe", "hub.verify_token": MESSENGER_VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = requests.get(url, timeout=10, params={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"})
    assert wrong.status_code == 403 and "1158201444" not in wrong.text
