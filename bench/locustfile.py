"""Locust: each user is one customer holding one whole scripted conversation at a time.

Run by bench/run.py (`make bench`), which sets the environment:

    BENCH_POOL            the customers pool written by bench/seed.py (required)
    BENCH_RAW             where to write every turn (CSV: end, name, latency_ms, failure) (required)
    BENCH_META            where to write the session counts (JSON) (required)
    BENCH_RUN_ID          prefix of the conversation ids (default: a random one)
    BENCH_THINK_MIN/MAX   think time before each message, uniform, seconds (default 10 / 30: read, look up, type)
    BENCH_TIMEOUT         seconds a turn may take before it fails (default 30)
    BENCH_MIX             e.g. track=35,return=30,cancel=15,address=10,policy=5,refund=5
    BENCH_DECLINE_RATE    share of confirmations answered "no" (default 0.2)
    BENCH_SEED            random seed (default 7)
    BENCH_STEPS           e.g. 50,100,200: a stepped load (users per step) instead of --users
    BENCH_STEP_SECONDS    length of each step (default 40); BENCH_STEP_RAMP_SECONDS: spawn time per step (5)
    REST_CHANNEL_TOKEN    the shop backend's credential the REST channel requires (required; the runner
                          passes the one the layout's services were given)

A turn succeeds only if the reply contains what the script expects at that step
(bench/conversations.py); an empty reply, an HTTP error or a timeout is a failure,
reported under the step's name with the reason, and ends that session (the
conversation's state is unknown from there). Then the user starts a new session
with a new conversation id. Every message carries the credential and names the
user as the end client (`metadata.client_id`), as the shop's backend would. Every
turn goes through Locust's request event (name = "scenario/step") and is also
written raw, so percentiles come from every sample.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import time
import uuid
from collections import Counter, deque
from pathlib import Path
from typing import Any, Deque, Dict, Iterator, List, Optional, Tuple

import gevent
from locust import LoadTestShape, events, task
from locust.contrib.fasthttp import FastHttpUser

from bench.conversations import (
    REUSABLE_POOLS,
    SCENARIO_POOLS,
    WEBHOOK,
    check_reply,
    parse_mix,
    rest_body,
    rest_headers,
    script,
)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


THINK_MIN = _env_float("BENCH_THINK_MIN", 10.0)
THINK_MAX = max(THINK_MIN, _env_float("BENCH_THINK_MAX", 30.0))
TIMEOUT = _env_float("BENCH_TIMEOUT", 30.0)
DECLINE_RATE = _env_float("BENCH_DECLINE_RATE", 0.2)
SEED = int(_env_float("BENCH_SEED", 7))
RUN_ID = os.environ.get("BENCH_RUN_ID") or uuid.uuid4().hex[:8]
MIX = parse_mix(os.environ.get("BENCH_MIX"))
STEPS = [int(s) for s in os.environ.get("BENCH_STEPS", "").replace(" ", "").split(",") if s]
STEP_SECONDS = _env_float("BENCH_STEP_SECONDS", 40.0)
STEP_RAMP_SECONDS = _env_float("BENCH_STEP_RAMP_SECONDS", 5.0)
REST_TOKEN = os.environ.get("REST_CHANNEL_TOKEN", "")
if not REST_TOKEN:
    # every message would be refused (401): nothing to measure
    raise SystemExit("REST_CHANNEL_TOKEN is not set: the REST channel refuses messages without it")
HEADERS = rest_headers(REST_TOKEN)


class Pool:
    """Customers per scenario: read-only scenarios cycle through theirs, others use each once."""

    def __init__(self, path: Optional[str]) -> None:
        self.exhausted: Counter = Counter()
        self._once: Dict[str, Deque[Dict[str, Any]]] = {}
        self._cycle: Dict[str, Iterator[Dict[str, Any]]] = {}
        if not path:
            return
        sessions = json.loads(Path(path).read_text())["sessions"]
        for name, entries in sessions.items():
            if name in REUSABLE_POOLS and entries:
                self._cycle[name] = itertools.cycle(entries)
            else:
                self._once[name] = deque(entries)

    def take(self, scenario: str) -> Tuple[str, Optional[Dict[str, Any]]]:
        """A customer for `scenario`; a read-only scenario instead if its pool is used up (counted)."""
        pool = SCENARIO_POOLS[scenario]
        if pool is None:
            return scenario, None
        if pool in self._cycle:
            return scenario, next(self._cycle[pool])
        entries = self._once.get(pool)
        if entries:
            return scenario, entries.popleft()
        self.exhausted[scenario] += 1
        if "track" in self._cycle:
            return "track", next(self._cycle["track"])
        return "policy", None


POOL = Pool(os.environ.get("BENCH_POOL"))
SESSIONS: Dict[str, Counter] = {"started": Counter(), "completed": Counter(), "failed": Counter()}
META: Dict[str, Any] = {"run_id": RUN_ID, "think_s": [THINK_MIN, THINK_MAX], "timeout_s": TIMEOUT, "mix": MIX,
                        "decline_rate": DECLINE_RATE, "steps": STEPS, "step_seconds": STEP_SECONDS}
_raw: Dict[str, Any] = {}


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    META["test_start"] = time.time()
    path = os.environ.get("BENCH_RAW")
    if path:
        handle = open(path, "w", newline="", buffering=1 << 16)
        _raw["file"] = handle
        _raw["writer"] = csv.writer(handle)
        _raw["writer"].writerow(("end", "name", "latency_ms", "failure"))


@events.spawning_complete.add_listener
def _on_spawning_complete(user_count: int, **_kwargs) -> None:
    META.setdefault("spawning_complete", []).append({"t": time.time(), "users": user_count})


@events.request.add_listener
def _on_request(name: str, response_time: float, exception: Optional[BaseException] = None, **_kwargs) -> None:
    writer = _raw.get("writer")
    if writer is not None:
        writer.writerow((f"{time.time():.6f}", name, f"{response_time:.3f}",
                         "" if exception is None else _reason(exception)))


def _reason(exception: BaseException) -> str:
    text = str(exception) or type(exception).__name__
    return " ".join(text.split())[:300]


@events.test_stop.add_listener
def _on_test_stop(environment, **_kwargs) -> None:
    META["test_stop"] = time.time()
    _write_meta()


@events.quitting.add_listener
def _on_quitting(environment, **_kwargs) -> None:
    _write_meta()
    handle = _raw.pop("file", None)
    if handle is not None:
        handle.close()
        _raw.pop("writer", None)


def _write_meta() -> None:
    handle = _raw.get("file")
    if handle is not None:
        handle.flush()
    path = os.environ.get("BENCH_META")
    if not path:
        return
    sessions = {kind: dict(counts) for kind, counts in SESSIONS.items()}
    META["sessions"] = sessions
    META["pool_exhausted"] = dict(POOL.exhausted)
    Path(path).write_text(json.dumps(META, indent=1))


class Customer(FastHttpUser):
    """One customer at a time: a whole conversation per session, think time before each message."""

    connection_timeout = TIMEOUT
    network_timeout = TIMEOUT
    _numbers = itertools.count(1)

    def on_start(self) -> None:
        self.number = next(Customer._numbers)
        self.client_id = f"bench-{RUN_ID}-u{self.number}"
        self.rng = random.Random(SEED * 1_000_003 + self.number)
        self.sessions = 0
        self.scenarios: List[str] = list(MIX)
        self.weights: List[float] = [MIX[s] for s in self.scenarios]

    @task
    def conversation(self) -> None:
        self.sessions += 1
        wanted = self.rng.choices(self.scenarios, weights=self.weights)[0]
        scenario, entry = POOL.take(wanted)
        sender = f"bench-{RUN_ID}-u{self.number}-s{self.sessions}"
        SESSIONS["started"][scenario] += 1
        for turn in script(scenario, entry, self.rng, DECLINE_RATE):
            gevent.sleep(self.rng.uniform(THINK_MIN, THINK_MAX))
            if not self.say(sender, turn):
                SESSIONS["failed"][scenario] += 1
                return
        SESSIONS["completed"][scenario] += 1

    def say(self, sender: str, turn) -> bool:
        with self.client.post(WEBHOOK, json=rest_body(sender, turn.text, self.client_id), headers=HEADERS,
                              name=turn.step, catch_response=True) as response:
            if not response.status_code:  # timeout, refused or reset connection: no HTTP response at all
                error = getattr(response, "error", None) or response.request_meta.get("exception")
                response.failure(f"no response: {_reason(error) if error else 'connection failed'}")
                return False
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:120]}")
                return False
            try:
                payload = response.json()
            except ValueError:
                response.failure(f"reply is not JSON: {(response.text or '')[:120]!r}")
                return False
            reason = check_reply(turn, payload)
            if reason:
                response.failure(reason)
                return False
            response.success()
            return True


if STEPS:

    class SteppedLoad(LoadTestShape):
        """BENCH_STEPS users, one step after the other, BENCH_STEP_SECONDS each."""

        def tick(self):
            step = int(self.get_run_time() // STEP_SECONDS)
            if step >= len(STEPS):
                return None
            if not META.get("step_table"):
                META["step_table"] = [{"users": u, "start": META.get("test_start", time.time()) + i * STEP_SECONDS,
                                       "seconds": STEP_SECONDS} for i, u in enumerate(STEPS)]
            previous = STEPS[step - 1] if step else 0
            rate = max(1.0, abs(STEPS[step] - previous) / max(STEP_RAMP_SECONDS, 0.1))
            return STEPS[step], rate
