"""`python -m tools.inspect_conversation` on a real return, against the running stack."""

from __future__ import annotations

import json
import subprocess

from tests import processes
from tests.e2e.test_conversations import JANE, reach_return_confirmation
from tests.stack import Conversation


def inspect(stack, conversation_id: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(processes.RASA_BIN / "python"), "-m", "tools.inspect_conversation", conversation_id, *flags],
        cwd=processes.ROOT, env=stack.env, capture_output=True, text=True, timeout=120,
    )


def test_the_inspector_shows_turns_actions_replies_and_the_ledger_row(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    done = customer.say("yes")
    return_id = next(word for word in done.split() if word.startswith("RMA-"))

    result = inspect(stack, customer.sender)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in ('"I want to return the blue jacket from order #4521"', '"it doesn\'t fit"', '"store credit"',
                 '"yes"', "intent request_return", "intent affirm", "order_id=4521", "return_form",
                 "action_resolve_gate", "Shall I create this return?", return_id, "buttons: Yes | No"):
        assert text in out, text
    ledger = out.split("Action ledger (staged_actions)")[1]
    assert "create_return  order #4521  succeeded" in ledger and return_id in ledger
    # the email the customer typed is masked everywhere, the order number is not
    assert JANE not in out and '"j***@example.com"' in out and "email=***" in out
    assert JANE not in result.stderr


def test_the_inspectors_json_output_and_an_unknown_conversation(customer: Conversation, stack) -> None:
    said = customer.say("I want to talk to a human")
    result = inspect(stack, customer.sender, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [row["intent"] for row in report["timeline"] if row["who"] == "customer"] == ["human_handoff"]
    assert "action_handoff_to_human" in [row.get("action") for row in report["timeline"]]
    [handoff] = report["handoff_requests"]
    assert handoff["reason"] == "customer_request" and handoff["reference"] in said
    assert report["staged_actions"] == []

    unknown = inspect(stack, "no-such-conversation-0000")
    assert unknown.returncode == 1 and "No conversation" in unknown.stderr
