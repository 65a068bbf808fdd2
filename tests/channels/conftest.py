"""The stack with every channel switched on, a local stand-in for Slack's and Meta's APIs, and the web chat.

Rasa runs with test secrets for Slack and Messenger and with SLACK_API_URL /
MESSENGER_GRAPH_URL pointing at `PlatformStandIn`, a tiny HTTP server on a free
loopback port that records every outbound call and answers like the real APIs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import processes
from tests.stack import Stack, started

ROOT = processes.ROOT
ARTIFACTS = ROOT / "test-artifacts"
SLACK_SIGNING_SECRET = "test-slack-signing-secret"
SLACK_BOT_TOKEN = "xoxb-test-token"
MESSENGER_APP_SECRET = "test-messenger-app-secret"
MESSENGER_VERIFY_TOKEN = "test-verify-token"
MESSENGER_PAGE_ACCESS_TOKEN = "test-page-token"
HANDOFF_WEBHOOK_SECRET = "test-helpdesk-secret"


class PlatformStandIn:
    """Records outbound API calls: Slack under /slack/api/, the Graph API under /graph/, a helpdesk under /helpdesk/."""

    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                content_type = self.headers.get("Content-Type", "")
                if "json" in content_type:
                    body = json.loads(raw or b"{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                with stand_in._lock:
                    stand_in.calls.append({"path": url.path, "query": parse_qs(url.query), "body": body,
                                           "headers": dict(self.headers), "raw": raw})
                if url.path.startswith("/slack/"):
                    answer = {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}
                else:
                    answer = {"recipient_id": (body.get("recipient") or {}).get("id"), "message_id": "m_stand_in"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def matching(self, predicate: Callable[[Dict[str, Any]], bool]) -> List[Dict[str, Any]]:
        with self._lock:
            return [call for call in self.calls if predicate(call)]

    def wait_for(self, predicate: Callable[[Dict[str, Any]], bool], timeout: float = 60) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(predicate)
            if found:
                return found
            time.sleep(0.1)
        calls = json.dumps(self.calls, default=repr)[-3000:]
        raise AssertionError(f"no matching outbound call in {timeout}s; calls: {calls}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ChannelStack(Stack):
    """The e2e Stack plus what channel tests look at: the tracker (what reached NLU) and the stand-in."""

    platform: PlatformStandIn

    @property
    def tracker_db(self) -> Path:
        return Path(self.env["TRACKER_DB_PATH"])

    def user_messages(self, sender_id: str) -> List[Dict[str, Any]]:
        """The user events Rasa recorded for a conversation (text and metadata)."""
        if not self.tracker_db.exists():
            return []
        with sqlite3.connect(self.tracker_db) as db:
            rows = db.execute(
                "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender_id,)
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def user_messages_like(self, prefix: str) -> List[Dict[str, Any]]:
        """The user events of every conversation whose id starts with `prefix` (a session's logged-in ones)."""
        if not self.tracker_db.exists():
            return []
        with sqlite3.connect(self.tracker_db) as db:
            rows = db.execute("SELECT data FROM events WHERE sender_id LIKE ? AND type_name = 'user' ORDER BY id",
                              (prefix.replace("%", "") + "%",)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def events(self, sender_id: str) -> int:
        if not self.tracker_db.exists():
            return 0
        with sqlite3.connect(self.tracker_db) as db:
            return db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender_id,)).fetchone()[0]


def slack_signature(body: bytes, timestamp: int, secret: str = SLACK_SIGNING_SECRET) -> Dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def messenger_signature(body: bytes, secret: str = MESSENGER_APP_SECRET) -> Dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


@pytest.fixture(scope="session")
def platform() -> Iterator[PlatformStandIn]:
    stand_in = PlatformStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="session")
def channel_stack(commerce_api_url: str, platform: PlatformStandIn, tmp_path_factory: pytest.TempPathFactory,
                  logs_dir: Path) -> Iterator[ChannelStack]:
    channel_logs = logs_dir / "channels"
    channel_logs.mkdir(exist_ok=True)
    with started(
        ChannelStack, commerce_api_url, tmp_path_factory.mktemp("channel-stack"), channel_logs,
        SLACK_BOT_TOKEN=SLACK_BOT_TOKEN,
        SLACK_SIGNING_SECRET=SLACK_SIGNING_SECRET,
        SLACK_API_URL=f"{platform.url}/slack/api/",
        MESSENGER_VERIFY_TOKEN=MESSENGER_VERIFY_TOKEN,
        MESSENGER_APP_SECRET=MESSENGER_APP_SECRET,
        MESSENGER_PAGE_ACCESS_TOKEN=MESSENGER_PAGE_ACCESS_TOKEN,
        MESSENGER_GRAPH_URL=f"{platform.url}/graph/v2.12",
        HANDOFF_WEBHOOK_URL=f"{platform.url}/helpdesk/handoffs",
        HANDOFF_WEBHOOK_SECRET=HANDOFF_WEBHOOK_SECRET,
    ) as stack:
        stack.platform = platform
        yield stack


@pytest.fixture(scope="session")
def webchat_url(channel_stack: ChannelStack, logs_dir: Path) -> Iterator[str]:
    """webchat/serve.py, telling the page where the test's Rasa server is."""
    port = processes.free_port()
    env = processes.base_env(WEBCHAT_PORT=str(port), RASA_PORT=channel_stack.rasa_url.rsplit(":", 1)[1])
    with processes.running([str(processes.RASA_BIN / "python"), "webchat/serve.py"], env,
                           f"http://127.0.0.1:{port}/healthz", logs_dir / "webchat.log"):
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture
def shop(channel_stack: ChannelStack, reseed) -> ChannelStack:
    """The channel stack with the demo data reset."""
    reseed()
    return channel_stack


@pytest.fixture
def unique() -> Callable[[str], str]:
    return lambda prefix: f"{prefix}{uuid.uuid4().hex[:10]}"
