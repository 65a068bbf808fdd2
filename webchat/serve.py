"""Serves the shop page with the support chat widget (`make run`: http://127.0.0.1:8080/).

Standard library only. Routes:

    /                         a demo shop page that embeds the widget
    /widget.js /widget.css    the widget (webchat/static/)
    /vendor/socket.io.min.js  socket.io-client from webchat/node_modules (npm ci)
    /config.js                where the widget finds Rasa's Socket.IO endpoint
    /healthz                  200 once the page can be served

Environment: WEBCHAT_PORT (8080), WEBCHAT_HOST (127.0.0.1), RASA_PORT (5005),
WEBCHAT_SOCKET_URL (default: the page's own host on RASA_PORT), SHOP_NAME.
"""

from __future__ import annotations

import json
import os
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOCKET_IO_CLIENT = HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
FILES = {
    "/": (HERE / "static" / "index.html", "text/html; charset=utf-8"),
    "/index.html": (HERE / "static" / "index.html", "text/html; charset=utf-8"),
    "/widget.js": (HERE / "static" / "widget.js", "text/javascript; charset=utf-8"),
    "/widget.css": (HERE / "static" / "widget.css", "text/css; charset=utf-8"),
    "/vendor/socket.io.min.js": (SOCKET_IO_CLIENT, "text/javascript; charset=utf-8"),
}


def widget_config() -> dict:
    return {
        "socketUrl": os.environ.get("WEBCHAT_SOCKET_URL") or None,
        "rasaPort": int(os.environ.get("RASA_PORT", "5005")),
        "socketPath": "/socket.io",
        "shopName": os.environ.get("SHOP_NAME", "Demo Shop"),
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "ShopWebchat/1.0"

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            if SOCKET_IO_CLIENT.exists():
                return self._send(HTTPStatus.OK, b"ok", "text/plain")
            return self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"run `npm ci` in webchat/", "text/plain")
        if path == "/config.js":
            body = f"window.ShopAssistantConfig = {json.dumps(widget_config())};\n".encode()
            return self._send(HTTPStatus.OK, body, "text/javascript; charset=utf-8")
        if path not in FILES:
            return self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
        file, content_type = FILES[path]
        if not file.exists():
            return self._send(HTTPStatus.SERVICE_UNAVAILABLE, f"{file.name} is missing".encode(), "text/plain")
        self._send(HTTPStatus.OK, file.read_bytes(), content_type)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:  # quiet: one line per request is noise
        if os.environ.get("WEBCHAT_ACCESS_LOG"):
            super().log_message(format, *args)


def main() -> None:
    host = os.environ.get("WEBCHAT_HOST", "127.0.0.1")
    port = int(os.environ.get("WEBCHAT_PORT", "8080"))
    server = ThreadingHTTPServer((host, port), Handler)
    print(f"web chat on http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
