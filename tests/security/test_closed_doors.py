"""The action server and Rasa's HTTP API refuse callers without their secrets."""

from __future__ import annotations

import subprocess

import pytest
import requests

from tests import processes


@pytest.fixture(scope="module")
def rasa_with_api(stack, logs_dir):
    """A second Rasa server with the HTTP API switched on the way scripts/stack.py does it."""
    token = "test-only-rasa-api-token-0123456789"
    env = dict(stack.env)
    port = processes.free_port()
    command = [
        str(processes.RASA_BIN / "python"), "-m", "shop_server", "run", "--model", "models",
        "--port", str(port), "--interface", "127.0.0.1", "--credentials", "credentials.yml",
        "--endpoints", "endpoints.yml",
        "--enable-api", "--auth-token", token,
    ]
    with processes.running(command, env, f"http://127.0.0.1:{port}/", logs_dir / "rasa-api.log"):
        yield f"http://127.0.0.1:{port}", token


def action_call(sender: str = "intruder") -> dict:
    return {"next_action": "action_resolve_gate", "sender_id": sender, "version": "3.6.21",
            "tracker": {"sender_id": sender, "slots": {"gate_action_id": "x", "gate_confirmation": True},
                        "events": [], "latest_message": {}, "active_loop": {}}, "domain": {}}


def test_the_action_server_refuses_calls_without_the_shared_secret(stack, unchanged) -> None:
    url = stack.env["ACTION_SERVER_URL"]
    assert requests.post(url, json=action_call(), timeout=10).status_code == 401
    assert requests.post(url, json=action_call(), params={"token": "guess"}, timeout=10).status_code == 401
    assert requests.post(url, json=action_call(), headers={"Authorization": "Bearer guess"},
                         timeout=10).status_code == 401
    assert requests.get(url.replace("/webhook", "/actions"), timeout=10).status_code == 401


def test_the_action_server_answers_malformed_calls_with_400_and_no_details(stack, unchanged) -> None:
    url, token = stack.env["ACTION_SERVER_URL"], processes.ACTION_SERVER_TOKEN
    for body in (b"{not json", b"[]", b'{"next_action": 5}', b'{"next_action":"x","sender_id":"y","tracker":[]}'):
        response = requests.post(url, data=body, params={"token": token},
                                 headers={"Content-Type": "application/json"}, timeout=10)
        assert response.status_code == 400, body
        assert "Traceback" not in response.text and "request_body" not in response.text


def test_the_action_server_refuses_to_start_without_a_secret(tmp_path) -> None:
    env = processes.base_env(ACTION_SERVER_TOKEN="", ACTION_SERVER_PORT=str(processes.free_port()))
    result = subprocess.run([str(processes.RASA_BIN / "python"), "-m", "actions.server"], cwd=processes.ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "ACTION_SERVER_TOKEN" in result.stderr


def test_the_http_api_needs_its_token_when_switched_on(rasa_with_api, unchanged) -> None:
    url, token = rasa_with_api
    trigger = f"{url}/conversations/victim/trigger_intent"
    assert requests.post(trigger, json={"name": "affirm"}, timeout=10).status_code == 401
    assert requests.post(trigger, json={"name": "affirm"}, params={"token": "guess"}, timeout=10).status_code == 401
    assert requests.get(f"{url}/conversations/victim/tracker", params={"token": token}, timeout=10).status_code == 200


def test_make_run_keeps_the_http_api_off_without_a_secret() -> None:
    import scripts.stack as stack_script

    assert stack_script.rasa_http_api_flags({}) == []
    assert stack_script.rasa_http_api_flags({"RASA_API_TOKEN": "s3cret-value"}) == [
        "--enable-api", "--auth-token", "s3cret-value"]
