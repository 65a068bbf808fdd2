"""/metrics of the running action server and commerce API move with a conversation, and hold no ids."""

from __future__ import annotations

from typing import Dict, Tuple

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.stack import Conversation, Stack

Sample = Tuple[str, Tuple[Tuple[str, str], ...]]


def action_server_metrics_url(stack: Stack) -> str:
    return stack.env["ACTION_SERVER_URL"].rsplit("/webhook", 1)[0] + "/metrics"


def scrape(url: str) -> Tuple[str, Dict[Sample, float]]:
    response = requests.get(url, timeout=5)  # no token: /metrics is open, aggregate values only
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, samples


def value(samples: Dict[Sample, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_return_moves_the_counters_of_both_services(customer: Conversation, stack: Stack) -> None:
    actions_url, api_url = action_server_metrics_url(stack), f"{stack.commerce_api_url}/metrics"
    _, before = scrape(actions_url)
    _, api_before = scrape(api_url)

    customer.say("I want to return the blue jacket from order #4521")
    customer.say("jane.doe@example.com")
    customer.say("it doesn't fit")
    customer.say("store credit")
    assert "return RMA-" in customer.say("yes")
    assert "reference" in customer.say("talk to a human").lower()

    text, after = scrape(actions_url)
    api_text, api_after = scrape(api_url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("assistant_actions_total", action="action_resolve_gate", outcome="ok") == 1
    assert moved("assistant_actions_total", action="validate_return_form", outcome="ok") >= 4
    assert moved("assistant_actions_total", action="action_ask_gate_confirmation", outcome="ok") >= 1
    assert moved("assistant_gate_transitions_total", action="create_return", outcome="staged") >= 1
    assert moved("assistant_gate_transitions_total", action="create_return", outcome="confirmed") == 1
    assert moved("assistant_gate_transitions_total", action="create_return", outcome="executed") == 1
    assert moved("assistant_handoffs_total", reason="customer_request") == 1
    assert moved("assistant_commerce_api_request_seconds_count", method="POST", route="/returns",
                 status="201") == 1
    assert moved("assistant_commerce_api_request_seconds_count", method="POST",
                 route="/customers/verify", status="200") == 1
    assert value(after, "assistant_commerce_api_request_seconds_bucket", method="POST", route="/returns",
                 status="201", le="+Inf") >= 1

    api_moved = value(api_after, "commerce_api_request_seconds_count", method="POST", route="/returns",
                      status="201") - value(api_before, "commerce_api_request_seconds_count", method="POST",
                                            route="/returns", status="201")
    assert api_moved >= 1
    assert value(api_after, "commerce_api_request_seconds_count", method="GET", route="/orders/{order_id}",
                 status="200") >= 1

    # aggregate values only: no order number, conversation id, email or raw path
    for exposed in (text, api_text):
        # names and labels only: a sample's value (e.g. a *_created timestamp) may contain any digits
        series = "\n".join(line.rsplit(" ", 1)[0] for line in exposed.splitlines() if line and line[0] != "#")
        for secret in ("4521", customer.sender, "jane.doe", "example.com", "RMA-"):
            assert secret not in series


def test_an_unknown_action_name_is_counted_as_unknown(stack: Stack) -> None:
    """A caller cannot add time series by inventing action names (the call itself needs the token)."""
    call = {"next_action": "action_made_up_by_a_caller", "sender_id": "metrics-test", "tracker": {}}
    response = requests.post(stack.env["ACTION_SERVER_URL"], json=call,
                             params={"token": stack.env["ACTION_SERVER_TOKEN"]}, timeout=10)
    assert response.status_code == 404
    text, samples = scrape(action_server_metrics_url(stack))
    assert value(samples, "assistant_actions_total", action="unknown", outcome="failed") >= 1
    assert "action_made_up_by_a_caller" not in text


def test_metrics_are_open_but_actions_still_need_the_token(stack: Stack) -> None:
    assert requests.get(action_server_metrics_url(stack), timeout=5).status_code == 200
    assert requests.post(stack.env["ACTION_SERVER_URL"], json={}, timeout=5).status_code == 401


async def test_the_nlu_fallback_action_utters_the_default_and_counts() -> None:
    from prometheus_client import REGISTRY
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.capabilities.answers import ActionFallback

    before = REGISTRY.get_sample_value("assistant_fallbacks_total")
    dispatcher = CollectingDispatcher()
    tracker = Tracker("fallback-test", {}, {}, [], False, None, {}, "action_listen")
    assert await ActionFallback().run(dispatcher, tracker, {}) == []
    assert dispatcher.messages[0]["response"] == "utter_default"
    assert REGISTRY.get_sample_value("assistant_fallbacks_total") == before + 1
