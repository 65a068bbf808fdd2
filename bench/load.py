"""Load generation: what a run offers (its plan), its customers (the seeded pool), the warm-up, and Locust.

Runs in .venv/bench. `drive` seeds the commerce data, warms the layout up with a few whole
conversations of every kind, times the CPU calibration, then runs Locust headless
(bench/locustfile.py) while the sampler records every service's CPU and RSS, and returns
everything recorded; bench.analysis turns it into figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shlex
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import requests

from bench import stats
from bench.common import API_PYTHON, LOCUST, ROOT, child_env, log, rest_token
from bench.conversations import (
    SCENARIO_POOLS,
    WEBHOOK,
    check_reply,
    mean_turns_per_session,
    pool_sizes,
    rest_body,
    rest_headers,
    script,
    validate_pool,
)
from bench.layouts import flush_redis, service_processes
from bench.machine import cpu_calibration


@dataclass
class LoadPlan:
    label: str
    users: int
    spawn_rate: float
    run_time: float  # total seconds Locust runs
    think: Tuple[float, float]
    steps: List[int]
    step_seconds: float
    expected_sessions: int
    kind: str = "load"  # load | steps | probe (what the results file says it is)


@dataclass
class Recorded:
    """What one load run recorded, before any analysis."""

    meta: Dict[str, Any]  # the Locust file's session counts and timestamps
    samples: List[stats.Sample]  # every turn
    resource_samples: List[Dict[str, Any]]  # bench.sampler samples
    warmup: Dict[str, Any]
    calibration: Dict[str, Any]
    locust_command: str


# ---------------------------------------------------------------- plans


def turns_per_session_floor(args: argparse.Namespace) -> float:
    """For sizing the pools: failed conversations end early, so count on at most two turns per session."""
    return min(mean_turns_per_session(args.mix_weights), 2.0)


def steady_plan(args: argparse.Namespace, label: str, users: int, ramp: float, seconds: float,
                kind: str = "load") -> LoadPlan:
    """`users` spawned within `ramp` s, then the settle time, then `seconds` of steady state."""
    think_mean = (args.think_min + args.think_max) / 2
    ramp = max(ramp, 1.0)
    run_time = ramp + args.settle + seconds
    turns = users * run_time / max(think_mean, 0.2)
    return LoadPlan(label, users, users / ramp, run_time, (args.think_min, args.think_max), [], 0.0,
                    int(turns / turns_per_session_floor(args)), kind)


def main_plan(args: argparse.Namespace, label: str) -> LoadPlan:
    return steady_plan(args, label, args.users, args.ramp, args.run_time)


def probe_plan(args: argparse.Namespace, label: str) -> LoadPlan:
    """The main run's think times with fewer seconds: a quick check, not the benchmark."""
    return steady_plan(args, label, args.probe_users, args.probe_ramp, args.probe_seconds, kind="probe")


def steps_plan(args: argparse.Namespace, label: str) -> LoadPlan:
    think_mean = (args.step_think_min + args.step_think_max) / 2
    turns = sum(u * args.step_seconds / max(think_mean, 0.2) for u in args.step_list)
    return LoadPlan(label, max(args.step_list), 0.0, len(args.step_list) * args.step_seconds,
                    (args.step_think_min, args.step_think_max), args.step_list, args.step_seconds,
                    int(turns / turns_per_session_floor(args)), "steps")


# ---------------------------------------------------------------- customers and warm-up


def seed_pool(args: argparse.Namespace, services: Dict[str, Any], work: Path, sessions: int,
              warmup: int) -> Dict[str, Any]:
    sizes = pool_sizes(args.mix_weights, sessions)
    for pool in set(SCENARIO_POOLS.values()) - {None}:
        sizes[pool] = sizes.get(pool, 0) + warmup
    counts = ",".join(f"{k}={v}" for k, v in sorted(sizes.items()))
    path = work / "pool.json"
    command = [str(API_PYTHON), "-m", "bench.seed", "--database-url", services["commerce_database_url"],
               "--pool", str(path), "--counts", counts]
    result = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"seeding failed:\n{result.stdout}\n{result.stderr}")
    log(result.stdout.strip())
    pool = json.loads(path.read_text())
    problems = validate_pool(pool)
    if problems:
        raise SystemExit(f"the seeded pool is unusable: {problems[:5]}")
    return pool


