"""Rasa's stock Redis tracker store against shop_stores' one, side by side in one run.

    .venv/rasa/bin/python -m bench.tracker_stores [--conversations 200] [--turns 20]

Simulates what a Rasa replica does per turn (retrieve the tracker, add a turn's
events, save) for many conversations at once on one asyncio loop against the real
Redis server (127.0.0.1:6379, database 14, keys removed afterwards). Reports turns/s,
CPU-ms per turn, per-turn latency percentiles (all conversations start at once, so
a store that yields shows queueing here and one that never yields shows none) and
the longest time the event loop was blocked (what every other conversation on the
replica waits: the stock store's client never yields). Writes
bench/results/tracker-stores.json, with the CPU calibration timed just before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import redis
from rasa.core.tracker_store import RedisTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from bench.machine import cpu_calibration
from shop_stores.tracker_store import AsyncRedisTrackerStore

DB = 14
DOMAIN = Domain.from_dict({"intents": ["greet"],
                           "slots": {"order_id": {"type": "text", "mappings": [{"type": "custom"}]}},
                           "responses": {"utter_greet": [{"text": "hi"}]}})


def turn_events(number: int) -> List[Any]:
    return [UserUttered(f"message number {number} about my order", {"name": "greet", "confidence": 0.98},
                        parse_data={"entities": [], "intent_ranking": [{"name": "greet", "confidence": 0.98}] * 5}),
            SlotSet("order_id", str(4500 + number)), ActionExecuted("utter_greet"),
            BotUttered("Here is a reply of a realistic length for a support assistant turn.", {"buttons": []}),
            ActionExecuted("action_listen")]


class LoopLag:
    """Measures how late a 5 ms timer fires: the time the loop was blocked."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.samples: List[float] = []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            lag = time.perf_counter() - started - 0.005
            self.samples.append(lag)
            self.worst = max(self.worst, lag)


async def drive(store: TrackerStore, conversations: int, turns: int) -> Dict[str, Any]:
    latencies: List[float] = []
    prefix = uuid.uuid4().hex[:8]

    async def conversation(index: int) -> None:
        sender = f"{prefix}-{index}"
        for number in range(turns):
            started = time.perf_counter()
            tracker = await store.get_or_create_tracker(sender)
            if number == 0:
                for event in (ActionExecuted("action_session_start"), SessionStarted()):
                    tracker.update(event)
            for event in turn_events(number):
                tracker.update(event)
            await store.save(tracker)
            latencies.append(time.perf_counter() - started)

    stop = asyncio.Event()
    lag = LoopLag()
    lag_task = asyncio.create_task(lag.run(stop))
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(conversation(i) for i in range(conversations)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    stop.set()
    await lag_task
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"turns": len(latencies), "seconds": round(elapsed, 2),
            "turns_per_second": round(len(latencies) / elapsed, 1),
            "cpu_ms_per_turn": round(cpu * 1000 / len(latencies), 2),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "loop_blocked_max_ms": round(lag.worst * 1000, 1),
            "loop_lag_median_ms": round(statistics.median(lag.samples) * 1000, 2)}


async def main_async(args: argparse.Namespace) -> Dict[str, Any]:
    stores = {
        "rasa-RedisTrackerStore": RedisTrackerStore(DOMAIN, host="127.0.0.1", port=6379, db=DB, record_exp=600),
        "shop_stores-AsyncRedisTrackerStore": AsyncRedisTrackerStore(domain=DOMAIN, host="127.0.0.1", port=6379,
                                                                     db=DB, ttl_seconds=600),
    }
    results: Dict[str, Any] = {name: [] for name in stores}
    for _ in range(args.rounds):  # alternate, so both see the same machine conditions
        for name, store in stores.items():
            results[name].append(await drive(store, args.conversations, args.turns))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="bench/results/tracker-stores.json")
    args = parser.parse_args()
    calibration = cpu_calibration()  # the machine's speed, timed in the same run (bench.machine)
    try:
        runs = asyncio.run(main_async(args))
    finally:
        redis.Redis(port=6379, db=DB).flushdb()
    summary = {name: {key: statistics.median(run[key] for run in rounds) for key in rounds[0]}
               for name, rounds in runs.items()}
    stock, ours = summary["rasa-RedisTrackerStore"], summary["shop_stores-AsyncRedisTrackerStore"]
    report = {"command": f"python -m bench.tracker_stores --conversations {args.conversations} --turns {args.turns} "
                         f"--rounds {args.rounds}",
              "calibration": calibration, "median_of_rounds": summary, "rounds": runs,
              "ratio_turns_per_second": round(ours["turns_per_second"] / stock["turns_per_second"], 2)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps({"median_of_rounds": summary, "ratio_turns_per_second": report["ratio_turns_per_second"]},
                     indent=2))


if __name__ == "__main__":
    main()
