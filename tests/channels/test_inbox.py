"""The handoff for real: the bot goes quiet, a person answers from the agent inbox, then hands back.

Driven over HTTP against the channel stack (Rasa with every channel, the action server, the
commerce API); the helpdesk webhook is received by the stand-in of tests/channels/conftest.py.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from actions.handoffs import SIGNATURE_HEADER, sign
from tests.channels.conftest import HANDOFF_WEBHOOK_SECRET, ChannelStack
from tests.channels.test_messenger import MessengerUser, text_of
from tests.channels.test_slack import SlackUser
from tests.stack import Conversation, InboxAgent

JANE = "jane.doe@example.com"
BACK = "You're back with the assistant"


def test_a_handed_over_conversation_waits_for_a_person_who_replies_and_hands_it_back(shop: ChannelStack) -> None:
    customer = Conversation(shop)
    customer.say("where is order 4521")
    customer.say(JANE)
    said = customer.say("this is useless, I want to talk to a real person")
    assert "reference" in said
    # paused: what the customer writes is recorded for the person, and the bot says nothing
    assert customer.say("hello? is anyone there?") == ""
    agent = InboxAgent(shop)
    assert agent.login.status_code == 200, agent.login.text
    [waiting] = [w for w in agent.waiting() if w["conversation_id"] == customer.sender]
    assert waiting["reason"] == "customer_request" and waiting["reference"] in said
    assert waiting["last_customer_message"]["text"] == "hello? is anyone there?"
    seen = agent.conversation(customer.sender)
    assert seen["paused"] is True and seen["verified_via"] == "email"
    assert seen["customer"]["email"] == JANE and "4521" in [o["order_id"] for o in seen["orders"]]
    assert [row["text"] for row in seen["transcript"] if row["who"] == "customer"][-1] == "hello? is anyone there?"

    # REST answers only requests: the reply is given with the customer's next message
    reply = agent.reply(customer.sender, "Hi, I'm from the team. Your parcel left our warehouse this morning.")
    assert reply.status_code == 200 and reply.json() == {"delivered": "notice"}
    assert customer.say("thanks!") == ("agent (support team): Hi, I'm from the team. "
                                       "Your parcel left our warehouse this morning.")
    assert any(row["who"] == "agent" and row["agent"] == "agent" for row in agent.conversation(customer.sender)
               ["transcript"])

    assert agent.hand_back(customer.sender).json() == {"delivered": "notice"}
    assert customer.sender not in [w["conversation_id"] for w in agent.waiting()]
    assert agent.hand_back(customer.sender).status_code == 409  # once
    assert agent.reply(customer.sender, "still there?").status_code == 409  # nobody is waiting any more
    said = customer.say("can you cancel order 4523?")
    assert said.startswith(BACK) and "4523" in said  # the bot answers again
    assert agent.conversation(customer.sender)["paused"] is False


def test_asking_for_a_person_at_the_confirmation_abandons_the_staged_row_and_a_later_yes_does_nothing(
    shop: ChannelStack,
) -> None:
    customer = Conversation(shop)
    customer.say("please cancel order 4522")
    assert "Yes" in customer.say(JANE) or customer.buttons()
    assert [row.status for row in customer.ledger()] == ["awaiting_confirmation"]
    assert "reference" in customer.say("actually I'd rather speak to someone from your team")
    assert [row.status for row in customer.ledger()] == ["abandoned"]
    assert customer.say("yes") == ""  # paused, and nothing is asking
    assert shop.order("4522")["status"] == "processing"


def test_the_inbox_is_for_logged_in_staff_only(shop: ChannelStack) -> None:
    base = f"{shop.rasa_url}/webhooks/inbox"
    assert requests.get(f"{base}/", timeout=10).status_code == 200  # the page (its login form) is public
    assert requests.get(f"{base}/api/conversations", timeout=10).status_code == 401
    assert requests.post(f"{base}/api/reply", json={"conversation_id": "x", "text": "hi"},
                         headers={"X-Inbox-Request": "1"}, timeout=10).status_code == 401
    forged = requests.get(f"{base}/api/conversations", cookies={"inbox_session": "e30.e30.forged"}, timeout=10)
    assert forged.status_code == 401
    wrong = InboxAgent(shop, password="not-the-password")
    assert wrong.login.status_code == 401 and "inbox_session" not in wrong.http.cookies
    # a page on another site can make the browser POST, but not with the header
    agent = InboxAgent(shop)
    no_header = requests.post(f"{base}/api/hand-back", json={"conversation_id": "x"}, timeout=10,
                              cookies=agent.http.cookies)
    assert no_header.status_code == 403
    assert agent.http.post(f"{base}/api/reply", json={"conversation_id": "x"}, timeout=10).status_code == 400
    assert agent.http.post(f"{base}/api/reply", data="not json", timeout=10).status_code == 400
    assert agent.reply("nobody-handed-this-over", "hi").status_code == 409
    assert agent.http.get(f"{base}/api/conversation", params={"id": "no-such"}, timeout=10).status_code == 404


def test_wrong_passwords_are_refused_for_a_while() -> None:
    from shop_channels.staff import LoginThrottle

    throttle = LoginThrottle(limit=3, window=60)
    for second in range(3):
        assert throttle.allowed("agent", now=100.0 + second)
        throttle.failed("agent", now=100.0 + second)
    assert not throttle.allowed("agent", now=110.0) and throttle.allowed("someone-else", now=110.0)
    assert throttle.allowed("agent", now=161.0)  # the window has passed


def test_the_helpdesk_webhook_gets_every_handoff_signed(shop: ChannelStack) -> None:
    customer = Conversation(shop)
    said = customer.say("I need a human please")
    [call] = shop.platform.wait_for(lambda c: c["path"] == "/helpdesk/handoffs"
                                    and c["body"].get("conversation_id") == customer.sender)
    body = call["body"]
    assert body["event"] == "handoff.requested" and body["reference"] in said
    assert body["reason"] == "customer_request" and body["customer_id"] is None
    stamp = int(call["headers"][SIGNATURE_HEADER].split(",")[0][2:])
    assert call["headers"][SIGNATURE_HEADER] == sign(HANDOFF_WEBHOOK_SECRET, stamp, call["raw"])
    assert abs(time.time() - stamp) < 120
    assert json.loads(call["raw"]) == body


def test_an_agent_reply_to_a_slack_conversation_is_posted_to_slack(shop: ChannelStack) -> None:
    slack = SlackUser(shop, f"U{int(time.time() * 1000) % 10 ** 9}")
    slack.say("get me a person", until="reference")
    agent = InboxAgent(shop)
    [waiting] = [w for w in agent.waiting() if w["channel"] == "slack" and slack.user in w["conversation_id"]]
    before = len(slack.posts())
    assert agent.reply(waiting["conversation_id"], "Hello from the team").json() == {"delivered": "pushed"}
    posted = slack.wait(before, until="Hello from the team")
    assert posted[-1]["text"] == "agent (support team): Hello from the team"


def test_an_agent_reply_to_a_messenger_conversation_goes_through_the_send_api(shop: ChannelStack, unique) -> None:
    fb = MessengerUser(shop, unique("psid"))
    assert "reference" in text_of(fb.say("can I talk to an actual human being"))
    assert fb.say("hello?") == []  # paused
    agent = InboxAgent(shop)
    [waiting] = [w for w in agent.waiting() if w["channel"] == "facebook" and fb.psid in w["conversation_id"]]
    before = len(fb.sent())
    assert agent.reply(waiting["conversation_id"], "Hi, this is the team").json() == {"delivered": "pushed"}
    assert [m["message"]["text"] for m in fb.sent()[before:]] == ["agent (support team): Hi, this is the team"]


@pytest.mark.parametrize("entry", ["agent:x", "", "bad name:scrypt.1.1.1.a.b", ":scrypt.1.1.1.a.b", "agent"])
def test_staff_entries_that_do_not_parse_are_no_accounts(entry: str) -> None:
    from shop_channels.staff import staff_accounts

    assert staff_accounts(entry) == {}
    assert staff_accounts(f"{entry}, sam:scrypt.1.1.1.a.b") == {"sam": "scrypt.1.1.1.a.b"}


def test_a_staff_password_hash_checks_only_that_password_and_a_session_only_that_name(monkeypatch) -> None:
    from shop_channels import staff

    stored = staff.hash_password("a long enough password")
    assert staff.password_matches("a long enough password", stored)
    assert not staff.password_matches("a long enough passwore", stored)
    assert stored != staff.hash_password("a long enough password")  # a salt of its own each time
    monkeypatch.setenv(staff.STAFF_ENV, f"sam:{stored}")
    monkeypatch.setenv(staff.SESSION_SECRET_ENV, "s" * 32)
    token = staff.issue_session("sam")
    assert staff.staff_of_session(token) == "sam"
    assert staff.staff_of_session(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert staff.staff_of_session(staff.issue_session("sam", now=time.time() - staff.SESSION_SECONDS - 5)) is None
    monkeypatch.setenv(staff.STAFF_ENV, "")
    assert staff.staff_of_session(token) is None  # an account removed from INBOX_STAFF is logged out