def warm_up(url: str, pool: Dict[str, Any], per_scenario: int, mix: Dict[str, float], timeout: float,
            seed: int) -> Dict[str, Any]:
    """Runs `per_scenario` whole conversations of each scenario, in parallel, without think time.

    Takes its customers from the end of each pool (removed from the pool the Locust run gets).
    """
    jobs = []
    for scenario in [s for s, w in mix.items() if w > 0]:
        pool_name = SCENARIO_POOLS[scenario]
        for i in range(per_scenario):
            entry = pool["sessions"][pool_name].pop() if pool_name else None
            jobs.append((scenario, entry, i))
    failures: List[str] = []
    lock = threading.Lock()
    headers = rest_headers(rest_token())

    def one(job: Tuple[str, Optional[Dict[str, Any]], int]) -> None:
        scenario, entry, i = job
        rng = random.Random(seed * 7919 + i)
        sender = f"bench-warmup-{scenario}-{i}-{random.getrandbits(32):08x}"
        with requests.Session() as http:
            for turn in script(scenario, entry, rng, decline_rate=0.0):
                try:
                    response = http.post(f"{url}{WEBHOOK}", json=rest_body(sender, turn.text, sender),
                                         headers=headers, timeout=timeout)
                    reason = (f"HTTP {response.status_code}: {response.text[:120]}" if response.status_code != 200
                              else check_reply(turn, response.json()))
                except (requests.RequestException, ValueError) as error:
                    reason = f"{type(error).__name__}: {error}"
                if reason:
                    with lock:
                        failures.append(f"{turn.step}: {reason}")
                    return

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as executor:
        list(executor.map(one, jobs))
    return {"conversations": len(jobs), "failed": len(failures), "failures": failures[:20],
            "seconds": round(time.monotonic() - began, 1)}


# ---------------------------------------------------------------- Locust


def drive(args: argparse.Namespace, services: Dict[str, Any], plan: LoadPlan, work: Path) -> Recorded:
    """Seeds, warms up, calibrates, then runs Locust for `plan` while sampling every service."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    url = services["balancer_url"].rstrip("/")
    flush_redis(services)
    warmup_per_scenario = args.warmup_sessions or 2 * max(1, args.rasa_replicas)
    pool = seed_pool(args, services, work, plan.expected_sessions, warmup_per_scenario)
    warm = warm_up(url, pool, warmup_per_scenario, args.mix_weights, args.timeout, args.seed)
    log(f"{plan.label}: warm-up {warm['conversations']} conversations in {warm['seconds']}s, "
        f"{warm['failed']} failed {warm['failures'][:3]}")
    if warm["failed"] == warm["conversations"]:
        log(f"{plan.label}: every warm-up conversation failed — measuring anyway, expect failures")
    # the layout idles between the warm-up and the load: what the calibration then measures is the machine
    calibration = cpu_calibration()
    log(f"{plan.label}: CPU calibration {calibration['best_s']}s for {calibration['additions']:,} additions "
        f"(CPU share {calibration['cpu_share']}, load average {calibration['load_average']})")
    pool_path = work / "locust-pool.json"
    pool_path.write_text(json.dumps(pool))
    raw_path, meta_path = work / "turns.csv", work / "meta.json"
    command = [str(LOCUST), "-f", str(ROOT / "bench/locustfile.py"), "--headless", "--host", url,
               "--run-time", f"{int(math.ceil(plan.run_time))}s", "--stop-timeout", "0",
               "--csv", str(work / "locust"), "--only-summary", "--loglevel", "WARNING",
               "--exit-code-on-error", "0"]
    if not plan.steps:
        command += ["--users", str(plan.users), "--spawn-rate", f"{plan.spawn_rate:.3f}"]
    env = child_env(
        BENCH_POOL=str(pool_path), BENCH_RAW=str(raw_path), BENCH_META=str(meta_path),
        BENCH_RUN_ID=f"{plan.label}-{int(time.time())}", BENCH_THINK_MIN=str(plan.think[0]),
        BENCH_THINK_MAX=str(plan.think[1]), BENCH_TIMEOUT=str(args.timeout),
        BENCH_MIX=",".join(f"{k}={v:g}" for k, v in args.mix_weights.items()),
        BENCH_DECLINE_RATE=str(args.decline_rate), BENCH_SEED=str(args.seed),
        BENCH_STEPS=",".join(map(str, plan.steps)), BENCH_STEP_SECONDS=str(plan.step_seconds),
    )
    locust_line = " ".join(shlex.quote(c) for c in command)
    log(f"{plan.label}: locust {'steps ' + str(plan.steps) if plan.steps else str(plan.users) + ' users'}, "
        f"{plan.run_time:.0f}s, think {plan.think[0]:g}-{plan.think[1]:g}s")
    from bench.sampler import Sampler  # psutil: only in .venv/bench

    with open(work / "locust.log", "wb") as locust_log:
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=locust_log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        processes = service_processes(services)
        processes["load-generator (locust)"] = [locust.pid]
        sampler = Sampler(processes)
        sampler.start()
        try:
            locust.wait(timeout=plan.run_time + 180)
        except subprocess.TimeoutExpired:
            log(f"{plan.label}: locust overran its run time; stopping it")
        finally:
            stop_process_group(locust)
            sampler.stop()
    if not meta_path.exists() or not raw_path.exists():
        tail = (work / "locust.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{plan.label}: locust wrote no results (exit {locust.returncode}):\n{tail}")
    return Recorded(meta=json.loads(meta_path.read_text()), samples=stats.read_samples(raw_path),
                    resource_samples=sampler.samples, warmup=warm, calibration=calibration,
                    locust_command=locust_line)


def stop_process_group(process: subprocess.Popen) -> None:
    """Stops a process this run started in its own session (Locust), if it still runs."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
