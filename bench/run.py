"""`make bench`: the load benchmark against the production layout on this machine.

    .venv/bench/bin/python -m bench.run [all|run|steps|soak|summary|train-default] [options]

all (the default, `make bench`): for each config (the assistant's model, then Rasa's
default pipeline and policies trained on the same domain and data), bring the
production layout up with that model, reseed the commerce data, warm up, run Locust
headless (BENCH_USERS users, all spawned within BENCH_RAMP seconds, then
BENCH_RUN_TIME seconds of steady state) while sampling every service's RSS and CPU,
then find the config's saturation throughput with a stepped run, bring the layout
down, and write bench/results/<label>.json/.png, <label>-steps.json/.png and
finally summary.json + summary.md (the side by side).

run / steps: only the main run / only the stepped run, for the configs given.
soak (`make bench-soak`): BENCH_SOAK_MINUTES (20) at BENCH_SOAK_FRACTION (0.6) of
the measured peak (bench/results/assistant-steps.json, or --peak-tps): RSS growth after
warm-up and p95 drift between the first and last five minutes. The soak's trackers expire
after BENCH_SOAK_TRACKER_TTL (300) seconds, so Redis reaches its steady state inside the soak.
summary: rebuild summary.json/.md from the results files.
train-default: train the default-pipeline model if its inputs changed.

Every option has an environment variable (BENCH_USERS=20 BENCH_RUN_TIME=60 make bench);
`--help` lists them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import requests

from bench import stats
from bench.conversations import (
    SCENARIO_POOLS,
    check_reply,
    mean_turns_per_session,
    parse_mix,
    pool_sizes,
    script,
    validate_pool,
)

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv/rasa/bin/python"
RASA = ROOT / ".venv/rasa/bin/rasa"
API_PYTHON = ROOT / ".venv/api/bin/python"
LOCUST = Path(sys.executable).parent / "locust"
DEFAULT_CONFIG = ROOT / "bench/default_config.yml"
BENCH_MODELS = ROOT / ".data/bench-models"
CONFIGS = {
    "assistant": ROOT / "models/assistant.tar.gz",
    "default-pipeline": BENCH_MODELS / "default-pipeline.tar.gz",
}
STARTED = time.monotonic()


def log(message: str) -> None:
    elapsed = int(time.monotonic() - STARTED)
    print(f"[bench {elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


def env_default(name: str, default: Any) -> Any:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    return type(default)(value) if default is not None and not isinstance(default, str) else value


# ---------------------------------------------------------------- options


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", nargs="?", default="all",
                   choices=["all", "run", "steps", "soak", "summary", "train-default"])
    e = env_default
    p.add_argument("--configs", default=e("BENCH_CONFIGS", "assistant,default-pipeline"),
                   help="comma-separated: assistant, default-pipeline [BENCH_CONFIGS]")
    p.add_argument("--users", type=int, default=e("BENCH_USERS", 500), help="concurrent conversations [BENCH_USERS]")
    p.add_argument("--ramp", type=float, default=e("BENCH_RAMP", 60.0),
                   help="seconds to spawn all users [BENCH_RAMP]")
    p.add_argument("--run-time", type=float, default=e("BENCH_RUN_TIME", 300.0),
                   help="seconds of steady state measured after the ramp [BENCH_RUN_TIME]")
    p.add_argument("--settle", type=float, default=e("BENCH_SETTLE", -1.0),
                   help="seconds after the ramp before measuring (default: the think-time maximum) [BENCH_SETTLE]")
    p.add_argument("--think-min", type=float, default=e("BENCH_THINK_MIN", 10.0), help="[BENCH_THINK_MIN]")
    p.add_argument("--think-max", type=float, default=e("BENCH_THINK_MAX", 30.0), help="[BENCH_THINK_MAX]")
    p.add_argument("--timeout", type=float, default=e("BENCH_TIMEOUT", 30.0),
                   help="seconds before a turn fails [BENCH_TIMEOUT]")
    p.add_argument("--mix", default=e("BENCH_MIX", ""), help="e.g. track=35,return=30,... [BENCH_MIX]")
    p.add_argument("--decline-rate", type=float, default=e("BENCH_DECLINE_RATE", 0.2), help="[BENCH_DECLINE_RATE]")
    p.add_argument("--seed", type=int, default=e("BENCH_SEED", 7), help="[BENCH_SEED]")
    p.add_argument("--steps", default=e("BENCH_STEPS", "50,100,200,300,500"),
                   help="users per step of the saturation run; empty: no stepped run [BENCH_STEPS]")
    p.add_argument("--step-seconds", type=float, default=e("BENCH_STEP_SECONDS", 40.0), help="[BENCH_STEP_SECONDS]")
    p.add_argument("--step-think-min", type=float, default=e("BENCH_STEP_THINK_MIN", 0.5),
                   help="think time of the stepped run, short so the load can exceed capacity [BENCH_STEP_THINK_MIN]")
    p.add_argument("--step-think-max", type=float, default=e("BENCH_STEP_THINK_MAX", 1.5),
                   help="[BENCH_STEP_THINK_MAX]")
    p.add_argument("--soak-minutes", type=float, default=e("BENCH_SOAK_MINUTES", 20.0), help="[BENCH_SOAK_MINUTES]")
    p.add_argument("--soak-fraction", type=float, default=e("BENCH_SOAK_FRACTION", 0.6), help="[BENCH_SOAK_FRACTION]")
    p.add_argument("--soak-users", type=int, default=e("BENCH_SOAK_USERS", 0),
                   help="users of the soak (default: from the peak) [BENCH_SOAK_USERS]")
    p.add_argument("--soak-tracker-ttl", type=int, default=e("BENCH_SOAK_TRACKER_TTL", 300),
                   help="TRACKER_TTL_SECONDS of the soak's layout: shorter than the soak, so Redis reaches the "
                        "steady state of a store that expires conversations [BENCH_SOAK_TRACKER_TTL]")
    p.add_argument("--peak-tps", type=float, default=e("BENCH_PEAK_TPS", 0.0),
                   help="peak turns/s for the soak (default: bench/results/assistant-steps.json) [BENCH_PEAK_TPS]")
    p.add_argument("--layout", default=e("BENCH_LAYOUT", "production"), choices=["production", "stack"],
                   help="production: scripts/production.py; stack: the single-process scripts/stack.py [BENCH_LAYOUT]")
    p.add_argument("--rasa-replicas", type=int, default=e("BENCH_RASA_REPLICAS", 2), help="[BENCH_RASA_REPLICAS]")
    p.add_argument("--action-replicas", type=int, default=e("BENCH_ACTION_REPLICAS", 2),
                   help="[BENCH_ACTION_REPLICAS]")
    p.add_argument("--port", type=int, default=e("BENCH_PORT", 5300), help="the balancer's port [BENCH_PORT]")
    p.add_argument("--endpoints", default=e("BENCH_ENDPOINTS", "deploy/endpoints.production.yml"),
                   help="[BENCH_ENDPOINTS]")
    p.add_argument("--warmup-sessions", type=int, default=e("BENCH_WARMUP_SESSIONS", 0),
                   help="warm-up conversations per scenario (default: 2 per Rasa replica) [BENCH_WARMUP_SESSIONS]")
    p.add_argument("--results", type=Path, default=Path(e("BENCH_RESULTS", str(ROOT / "bench/results"))))
    p.add_argument("--work", type=Path, default=Path(e("BENCH_WORK", str(ROOT / ".data/bench"))))
    p.add_argument("--label-suffix", default=e("BENCH_LABEL_SUFFIX", ""),
                   help="appended to every result label, e.g. -smoke [BENCH_LABEL_SUFFIX]")
    args = p.parse_args(argv)
    args.mix_weights = parse_mix(args.mix)
    args.config_list = [c.strip() for c in args.configs.split(",") if c.strip()]
    for config in args.config_list:
        if config not in CONFIGS:
            p.error(f"unknown config {config!r} (one of {', '.join(CONFIGS)})")
    args.step_list = [int(s) for s in str(args.steps).replace(" ", "").split(",") if s]
    if args.settle < 0:
        args.settle = args.think_max
    args.command_line = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "bench.run", *argv])
    return args


# ---------------------------------------------------------------- the default-pipeline model


def default_model_inputs_digest() -> str:
    """What the default-pipeline model depends on: its config (comments aside), domain, data, Rasa's version."""
    digest = hashlib.sha256()
    config_lines = [line for line in DEFAULT_CONFIG.read_text().splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    digest.update("\n".join(config_lines).encode())
    for folder in ("domain", "data"):
        for path in sorted((ROOT / folder).rglob("*.yml")):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    rasa_dist = sorted((ROOT / ".venv/rasa/lib").glob("python3*/site-packages/rasa-*.dist-info"))
    digest.update(str([d.name for d in rasa_dist]).encode())
    return digest.hexdigest()


def train_default_model(force: bool = False) -> Path:
    model = CONFIGS["default-pipeline"]
    stamp = BENCH_MODELS / "default-pipeline.inputs"
    digest = default_model_inputs_digest()
    if not force and model.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        log(f"default-pipeline model is up to date ({model.relative_to(ROOT)})")
        return model
    log("training the default-pipeline model (Rasa's default pipeline and policies, same domain and data)…")
    BENCH_MODELS.mkdir(parents=True, exist_ok=True)
    command = [str(RASA), "train", "--config", "bench/default_config.yml", "--domain", "domain", "--data", "data",
               "--fixed-model-name", "default-pipeline", "--out", str(BENCH_MODELS.relative_to(ROOT))]
    began = time.monotonic()
    with open(BENCH_MODELS / "train.log", "wb") as out:
        result = subprocess.run(command, cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0 or not model.exists():
        raise SystemExit(f"training the default-pipeline model failed; see {BENCH_MODELS / 'train.log'}")
    stamp.write_text(digest + "\n")
    log(f"default-pipeline model trained in {time.monotonic() - began:.0f}s")
    return model


def child_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update({"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


# ---------------------------------------------------------------- layouts


class ProductionLayout:
    """scripts/production.py up/down, with the benchmark's own state folder, ports and databases."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.state = args.work / "production"
        self.script = ROOT / "scripts/production.py"
        if not self.script.exists():
            raise SystemExit("scripts/production.py is missing: use --layout stack (BENCH_LAYOUT=stack)")
        help_text = subprocess.run([str(RASA_PYTHON), str(self.script), "--help"], cwd=ROOT, capture_output=True,
                                   text=True).stdout
        self.options = help_text
        self.db_prefix = "shop_bench"
        self.extra_env: Dict[str, str] = {}  # e.g. the soak's TRACKER_TTL_SECONDS

    def _common(self) -> List[str]:
        return ["--state", str(self.state)]

    def up(self, model: Path) -> Dict[str, Any]:
        self.down(quiet=True)
        # a fresh Redis (trackers, locks) and fresh databases, so every config starts alike
        shutil.rmtree(self.state / "redis", ignore_errors=True)
        extra: List[str] = []
        if "--first-service-port" in self.options:
            extra += ["--first-service-port", str(self.args.port + 10)]
        if "--redis-port" in self.options:
            extra += ["--redis-port", str(self.args.port + 1091)]
        if "--db-prefix" in self.options:
            extra += ["--db-prefix", self.db_prefix]
            for suffix in ("commerce", "ledger", "events"):
                subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres",
                                f"{self.db_prefix}_{suffix}"], capture_output=True)
        command = [str(RASA_PYTHON), str(self.script), "up", *self._common(),
                   "--rasa-replicas", str(self.args.rasa_replicas), "--action-replicas", str(self.args.action_replicas),
                   "--model", str(model), "--port", str(self.args.port), "--endpoints", self.args.endpoints, *extra]
        self.command = " ".join(shlex.quote(c) for c in command)
        log(f"layout up: {self.command}")
        result = subprocess.run(command, cwd=ROOT, env=child_env(**self.extra_env), timeout=900)
        if result.returncode != 0:
            self.down(quiet=True)
            raise SystemExit(f"production layout did not come up (exit {result.returncode}); logs in {self.state}")
        return json.loads((self.state / "services.json").read_text())

    def down(self, quiet: bool = False) -> None:
        if not (self.state / "services.json").exists():
            return
        subprocess.run([str(RASA_PYTHON), str(self.script), "down", *self._common()], cwd=ROOT, env=child_env(),
                       timeout=300, capture_output=quiet)


class StackLayout:
    """The single-process stack (scripts/stack.py), for development and smoke runs."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        port = args.port
        self.env = child_env(RASA_PORT=str(port), ACTION_SERVER_PORT=str(port + 50), COMMERCE_API_PORT=str(port + 3000),
                             WEBCHAT_PORT=str(port + 3080))
        self.command = ""

    def up(self, model: Path) -> Dict[str, Any]:
        env = dict(self.env, RASA_MODEL=str(model))
        command = [str(RASA_PYTHON), "scripts/stack.py", "up"]
        self.command = f"RASA_MODEL={model} RASA_PORT={env['RASA_PORT']} " + " ".join(command)
        log(f"layout up: {self.command}")
        result = subprocess.run(command, cwd=ROOT, env=env, timeout=900, stdout=subprocess.DEVNULL)
        if result.returncode != 0:
            raise SystemExit("scripts/stack.py up failed (see .data/logs)")
        pids = {p.stem: [int(p.read_text())] for p in (ROOT / ".data/pids").glob("*.pid")}
        return {
            "balancer_url": f"http://127.0.0.1:{env['RASA_PORT']}",
            "commerce_api_url": f"http://127.0.0.1:{env['COMMERCE_API_PORT']}",
            "commerce_api_token": env.get("COMMERCE_API_TOKEN", "demo-commerce-token"),
            "commerce_database_url": env.get("COMMERCE_DATABASE_URL", f"sqlite:///{ROOT / '.data/commerce.db'}"),
            "processes": pids,
        }

    def down(self, quiet: bool = False) -> None:
        subprocess.run([str(RASA_PYTHON), "scripts/stack.py", "down"], cwd=ROOT, env=self.env, capture_output=quiet)


def service_processes(services: Dict[str, Any]) -> Dict[str, List[int]]:
    """Root pids per service: services.json's "processes", plus top-level pid lists (e.g. "postgresql")."""
    processes = {name: list(pids) for name, pids in (services.get("processes") or {}).items()}
    for name, value in services.items():
        if name not in processes and isinstance(value, list) and value and all(isinstance(v, int) for v in value) \
                and not name.endswith("_ports"):
            processes[name] = list(value)
    return processes


def flush_redis(services: Dict[str, Any]) -> None:
    """Empties the layout's own Redis between runs (never the system Redis on 6379)."""
    port = services.get("redis_port")
    if port and int(port) != 6379 and shutil.which("redis-cli"):
        subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True, timeout=30)


# ---------------------------------------------------------------- one load run


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

    def one(job: Tuple[str, Optional[Dict[str, Any]], int]) -> None:
        scenario, entry, i = job
        rng = random.Random(seed * 7919 + i)
        sender = f"bench-warmup-{scenario}-{i}-{random.getrandbits(32):08x}"
        with requests.Session() as http:
            for turn in script(scenario, entry, rng, decline_rate=0.0):
                try:
                    response = http.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": turn.text},
                                         timeout=timeout)
                    reason = (f"HTTP {response.status_code}" if response.status_code != 200
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


def run_load(args: argparse.Namespace, layout: Any, services: Dict[str, Any], plan: LoadPlan,
             config: str, model: Path) -> Dict[str, Any]:
    work = args.work / plan.label
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
    meta = json.loads(meta_path.read_text())
    samples = stats.read_samples(raw_path)
    return analyse(args, layout, services, plan, config, model, meta, samples, sampler.samples, warm, locust_line,
                   work)


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


def analyse(args: argparse.Namespace, layout: Any, services: Dict[str, Any], plan: LoadPlan, config: str,
            model: Path, meta: Dict[str, Any], samples: List[stats.Sample], resource_samples: List[Dict[str, Any]],
            warm: Dict[str, Any], locust_line: str, work: Path) -> Dict[str, Any]:
    from bench.plot import plot_run, plot_steps
    from bench.sampler import summarize as summarize_resources

    t0 = meta["test_start"]
    t_end = meta.get("test_stop") or (max(s.end for s in samples) if samples else t0)
    sessions = meta.get("sessions", {})
    started = sum(sessions.get("started", {}).values())
    completed = sum(sessions.get("completed", {}).values())
    failed_sessions = sum(sessions.get("failed", {}).values())
    result: Dict[str, Any] = {
        "label": plan.label,
        "config": config,
        "model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model),
        "kind": "steps" if plan.steps else "load",
        "started_at": datetime.fromtimestamp(t0, timezone.utc).isoformat(timespec="seconds"),
        "command": args.command_line,
        "locust_command": locust_line,
        "layout_command": getattr(layout, "command", ""),
        "git": git_info(),
        "machine": machine_info(),
        "layout": {"kind": args.layout, "rasa_replicas": args.rasa_replicas, "action_replicas": args.action_replicas,
                   "balancer_url": services.get("balancer_url"),
                   "processes": {k: len(v) for k, v in service_processes(services).items()}},
        "load": {"users": plan.users, "spawn_rate": plan.spawn_rate, "run_time_s": plan.run_time,
                 "think_s": list(plan.think), "timeout_s": args.timeout, "mix": args.mix_weights,
                 "decline_rate": args.decline_rate, "steps": plan.steps, "step_seconds": plan.step_seconds},
        "warmup": warm,
        "sessions": {"started": started, "completed": completed, "failed": failed_sessions,
                     "unfinished_at_end": started - completed - failed_sessions,
                     "by_scenario": sessions, "pool_exhausted": meta.get("pool_exhausted", {})},
        "overall": stats.summarize(samples, t_end - t0),
        "failures": stats.failures(samples),
        "files": {"raw_turns": f"{plan.label}.turns.csv.gz", "plot": f"{plan.label}.png"},
    }
    args.results.mkdir(parents=True, exist_ok=True)
    stats.write_samples(args.results / f"{plan.label}.turns.csv.gz", samples)
    markers: List[Tuple[float, str]] = []
    users_line: List[Tuple[float, int]] = []
    if plan.steps:
        settle = min(plan.step_seconds / 3.0, 5.0 + plan.think[1] + 2.0)
        rows = []
        for i, users in enumerate(plan.steps):
            start = t0 + i * plan.step_seconds
            begin, end = start + settle, min(start + plan.step_seconds, t_end)
            chosen = stats.window(samples, begin, end)
            row = {"users": users, "window_s": [round(begin - t0, 1), round(end - t0, 1)],
                   **stats.summarize(chosen, end - begin)}
            rows.append(row)
            markers.append((start - t0, f"{users} users"))
            users_line.append((start - t0, users))
        users_line.append((t_end - t0, plan.steps[-1]))
        best = max(rows, key=lambda r: r["turns_per_s"] or 0) if rows else None
        busiest = max(rows, key=lambda r: r["answered_per_s"] or 0) if rows else None
        result["steps"] = rows
        result["saturation"] = {
            "turns_per_s": best["turns_per_s"] if best else None, "at_users": best["users"] if best else None,
            "answered_per_s": busiest["answered_per_s"] if busiest else None,
            "answered_at_users": busiest["users"] if busiest else None,
            "saturated": saturated(rows),
            "note": "turns_per_s: the highest successful turns/s of any step; answered_per_s: the highest rate of "
                    "replies in time, right or wrong (the stack's processing capacity). saturated: some step's "
                    "throughput grew less than 80% as much as its users did; if false, add a larger step.",
        }
        window_start, window_end = t0, t_end
        turns_in_window = result["overall"]["ok"]
        plot_steps(args.results / f"{plan.label}.png", f"{plan.label}: saturation ({args.layout} layout)", rows)
        result["files"]["timeline_plot"] = f"{plan.label}-timeline.png"
        timeline_path = args.results / f"{plan.label}-timeline.png"
    else:
        spawned = [s["t"] for s in meta.get("spawning_complete", []) if s.get("users") == plan.users]
        ramp_end = spawned[0] if spawned else t0 + plan.users / plan.spawn_rate
        window_start, window_end = ramp_end + args.settle, t_end
        steady = stats.window(samples, window_start, window_end)
        result["steady"] = {"window_s": [round(window_start - t0, 1), round(window_end - t0, 1)],
                            **stats.summarize(steady, window_end - window_start)}
        result["per_step"] = stats.by_name(steady)
        result["per_scenario"] = stats.by_scenario(steady)
        result["per_step_overall"] = stats.by_name(samples)
        turns_in_window = result["steady"]["ok"]
        markers = [(ramp_end - t0, "all users in"), (window_start - t0, "steady state")]
        users_line = [(0.0, 0), (ramp_end - t0, plan.users), (t_end - t0, plan.users)]
        steady_latency = result["steady"]["latency_ms"]
        result["targets"] = {
            "users": plan.users,
            "p95_ms": steady_latency["p95"], "p95_le_300ms": _le(steady_latency["p95"], 300),
            "p99_ms": steady_latency["p99"], "p99_le_1000ms": _le(steady_latency["p99"], 1000),
            "failed_turns": result["overall"]["failed"], "zero_failed_turns": result["overall"]["failed"] == 0,
        }
        timeline_path = args.results / f"{plan.label}.png"
    resources = summarize_resources(resource_samples, window_start, window_end, turns_in_window)
    result["resources"] = resources
    result["resources"]["window_s"] = [round(window_start - t0, 1), round(window_end - t0, 1)]
    server_ms = sum(v["cpu_ms_per_turn"] or 0 for k, v in resources["services"].items()
                    if not k.startswith("load-generator"))
    server_cpu_s = sum(v["cpu_seconds"] for k, v in resources["services"].items() if not k.startswith("load-generator"))
    in_window = stats.window(samples, window_start, window_end)
    answered_in_window = sum(1 for s in in_window if s.answered)
    cores = os.cpu_count() or 1
    result["machine_limit"] = {
        "cpu_ms_per_turn_all_services": round(server_ms, 2),
        "cpu_ms_per_reply_all_services": round(1000.0 * server_cpu_s / answered_in_window, 2)
        if answered_in_window else None,
        "cpu_ms_per_turn_load_generator": (resources["services"].get("load-generator (locust)") or {}).get(
            "cpu_ms_per_turn"),
        "cores": cores,
        "turns_per_s_if_every_core_served_turns": round(cores * 1000.0 / server_ms, 1) if server_ms else None,
        "note": "CPU-ms per successful turn summed over the layout's services (PostgreSQL is shared with the "
                "machine); the ceiling assumes the services could use every core and nothing else ran",
    }
    result["resource_samples_file"] = f"{plan.label}.resources.json.gz"
    _write_gz_json(args.results / result["resource_samples_file"], resource_samples)
    series = stats.series(samples, t0, t_end, bucket=5.0)
    plot_run(timeline_path, f"{plan.label}: {plan.users if not plan.steps else plan.steps} users "
             f"({args.layout} layout, {config})", series, resource_samples, t0, markers, users_line,
             users_in_steps=bool(plan.steps))
    (args.results / f"{plan.label}.json").write_text(json.dumps(result, indent=1))
    print_result(result)
    return result


def saturated(rows: List[Dict[str, Any]]) -> bool:
    """True once throughput stops growing with the users: a step below 80% of linear growth from the one before."""
    for previous, current in zip(rows, rows[1:], strict=False):
        before, now = previous["answered_per_s"] or 0, current["answered_per_s"] or 0
        if before and now < 0.8 * before * current["users"] / previous["users"]:
            return True
    return False


def _le(value: Optional[float], limit: float) -> Optional[bool]:
    return None if value is None else value <= limit


def _write_gz_json(path: Path, value: Any) -> None:
    import gzip

    with gzip.open(path, "wt") as out:
        json.dump(value, out)


def print_result(result: Dict[str, Any]) -> None:
    label = result["label"]
    if result["kind"] == "steps":
        for row in result["steps"]:
            lat = row["latency_ms"]
            log(f"{label}: {row['users']:>4} users  {row['turns_per_s'] or 0:7.1f} turns/s "
                f"({row['answered_per_s'] or 0:.1f} answered/s)  p50 {lat['p50']} "
                f"p95 {lat['p95']} p99 {lat['p99']} ms  failed {row['failed']}/{row['turns']}")
        sat = result["saturation"]
        log(f"{label}: saturation {sat['turns_per_s']} successful turns/s at {sat['at_users']} users, "
            f"{sat['answered_per_s']} answered/s at {sat['answered_at_users']} users")
        return
    steady = result["steady"]
    lat = steady["latency_ms"]
    log(f"{label}: sessions {result['sessions']['started']} (completed {result['sessions']['completed']}, "
        f"failed {result['sessions']['failed']}), turns {result['overall']['turns']} "
        f"(failed {result['overall']['failed']})")
    log(f"{label}: steady state {steady['turns_per_s']} turns/s ({steady['answered_per_s']} answered/s), "
        f"p50 {lat['p50']} p95 {lat['p95']} "
        f"p99 {lat['p99']} max {lat['max']} ms")
    if result["sessions"]["pool_exhausted"]:
        log(f"{label}: WARNING customers ran out, sessions switched to tracking: "
            f"{result['sessions']['pool_exhausted']}")
    for item in result["failures"]["by_step_and_reason"][:8]:
        log(f"{label}:   failure ×{item['count']} at {item['step']}: {item['reason']}")
    for name, r in sorted(result["resources"]["services"].items()):
        log(f"{label}:   {name:24s} peak RSS {r['peak_rss_mb']:8.1f} MB  CPU mean {r['mean_cpu_percent']:6.1f}% "
            f"peak {r['peak_cpu_percent']:6.1f}%  {r['cpu_ms_per_turn']} CPU-ms/turn")


def git_info() -> Dict[str, Any]:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def machine_info() -> Dict[str, Any]:
    import psutil

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "physical_cores": psutil.cpu_count(logical=False), "cpu_model": model,
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


# ---------------------------------------------------------------- plans


def turns_per_session_floor(args: argparse.Namespace) -> float:
    """For sizing the pools: failed conversations end early, so count on at most two turns per session."""
    return min(mean_turns_per_session(args.mix_weights), 2.0)


def main_plan(args: argparse.Namespace, label: str) -> LoadPlan:
    think_mean = (args.think_min + args.think_max) / 2
    ramp = max(args.ramp, 1.0)
    run_time = ramp + args.settle + args.run_time
    turns = args.users * run_time / max(think_mean, 0.2)
    return LoadPlan(label, args.users, args.users / ramp, run_time, (args.think_min, args.think_max), [], 0.0,
                    int(turns / turns_per_session_floor(args)))


def steps_plan(args: argparse.Namespace, label: str) -> LoadPlan:
    think_mean = (args.step_think_min + args.step_think_max) / 2
    turns = sum(u * args.step_seconds / max(think_mean, 0.2) for u in args.step_list)
    return LoadPlan(label, max(args.step_list), 0.0, len(args.step_list) * args.step_seconds,
                    (args.step_think_min, args.step_think_max), args.step_list, args.step_seconds,
                    int(turns / turns_per_session_floor(args)))


def make_layout(args: argparse.Namespace) -> Any:
    return ProductionLayout(args) if args.layout == "production" else StackLayout(args)


def model_for(config: str) -> Path:
    model = CONFIGS[config]
    if config == "default-pipeline":
        train_default_model()
    if not model.exists():
        raise SystemExit(f"{model} is missing (run `make train`)")
    return model


def benchmark_configs(args: argparse.Namespace, main: bool, steps: bool) -> List[str]:
    """Runs the benchmark for every config; returns what went wrong (a failed config does not stop the next)."""
    for config in args.config_list:  # train what is missing before any layout takes the CPU
        model_for(config)
    layout = make_layout(args)
    errors: List[str] = []
    for config in args.config_list:
        model = model_for(config)
        label = config + args.label_suffix
        try:
            services = layout.up(model)
            if main:
                run_load(args, layout, services, main_plan(args, label), config, model)
            if steps and args.step_list:
                run_load(args, layout, services, steps_plan(args, f"{label}-steps"), config, model)
        except (SystemExit, Exception) as error:  # noqa: B036 - reported, and the next config still runs
            if isinstance(error, SystemExit) and error.code in (0, None):
                raise
            errors.append(f"{config}: {error}")
            log(f"{config}: FAILED: {error}")
        finally:
            layout.down(quiet=True)
            log(f"{config}: layout down")
    return errors


# ---------------------------------------------------------------- soak


def soak(args: argparse.Namespace) -> None:
    label = "soak" + args.label_suffix
    config = args.config_list[0]
    model = model_for(config)
    layout = make_layout(args)
    if isinstance(layout, ProductionLayout):
        layout.extra_env["TRACKER_TTL_SECONDS"] = str(args.soak_tracker_ttl)
    services = layout.up(model)
    try:
        users = args.soak_users
        if not users:
            peak = args.peak_tps or read_peak(args, config)
            if not peak:
                log("no measured peak yet: running the stepped run first")
                peak = run_load(args, layout, services, steps_plan(args, f"{config}{args.label_suffix}-steps"),
                                config, model)["saturation"]["turns_per_s"]
            think_mean = (args.think_min + args.think_max) / 2
            users = max(1, int(round(args.soak_fraction * peak * think_mean)))
            log(f"soak: {args.soak_fraction:.0%} of {peak} turns/s with {think_mean:g}s mean think time "
                f"→ {users} users")
        soak_args = argparse.Namespace(**vars(args))
        soak_args.users = users
        soak_args.run_time = args.soak_minutes * 60
        result = run_load(soak_args, layout, services, main_plan(soak_args, label), config, model)
    finally:
        layout.down()
    result["soak"] = soak_report(args, result)
    (args.results / f"{label}.json").write_text(json.dumps(result, indent=1))
    s = result["soak"]
    log(f"soak: p95 first 5 min {s['p95_first_ms']} ms, last 5 min {s['p95_last_ms']} ms, drift {s['p95_drift_pct']}%")
    for name, r in s["rss"].items():
        log(f"soak:   {name:24s} RSS {r['after_warmup_mb']} → {r['end_mb']} MB ({r['growth_pct']}%)")
    log(f"soak: targets {s['targets']}")


def read_peak(args: argparse.Namespace, config: str) -> Optional[float]:
    path = args.results / f"{config}{args.label_suffix}-steps.json"
    if not path.exists():
        path = args.results / f"{config}-steps.json"
    if path.exists():
        return json.loads(path.read_text()).get("saturation", {}).get("turns_per_s")
    return None


def soak_report(args: argparse.Namespace, result: Dict[str, Any]) -> Dict[str, Any]:
    import gzip

    samples = stats.read_samples(args.results / result["files"]["raw_turns"])
    with gzip.open(args.results / result["resource_samples_file"], "rt") as source:
        resources = json.load(source)
    t0 = datetime.fromisoformat(result["started_at"]).timestamp()
    start = t0 + result["steady"]["window_s"][0]
    end = t0 + result["steady"]["window_s"][1]
    five = min(300.0, (end - start) / 2)
    first = stats.summarize(stats.window(samples, start, start + five), five)["latency_ms"]["p95"]
    last = stats.summarize(stats.window(samples, end - five, end), five)["latency_ms"]["p95"]
    drift = round(100.0 * (last - first) / first, 1) if first and last is not None else None
    # RSS: the mean of the minute after warm-up (steady state + 60 s) against the mean of the last minute.
    # Redis holds every conversation for the tracker TTL, so its warm-up lasts until the first ones expire.
    warm = start + 60.0
    store_warm = start + args.soak_tracker_ttl + 60.0 if start + args.soak_tracker_ttl + 120.0 <= end else warm
    rss: Dict[str, Any] = {}
    names = sorted({n for s in resources for n in s["services"]})
    for name in names:
        rows = [(s["t"], s["services"][name]["rss_mb"]) for s in resources if name in s["services"]]
        base_start = store_warm if name == "redis" else warm
        base = [rss_mb for t, rss_mb in rows if base_start <= t < base_start + 60]
        tail = [rss_mb for t, rss_mb in rows if end - 60 <= t <= end]
        if base and tail:
            b, t = sum(base) / len(base), sum(tail) / len(tail)
            rss[name] = {"after_warmup_mb": round(b, 1), "end_mb": round(t, 1),
                         "warm_after_s": round(base_start - start),
                         "growth_pct": round(100.0 * (t - b) / b, 1) if b else None}
    servers = {k: v for k, v in rss.items() if not k.startswith("load-generator") and k != "postgresql"}
    return {
        "minutes": args.soak_minutes, "users": result["load"]["users"], "tracker_ttl_s": args.soak_tracker_ttl,
        "p95_first_ms": first, "p95_last_ms": last, "p95_drift_pct": drift, "rss": rss,
        "targets": {
            "rss_growth_under_10pct": all((v["growth_pct"] or 0) < 10 for v in servers.values()) if servers else None,
            "p95_drift_under_10pct": None if drift is None else abs(drift) < 10,
            "zero_failed_turns": result["overall"]["failed"] == 0,
        },
        "note": "RSS growth: mean RSS of the minute starting 60 s into steady state (Redis: the tracker TTL + 60 s, "
                "once conversations expire as fast as they start) against the last minute "
                "(the shared PostgreSQL server and the load generator are listed but not judged)",
    }


# ---------------------------------------------------------------- summary


def summary(args: argparse.Namespace) -> Optional[Dict[str, Any]]:
    rows: Dict[str, Dict[str, Any]] = {}
    for config in CONFIGS:
        label = config + args.label_suffix
        main_path, steps_path = args.results / f"{label}.json", args.results / f"{label}-steps.json"
        if not main_path.exists() and not steps_path.exists():
            continue
        row: Dict[str, Any] = {"label": label}
        if main_path.exists():
            r = json.loads(main_path.read_text())
            row.update({
                "users": r["load"]["users"], "turns_per_s": r["steady"]["turns_per_s"],
                "answered_per_s": r["steady"]["answered_per_s"],
                "p50_ms": r["steady"]["latency_ms"]["p50"], "p95_ms": r["steady"]["latency_ms"]["p95"],
                "p99_ms": r["steady"]["latency_ms"]["p99"], "max_ms": r["steady"]["latency_ms"]["max"],
                "turns": r["overall"]["turns"], "failed_turns": r["overall"]["failed"],
                "sessions": r["sessions"]["started"],
                "cpu_ms_per_turn": r["machine_limit"]["cpu_ms_per_turn_all_services"],
                "cpu_ms_per_reply": r["machine_limit"].get("cpu_ms_per_reply_all_services"),
                "sessions_failed_pct": round(100.0 * r["sessions"]["failed"] / r["sessions"]["started"], 1)
                if r["sessions"]["started"] else None,
                "peak_rss_mb": {k: v["peak_rss_mb"] for k, v in r["resources"]["services"].items()},
                "started_at": r["started_at"], "git": r["git"], "targets": r.get("targets"),
                "top_failures": r["failures"]["by_step_and_reason"][:5],
            })
        if steps_path.exists():
            s = json.loads(steps_path.read_text())
            row["saturation_turns_per_s"] = s["saturation"]["turns_per_s"]
            row["saturation_at_users"] = s["saturation"]["at_users"]
            row["saturation_answered_per_s"] = s["saturation"]["answered_per_s"]
            row["saturated"] = s["saturation"].get("saturated")
            row["steps"] = [{"users": x["users"], "turns_per_s": x["turns_per_s"],
                             "answered_per_s": x["answered_per_s"], "p95_ms": x["latency_ms"]["p95"],
                             "failed": x["failed"]} for x in s["steps"]]
        rows[config] = row
    if not rows:
        log("summary: no results yet")
        return None
    ratios: Dict[str, Optional[float]] = {}
    a, d = rows.get("assistant"), rows.get("default-pipeline")
    if a and d:
        ratios = {
            "turns_per_s (assistant / default)": _ratio(a.get("turns_per_s"), d.get("turns_per_s")),
            "p95 (default / assistant)": _ratio(d.get("p95_ms"), a.get("p95_ms")),
            "p99 (default / assistant)": _ratio(d.get("p99_ms"), a.get("p99_ms")),
            "cpu_ms_per_turn (default / assistant)": _ratio(d.get("cpu_ms_per_turn"), a.get("cpu_ms_per_turn")),
            "saturation turns/s (assistant / default)": _ratio(a.get("saturation_turns_per_s"),
                                                                d.get("saturation_turns_per_s")),
            "saturation answered/s (assistant / default)": _ratio(a.get("saturation_answered_per_s"),
                                                                   d.get("saturation_answered_per_s")),
        }
    document = {"configs": rows, "ratios": ratios, "machine": machine_info(),
                "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    suffix = args.label_suffix
    (args.results / f"summary{suffix}.json").write_text(json.dumps(document, indent=1))
    (args.results / f"summary{suffix}.md").write_text(summary_markdown(document))
    print((args.results / f"summary{suffix}.md").read_text())
    return document


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return round(a / b, 2) if a is not None and b else None


def saturation_cell(row: Dict[str, Any]) -> str:
    if row.get("saturation_turns_per_s") is None:
        return "—"
    text = f"{row['saturation_turns_per_s']} (at {row.get('saturation_at_users')} users"
    if row.get("saturated") is False:
        text += "; NOT saturated, add a larger step"
    return text + ")"


def summary_markdown(document: Dict[str, Any]) -> str:
    rows = document["configs"]
    configs = [c for c in ("assistant", "default-pipeline") if c in rows]

    def cell(config: str, key: str, fmt: str = "{}") -> str:
        value = rows[config].get(key)
        return "—" if value is None else fmt.format(value)

    def ratio(key: str) -> str:
        value = document["ratios"].get(key)
        if value is None:
            return "—"
        first, _, second = key.partition("(")[2].rstrip(")").partition(" / ")
        return f"{value}× ({first} ÷ {second})"

    lines = [
        f"Generated {document['generated_at']} on {document['machine']['cores']} cores "
        f"({document['machine']['cpu_model']}).",
        "",
        "| | " + " | ".join(configs) + " | ratio |",
        "|---|" + "---|" * len(configs) + "---|",
        "| concurrent conversations | " + " | ".join(cell(c, "users") for c in configs) + " | |",
        "| sessions / turns | " + " | ".join(f"{cell(c, 'sessions')} / {cell(c, 'turns')}" for c in configs) + " | |",
        "| successful turns/s (steady state) | " + " | ".join(cell(c, "turns_per_s") for c in configs)
        + f" | {ratio('turns_per_s (assistant / default)')} |",
        "| replies/s right or wrong (steady state) | " + " | ".join(cell(c, "answered_per_s") for c in configs)
        + " | |",
        "| p50 turn latency | " + " | ".join(cell(c, "p50_ms", "{} ms") for c in configs) + " | |",
        "| p95 turn latency | " + " | ".join(cell(c, "p95_ms", "{} ms") for c in configs)
        + f" | {ratio('p95 (default / assistant)')} |",
        "| p99 turn latency | " + " | ".join(cell(c, "p99_ms", "{} ms") for c in configs)
        + f" | {ratio('p99 (default / assistant)')} |",
        "| max turn latency | " + " | ".join(cell(c, "max_ms", "{} ms") for c in configs) + " | |",
        "| failed turns | " + " | ".join(cell(c, "failed_turns") for c in configs) + " | |",
        "| CPU-ms per turn (all services) | " + " | ".join(cell(c, "cpu_ms_per_turn") for c in configs)
        + f" | {ratio('cpu_ms_per_turn (default / assistant)')} |",
        "| CPU-ms per reply, right or wrong | " + " | ".join(cell(c, "cpu_ms_per_reply") for c in configs) + " | |",
        "| conversations ended by a failed turn | " + " | ".join(cell(c, "sessions_failed_pct", "{}%") for c in configs)
        + " | |",
        "| saturation (stepped run), turns/s | " + " | ".join(saturation_cell(rows[c]) for c in configs)
        + f" | {ratio('saturation turns/s (assistant / default)')} |",
        "| saturation (stepped run), replies/s right or wrong | "
        + " | ".join(cell(c, "saturation_answered_per_s") for c in configs)
        + f" | {ratio('saturation answered/s (assistant / default)')} |",
        "",
    ]
    for config in configs:
        failures = rows[config].get("top_failures") or []
        if failures:
            lines.append(f"Most frequent failures of {config}:")
            lines += [f"- {f['count']}× `{f['step']}`: {f['reason']}" for f in failures]
            lines.append("")
        if rows[config].get("steps"):
            lines.append(f"Stepped run of {config}: " + ", ".join(
                f"{s['users']} users → {s['turns_per_s']} turns/s ({s['answered_per_s']} answered/s, "
                f"p95 {s['p95_ms']} ms, {s['failed']} failed)"
                for s in rows[config]["steps"]))
            lines.append("")
    lines.append("A failed turn ends its conversation, so a config whose conversations fail early serves a "
                 "cheaper mix of turns (mostly openings): compare CPU-ms per reply and the per-step latencies "
                 "(`per_step` in the results files) as well as turns/s.")
    lines.append("")
    lines.append("Raw data and plots: `bench/results/<label>.json`, `<label>.png`, `<label>.turns.csv.gz`.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- entry


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.work.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    # `kill` (or make being stopped) still brings the layout down: the finally blocks run
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    errors: List[str] = []
    if args.command == "train-default":
        train_default_model()
    elif args.command in ("all", "run", "steps"):
        errors = benchmark_configs(args, main=args.command in ("all", "run"),
                                   steps=args.command in ("all", "steps"))
        summary(args)
    elif args.command == "soak":
        soak(args)
    elif args.command == "summary":
        summary(args)
    log(f"done in {(time.monotonic() - STARTED) / 60:.1f} min")
    for error in errors:
        log(f"FAILED {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
