"""The balancer's configuration (deploy/nginx/nginx.compose.conf) under Debian's nginx.

Its upstream names (rasa, actions, webchat) are compose service names that resolve only inside
the compose network, so the test runs a copy with each name replaced by stand-in servers on
loopback (two per replicated service, as Docker's DNS gives two addresses), the listen ports by
free ones, and /tmp and the log devices by a temporary folder. Everything else is the file as
shipped: `nginx -t`, then real requests through it.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import requests

from tests.deploy.conftest import NGINX_CONF

ACTION_TOKEN = "never-in-a-log-0123456789"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.fail("Debian's nginx is needed: apt-get install nginx-light (.ci/run installs it)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stub:
    """An upstream stand-in that answers with its name and what it received."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests: List[Dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                seen = {"stub": stub.name, "method": self.command, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                stub.requests.append(seen)
                payload = json.dumps(seen).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def rewritten_conf(folder: Path, stubs: Dict[str, List[Stub]], public: int, internal: int) -> Path:
    text = NGINX_CONF.read_text()

    def replace(pattern: str, new: str, count: int) -> None:
        nonlocal text
        text, done = re.subn(pattern, new, text, flags=re.MULTILINE)
        assert done == count, f"expected {count} match(es) of {pattern!r} in {NGINX_CONF.name}, found {done}"

    replace(r"^worker_processes auto;", "worker_processes 1;", 1)
    replace(r"^pid /tmp/nginx\.pid;", f"pid {folder}/nginx.pid;", 1)
    replace(r"^error_log /dev/stderr warn;", f"error_log {folder}/error.log warn;", 1)
    replace(r"(_temp_path) /tmp/", rf"\1 {folder}/", 5)
    replace(r"access_log /dev/stdout balancer;", f"access_log {folder}/access.log balancer;", 2)
    replace(r"^(\s*)listen 8080;", rf"\1listen 127.0.0.1:{public};", 1)
    replace(r"^(\s*)listen 5055;", rf"\1listen 127.0.0.1:{internal};", 1)
    for service, ports in (("rasa", 5005), ("actions", 5055), ("webchat", 8080)):
        def servers(match: re.Match, service: str = service) -> str:
            indent, options = match.group(1), match.group(2)
            return "\n".join(f"{indent}server 127.0.0.1:{stub.port}{options};" for stub in stubs[service])
        expected = 2 if service == "rasa" else 1
        replace(rf"^(\s*)server {service}:{ports}([^;]*);", servers, expected)
    conf = folder / "nginx.conf"
    conf.write_text(text)
    return conf


@pytest.fixture(scope="module")
def balancer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict]:
    folder = tmp_path_factory.mktemp("nginx")
    stubs = {"rasa": [Stub("rasa-1"), Stub("rasa-2")], "actions": [Stub("actions-1"), Stub("actions-2")],
             "webchat": [Stub("webchat")]}
    public, internal = free_port(), free_port()
    conf = rewritten_conf(folder, stubs, public, internal)
    nginx = nginx_binary()
    check = subprocess.run([nginx, "-t", "-p", str(folder), "-c", str(conf), "-e", str(folder / "test.log")],
                           capture_output=True, text=True, timeout=30)
    process = None
    try:
        if check.returncode == 0:
            process = subprocess.Popen([nginx, "-p", str(folder), "-c", str(conf), "-e", str(folder / "start.log"),
                                        "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"http://127.0.0.1:{public}/nginx-health", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(0.1)
        yield {"check": check, "stubs": stubs, "public": f"http://127.0.0.1:{public}",
               "internal": f"http://127.0.0.1:{internal}", "folder": folder}
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
        for group in stubs.values():
            for stub in group:
                stub.server.shutdown()


def test_nginx_accepts_the_configuration(balancer: Dict):
    check = balancer["check"]
    assert check.returncode == 0, check.stderr
    assert "test is successful" in check.stderr


def test_health_endpoint_answers_on_both_listeners(balancer: Dict):
    for base in (balancer["public"], balancer["internal"]):
        response = requests.get(f"{base}/nginx-health", timeout=5)
        assert (response.status_code, response.text) == (200, "ok\n")


def test_rest_webhook_is_balanced_over_every_rasa_replica(balancer: Dict):
    seen = Counter()
    for number in range(10):
        response = requests.post(f"{balancer['public']}/webhooks/rest/webhook",
                                 json={"sender": f"s{number}", "message": "hi"}, timeout=5)
        assert response.status_code == 200
        answer = response.json()
        assert answer["path"] == "/webhooks/rest/webhook"
        assert json.loads(answer["body"]) == {"sender": f"s{number}", "message": "hi"}
        assert answer["headers"]["x-forwarded-for"] == "127.0.0.1"
        seen[answer["stub"]] += 1
    assert set(seen) == {"rasa-1", "rasa-2"}, seen


def test_socketio_is_sticky_and_passes_the_websocket_upgrade(balancer: Dict):
    stubs = set()
    for _ in range(6):
        response = requests.get(f"{balancer['public']}/socket.io/?EIO=4&transport=polling", timeout=5)
        stubs.add(response.json()["stub"])
    assert len(stubs) == 1, "long-polling requests of one client must reach one replica"
    response = requests.get(f"{balancer['public']}/socket.io/?EIO=4&transport=websocket", timeout=5,
                            headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"})
    headers = response.json()["headers"]
    assert headers["upgrade"] == "websocket"
    assert headers["connection"].lower() == "upgrade"
    assert response.json()["stub"] in stubs


def test_everything_else_goes_to_the_web_chat_and_only_for_reading(balancer: Dict):
    before = sum(len(stub.requests) for stub in balancer["stubs"]["rasa"])
    for path in ("/", "/widget.js", "/config.js", "/conversations/someone/tracker", "/model"):
        response = requests.get(f"{balancer['public']}{path}", timeout=5)
        assert response.json()["stub"] == "webchat", path
    assert requests.post(f"{balancer['public']}/model/train", data="{}", timeout=5).status_code == 403
    assert sum(len(stub.requests) for stub in balancer["stubs"]["rasa"]) == before, \
        "Rasa's HTTP API must not be reachable through the balancer"


def test_action_calls_are_balanced_and_the_token_never_reaches_the_log(balancer: Dict):
    seen = Counter()
    for _ in range(6):
        response = requests.post(f"{balancer['internal']}/webhook?token={ACTION_TOKEN}",
                                 json={"next_action": "action_x"}, timeout=5)
        answer = response.json()
        assert answer["path"] == f"/webhook?token={ACTION_TOKEN}"  # passed on unchanged
        seen[answer["stub"]] += 1
    assert set(seen) == {"actions-1", "actions-2"}, seen
    time.sleep(0.2)  # nginx writes the access log line after the response
    log = (balancer["folder"] / "access.log").read_text()
    assert '"POST /webhook HTTP/1.1" 200' in log
    assert ACTION_TOKEN not in log
