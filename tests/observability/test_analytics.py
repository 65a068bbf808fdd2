"""`python -m tools.analytics_report` on conversations driven through the running stack."""

from __future__ import annotations

import json
import subprocess

from tests import processes
from tests.e2e.test_conversations import reach_return_confirmation
from tests.stack import Conversation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_report_counts_flows_funnels_fallbacks_handoffs_and_the_gate(stack, reseed, tmp_path) -> None:
    reseed()
    completed, declined, nevermind, handoff, fallback = (Conversation(stack) for _ in range(5))
    reach_return_confirmation(completed)
    assert "RMA-" in completed.say("yes")
    reseed()
    reach_return_confirmation(declined)
    assert "haven't changed anything" in declined.say("no")
    nevermind.say("I want to return the blue jacket from order #4521")
    nevermind.say("jane.doe@example.com")
    assert "nothing was changed" in nevermind.say("never mind")
    assert "reference" in handoff.say("I want to talk to a human")
    # whether NLU falls back on this depends on the model; the report must count what happened
    fell_back = int("rephrase" in fallback.say("zxqv blorp wibble fnord"))
    assert "30 days" in fallback.say("what is your return policy?")

    senders = [c.sender for c in (completed, declined, nevermind, handoff, fallback)]
    result = subprocess.run(
        [str(processes.RASA_BIN / "python"), "-m", "tools.analytics_report", "--senders", ",".join(senders),
         "--out-dir", str(tmp_path / "reports")],
        cwd=processes.ROOT, env=stack.env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "reports" / "analytics.json").read_text())

    assert report["conversations"] == 5
    assert report["user_messages"] == 5 + 5 + 3 + 1 + 2
    flows = report["conversations_per_flow"]
    assert (flows["return"], flows["handoff"], flows["policy"], flows["cancel"]) == (3, 1, 1, 0)
    funnel = report["forms"]["return_form"]
    assert funnel["started"] == 3
    assert {step["slot"]: step["reached"] for step in funnel["steps"]} == {
        "customer_email": 3, "order_id": 3, "return_items": 3, "return_reason": 3,
        "return_refund_method": 2, "gate_confirmation": 2,
    }
    assert (funnel["completed"], funnel["nevermind"], funnel["handoff"], funnel["left_mid_form"]) == (2, 1, 0, 0)
    assert report["fallback"] == {"nlu_fallback_messages": fell_back, "rate": round(fell_back / 16, 4)}
    assert report["handoff"] == {"conversations": 1, "rate": 0.2}
    assert report["gate"] == {"confirmed": 1, "declined": 1, "confirm_rate": 0.5}

    assert f"Fallback rate: {100 * fell_back / 16:.1f}%" in result.stdout
    assert "Gate:          1 confirmed, 1 declined" in result.stdout
    chart = (tmp_path / "reports" / "analytics.png").read_bytes()
    assert chart[:8] == PNG_SIGNATURE and len(chart) > 10_000
