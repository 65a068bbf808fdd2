"""A fault-injecting HTTP proxy on loopback, between the action server and the commerce API.

Point COMMERCE_API_URL at `proxy.url`; every request is forwarded to the API unless a fault
matches it. Faults (`Fault.mode`):

    pass      forward (the default)
    delay     wait `seconds`, then forward (a slow or hanging API; a client that gave up
              meanwhile still has its request reach the API, as with a real slow network)
    status    answer `status` (e.g. 503) without forwarding
    reset     read the request, then reset the connection (RST) without forwarding
    lose      forward, let the API do the work, then drop the connection without answering
              (the "lost response" of a write)

and `refuse()` closes the listening socket (connection refused) until `accept()`.

A fault matches by method and path prefix and can be limited to the first `times` requests it
matches. Every request is logged (`requests`) with what the proxy did and, when forwarded,
the API's status and whether it was an idempotent replay. Each client connection carries one
request (`Connection: close` is forced both ways), which keeps the parsing trivial.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple


@dataclass
class Fault:
    mode: str
    method: Optional[str] = None  # None: any method
    path: str = "/"  # path prefix, query included in the match
    seconds: float = 0.0
    status: int = 503
    times: Optional[int] = None  # None: every matching request
    used: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        return (self.method is None or self.method == method) and path.startswith(self.path)


@dataclass
class Seen:
    method: str
    path: str
    action: str  # the fault mode applied ("pass" when forwarded untouched)
    idempotency_key: Optional[str] = None
    status: Optional[int] = None  # the API's answer, when it was asked
    replayed: bool = False
    at: float = field(default_factory=time.monotonic)


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._faults: List[Fault] = []
        self.requests: List[Seen] = []
        self._listener: Optional[socket.socket] = None
        self._stopped = False
        self.port = port
        self.accept()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- control ---------------------------------------------------------------------------

    def inject(self, mode: str, *, method: Optional[str] = None, path: str = "/", seconds: float = 0.0,
               status: int = 503, times: Optional[int] = None) -> Fault:
        fault = Fault(mode, method, path, seconds, status, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def heal(self) -> None:
        """No faults any more, and accepting connections."""
        with self._lock:
            self._faults.clear()
        self.accept()

    def refuse(self) -> None:
        """Closes the listening socket: new connections are refused."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown first: a bare close() leaves the accept() blocked in another thread holding
            # the socket, which then still takes one more connection
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()

    def accept(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self.port = listener.getsockname()[1]
            self._listener = listener
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def close(self) -> None:
        self._stopped = True
        self.refuse()

    def seen(self, method: Optional[str] = None, path: str = "/") -> List[Seen]:
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method) and r.path.startswith(path)]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- serving ---------------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopped:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by refuse()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _fault_for(self, method: str, path: str) -> Optional[Fault]:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.used += 1
                    return fault
        return None

    def _serve(self, client: socket.socket) -> None:
        try:
            request = _read_message(client)
            if request is None:
                return
            head, body = request
            method, path, headers = _parse_head(head)
            seen = Seen(method, path, "pass", headers.get("idempotency-key"))
            with self._lock:
                self.requests.append(seen)
            fault = self._fault_for(method, path)
            mode = fault.mode if fault else "pass"
            seen.action = mode
            if mode == "status":
                payload = b'{"error": {"code": "injected", "message": "fault injected by the test proxy"}}'
                client.sendall(
                    f"HTTP/1.1 {fault.status} Injected\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload
                )
                return
            if mode == "reset":
                _reset(client)
                return
            if mode == "delay":
                time.sleep(fault.seconds)
            response = self._forward(head, body)
            seen.status, seen.replayed = _status_and_replay(response[0])
            if mode == "lose":
                _reset(client)
                return
            client.sendall(response[0] + response[1])
        except OSError:
            pass
        finally:
            try:
                client.close()
            except OSError:
                pass

    def _forward(self, head: bytes, body: bytes) -> Tuple[bytes, bytes]:
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            upstream.sendall(_with_connection_close(head) + body)
            answer = _read_message(upstream)
        if answer is None:
            raise OSError("the API closed the connection without answering")
        return _with_connection_close(answer[0]), answer[1]


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN: the peer sees 'connection reset'."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _read_message(sock: socket.socket) -> Optional[Tuple[bytes, bytes]]:
    """One HTTP/1.1 message: (head including the blank line, body by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    head += b"\r\n\r\n"
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head, rest[:length]


def _parse_head(head: bytes) -> Tuple[str, str, dict]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


def _with_connection_close(head: bytes) -> bytes:
    lines = [line for line in head.rstrip(b"\r\n").split(b"\r\n")
             if not line.lower().startswith((b"connection:", b"keep-alive:"))]
    return b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n"


def _status_and_replay(head: bytes) -> Tuple[int, bool]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    replayed = any(line.lower().startswith("idempotent-replayed:") and "true" in line.lower() for line in lines)
    return status, replayed
