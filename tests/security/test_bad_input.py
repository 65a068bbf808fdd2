"""Odd and hostile input gets a clear reply or a 4xx, never a 500, and changes nothing."""

from __future__ import annotations

import requests

from tests import processes
from tests.stack import Conversation


def post_raw(stack, body: bytes) -> requests.Response:
    return requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", data=body, timeout=60,
                         headers={"Content-Type": "application/json",
                                  "Authorization": f"Bearer {processes.REST_CHANNEL_TOKEN}"})


def assert_still_works(customer: Conversation) -> None:
    assert "support assistant" in customer.say("hello")


def test_an_empty_message_gets_a_clear_reply(customer: Conversation, unchanged) -> None:
    assert "didn't get any text" in customer.say("")
    assert "didn't get any text" in customer.say("   \n ")
    assert_still_works(customer)


def test_a_100_kb_message_gets_a_clear_reply(customer: Conversation, unchanged) -> None:
    assert "too long" in customer.say("return my jacket " * 6000)
    assert_still_works(customer)


def test_control_characters_are_dropped(customer: Conversation, unchanged) -> None:
    said = customer.say("where\x00 is my\x1b[31m order\u202e 4521\x07")
    assert "email" in said
    assert_still_works(customer)


def test_rtl_and_emoji_text_get_an_answer(customer: Conversation, unchanged) -> None:
    for text in ("مرحبا، أين طلبي؟", "שלום 👋", "🧥🧥🧥 ↩️ ???", "Ｒｅｔｕｒｎ　ｍｙ　ｊａｃｋｅｔ"):
        assert customer.say(text).strip(), text
    assert_still_works(customer)


def test_malformed_and_invalid_utf8_bodies_get_a_4xx(customer: Conversation, stack, unchanged) -> None:
    sender = customer.sender.encode()
    for body in (b"{not json", b'{"sender": "' + sender + b'", "message": "\xff\xfe\xfa"}', b"",
                 b"[1, 2]", b'{"sender": {"a": 1}, "message": "hi"}', b'{"message": 5}'):
        response = post_raw(stack, body)
        assert response.status_code < 500, (body, response.status_code, response.text[:200])
        assert "Traceback" not in response.text
    assert_still_works(customer)


def test_order_ids_with_paths_or_sql_are_just_not_found(customer: Conversation, unchanged) -> None:
    for attempt in ("track order ../4521", "where is order 4521' OR '1'='1", "order 4521; DROP TABLE orders;--",
                    "track order %2e%2e%2forders", "where is order 45\u0662\u0661"):
        said = customer.say(attempt)
        assert "Traceback" not in said and said.strip(), attempt
        assert "delivered" not in said and "Blue Denim" not in said
    customer.say("never mind")
    assert_still_works(customer)
