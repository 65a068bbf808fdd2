"""Two Rasa replicas and two action servers behind nginx, sharing one Redis (scripts/production.py)."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

import requests

from tests import processes
from tests.processes import ProductionLayout, seed

POLICY_REPLY = "Our return policy: you can return items within 30 days"


def stored_events(layout: ProductionLayout, sender: str) -> List[Dict[str, Any]]:
    raw = layout.redis_command("-n", "0", "--raw", "LRANGE", f"shoptracker:{sender}:events", "0", "-1")
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def send(layout: ProductionLayout, sender: str, text: str) -> requests.Response:
    return processes.rest_post(layout.url, {"sender": sender, "message": text}, timeout=120)


def test_twenty_parallel_messages_of_one_conversation(production_layout: ProductionLayout):
    sender = f"parallel-{uuid.uuid4().hex[:8]}"
    # distinct texts without digits (a number would be read as an order number)
    texts = [f"what is your return policy? asking for {name}" for name in
             "ann bob cid dan eve fay gus hal ida jon kim lou mia ned oli pam quinn rob sue tom".split()]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda text: send(production_layout, sender, text), texts))

    # every message answered, by both replicas between them
    assert [r.status_code for r in responses] == [200] * 20
    for response in responses:
        replies = response.json()
        assert replies and POLICY_REPLY in replies[0]["text"], replies
    assert len({r.headers["X-Upstream"] for r in responses}) == 2

    # the shared history holds each message exactly once, as 20 whole turns one after the other
    events = stored_events(production_layout, sender)
    user_texts = [e["text"] for e in events if e["event"] == "user"]
    assert sorted(user_texts) == sorted(texts)
    turns = []
    for event in events:
        if event["event"] == "user":
            turns.append([])
        elif turns and event["event"] in ("action", "bot"):
            turns[-1].append((event["event"], event.get("name")))
    for turn in turns:
        # each turn: the answer, then listening again, before the next message was read
        assert turn == [("action", "action_answer_question"), ("bot", None), ("action", "action_listen")], turn
    assert sum(1 for e in events if e["event"] == "action" and e["name"] == "action_session_start") == 1
    # no lock left behind
    assert production_layout.redis_command("-n", "1", "--scan", "--pattern", f"shoplock:{{{sender}}}*") == ""


def test_a_conversation_moves_between_replicas_with_its_history(production_layout: ProductionLayout):
    """Consecutive turns land on different replicas (least connections) and still see one history."""
    # other tests on this shared layout may have returned the jacket already
    seed(production_layout.services["commerce_database_url"].replace("postgresql://", "postgresql+psycopg://"))
    sender = f"journey-{uuid.uuid4().hex[:8]}"
    script = [("I want to return the blue jacket from order #4521", "email address on your account"),
              ("jane.doe@example.com", "What's the reason for the return?"),
              ("it doesn't fit", "How would you like your refund"),
              ("store credit", "Shall I create this return?"),
              ("no", "")]
    served_by = set()
    for text, expected in script:
        response = send(production_layout, sender, text)
        served_by.add(response.headers["X-Upstream"])
        replies = " ".join(r.get("text", "") for r in response.json())
        assert expected in replies, (text, replies)
    assert len(served_by) == 2
