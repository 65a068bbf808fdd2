"""The runner's command line: every option has a BENCH_* environment variable (`--help` lists them).

Standard library only (bench.conversations for the mix).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any, List

from bench.common import ROOT
from bench.configs import CONFIGS
from bench.conversations import parse_mix

COMMANDS = ("all", "run", "steps", "soak", "probe", "summary", "train-default")


def env_default(name: str, default: Any) -> Any:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    return type(default)(value) if default is not None and not isinstance(default, str) else value


def parse_args(argv: List[str], description: str = "") -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", nargs="?", default="all", choices=COMMANDS)
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
    p.add_argument("--probe-users", type=int, default=e("BENCH_PROBE_USERS", 500),
                   help="users of the probe, at the main run's think times [BENCH_PROBE_USERS]")
    p.add_argument("--probe-ramp", type=float, default=e("BENCH_PROBE_RAMP", 20.0),
                   help="seconds to spawn the probe's users [BENCH_PROBE_RAMP]")
    p.add_argument("--probe-seconds", type=float, default=e("BENCH_PROBE_SECONDS", 90.0),
                   help="seconds of the probe's steady state [BENCH_PROBE_SECONDS]")
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
