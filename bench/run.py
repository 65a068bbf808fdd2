"""`make bench`: the load benchmark against the production layout on this machine.

    .venv/bench/bin/python -m bench.run [all|run|steps|soak|probe|summary|train-default] [options]

all (the default, `make bench`): for each config (the assistant's model, then Rasa's
default pipeline and policies trained on the same domain and data), bring the
production layout up with that model, reseed the commerce data, warm up, time the CPU
calibration, run Locust headless (BENCH_USERS users, all spawned within BENCH_RAMP
seconds, then BENCH_RUN_TIME seconds of steady state) while sampling every service's
RSS and CPU, then find the config's saturation throughput with a stepped run, bring the
layout down, and write bench/results/<label>.json/.png, <label>-steps.json/.png and
finally summary.json + summary.md (the side by side).

run / steps: only the main run / only the stepped run, for the configs given.
soak (`make bench-soak`): BENCH_SOAK_MINUTES (20) at BENCH_SOAK_FRACTION (0.6) of
the measured peak (bench/results/assistant-steps.json, or --peak-tps): RSS growth after
warm-up and p95 drift between the first and last five minutes. The soak's trackers expire
after BENCH_SOAK_TRACKER_TTL (300) seconds, so Redis reaches its steady state inside the soak.
probe (`make bench-probe`, under 5 minutes): the assistant only, one short run at the main
run's load (BENCH_PROBE_USERS users spawned within BENCH_PROBE_RAMP s, BENCH_PROBE_SECONDS of
steady state), written to bench/results/probe.json and printed as a probe beside the last
full run (bench/results/assistant.json); summary.* is left alone.
summary: rebuild summary.json/.md from the results files.
train-default: train the default-pipeline model if its inputs changed.

Every option has an environment variable (BENCH_USERS=20 BENCH_RUN_TIME=60 make bench);
`--help` lists them. The parts: bench.options (knobs), bench.configs (models),
bench.layouts (up/down), bench.load (plans, seeding, warm-up, Locust), bench.sampler,
bench.stats, bench.machine and bench.analysis (measurement), bench.report and bench.plot
(files); this module only puts them in order.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench import report
from bench.analysis import analyse, compare_with, soak_report
from bench.common import STARTED, log
from bench.configs import model_for, train_default_model
from bench.layouts import Layout, ProductionLayout, make_layout
from bench.load import LoadPlan, drive, main_plan, probe_plan, steps_plan
from bench.options import parse_args

PROBE_CONFIG = "assistant"
PROBE_BUDGET_S = 300.0


def measure(args: argparse.Namespace, layout: Layout, services: Dict[str, Any], plan: LoadPlan, config: str,
            model: Path) -> Dict[str, Any]:
    """One load run: drive it, analyse what it recorded, write its files, print its figures."""
    recorded = drive(args, services, plan, args.work / plan.label)
    result, charts = analyse(args, layout.command, services, plan, config, model, recorded)
    report.write_run(args.results, result, charts, recorded.samples, recorded.resource_samples)
    report.print_result(result)
    return result


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
                measure(args, layout, services, main_plan(args, label), config, model)
            if steps and args.step_list:
                measure(args, layout, services, steps_plan(args, f"{label}-steps"), config, model)
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
                peak = measure(args, layout, services, steps_plan(args, f"{config}{args.label_suffix}-steps"),
                               config, model)["saturation"]["turns_per_s"]
            think_mean = (args.think_min + args.think_max) / 2
            users = max(1, int(round(args.soak_fraction * peak * think_mean)))
            log(f"soak: {args.soak_fraction:.0%} of {peak} turns/s with {think_mean:g}s mean think time "
                f"→ {users} users")
        soak_args = argparse.Namespace(**vars(args))
        soak_args.users = users
        soak_args.run_time = args.soak_minutes * 60
        result = measure(soak_args, layout, services, main_plan(soak_args, label), config, model)
    finally:
        layout.down()
    result["soak"] = soak_report(args, result)
    report.write_json(args.results / f"{label}.json", result)
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


# ---------------------------------------------------------------- probe


def probe(args: argparse.Namespace) -> Dict[str, Any]:
    """The assistant only, one short run at a fixed load: bench/results/probe.json, printed as a probe."""
    began = time.monotonic()
    label = "probe" + args.label_suffix
    model = model_for(PROBE_CONFIG)
    layout = make_layout(args)
    try:
        services = layout.up(model)
        result = measure(args, layout, services, probe_plan(args, label), PROBE_CONFIG, model)
    finally:
        layout.down(quiet=True)
    reference_path = args.results / f"{PROBE_CONFIG}{args.label_suffix}.json"
    if not reference_path.exists():
        reference_path = args.results / f"{PROBE_CONFIG}.json"
    reference = json.loads(reference_path.read_text()) if reference_path.exists() else None
    elapsed = round(time.monotonic() - began, 1)
    result["probe"] = {
        "note": "a short run of the assistant only, to check a change quickly; not the benchmark (make bench)",
        "seconds_total": elapsed, "budget_s": PROBE_BUDGET_S, "within_budget": elapsed <= PROBE_BUDGET_S,
        "comparison": compare_with(result, reference, reference_path.name),
    }
    report.write_json(args.results / f"{label}.json", result)
    print(report.probe_markdown(result), flush=True)
    if elapsed > PROBE_BUDGET_S:
        log(f"probe: took {elapsed:.0f}s, over its {PROBE_BUDGET_S:.0f}s budget (a slow layout start?)")
    return result


# ---------------------------------------------------------------- entry


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv, description=__doc__)
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
        report.summary(args)
    elif args.command == "soak":
        soak(args)
    elif args.command == "probe":
        probe(args)
    elif args.command == "summary":
        report.summary(args)
    log(f"done in {(time.monotonic() - STARTED) / 60:.1f} min")
    for error in errors:
        log(f"FAILED {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
