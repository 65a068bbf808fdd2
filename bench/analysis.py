"""Measurement: what a run's recorded turns and resource samples say.

Standard library only (bench.stats). `analyse` builds a run's results document (the
steady-state window or the steps, saturation, CPU-ms per turn per service, the machine's
ceiling, the targets) and what its charts show; `soak_report` judges a soak's RSS growth
and latency drift; `compare_with` sets a probe beside a full run. Writing files is
bench.report's job.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench import stats
from bench.common import ROOT
from bench.layouts import service_processes
from bench.load import LoadPlan, Recorded
from bench.machine import git_info, machine_info

LOAD_GENERATOR = "load-generator"


@dataclass
class Charts:
    """What a run's plots show (bench.plot draws them, bench.report writes them)."""

    timeline_file: str
    title: str
    series: List[Dict[str, Any]]
    t0: float
    markers: List[Tuple[float, str]] = field(default_factory=list)
    users: List[Tuple[float, int]] = field(default_factory=list)
    users_in_steps: bool = False
    steps_file: Optional[str] = None  # the saturation curve of a stepped run
    steps_title: str = ""
    steps: List[Dict[str, Any]] = field(default_factory=list)


def resource_summary(samples: Sequence[Dict[str, Any]], start: float, end: float, turns: int) -> Dict[str, Any]:
    """Per service: peak RSS, mean and peak CPU %, CPU seconds and CPU-ms per successful turn in [start, end]."""
    chosen = [s for s in samples if start <= s["t"] <= end]
    names = sorted({name for s in samples for name in s["services"]})
    result: Dict[str, Any] = {}
    for name in names:
        rows = [s["services"][name] for s in chosen if name in s["services"]]
        all_rows = [s["services"][name] for s in samples if name in s["services"]]
        if not rows:
            continue
        cpu_s = sum(r["cpu_s"] for r in rows)
        result[name] = {
            "peak_rss_mb": max(r["rss_mb"] for r in all_rows),
            "peak_rss_mb_window": max(r["rss_mb"] for r in rows),
            "mean_cpu_percent": round(sum(r["cpu_percent"] for r in rows) / len(rows), 1),
            "peak_cpu_percent": max(r["cpu_percent"] for r in rows),
            "cpu_seconds": round(cpu_s, 1),
            "cpu_ms_per_turn": round(1000.0 * cpu_s / turns, 2) if turns else None,
            "processes": max(r["processes"] for r in rows),
        }
    machine = [s["machine_cpu_percent"] for s in chosen]
    return {
        "services": result,
        "machine_cpu_percent": {
            "mean": round(sum(machine) / len(machine), 1) if machine else None,
            "peak": max(machine) if machine else None,
        },
    }


def analyse(args: argparse.Namespace, layout_command: str, services: Dict[str, Any], plan: LoadPlan, config: str,
            model: Path, recorded: Recorded) -> Tuple[Dict[str, Any], Charts]:
    """The results document of one run, and its charts."""
    meta, samples, resource_samples = recorded.meta, recorded.samples, recorded.resource_samples
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
        "kind": plan.kind,
        "started_at": datetime.fromtimestamp(t0, timezone.utc).isoformat(timespec="seconds"),
        "command": args.command_line,
        "locust_command": recorded.locust_command,
        "layout_command": layout_command,
        "git": git_info(ROOT),
        "machine": machine_info(),
        "calibration": recorded.calibration,
        "layout": {"kind": args.layout, "rasa_replicas": args.rasa_replicas, "action_replicas": args.action_replicas,
                   "balancer_url": services.get("balancer_url"),
                   "processes": {k: len(v) for k, v in service_processes(services).items()}},
        "load": {"users": plan.users, "spawn_rate": plan.spawn_rate, "run_time_s": plan.run_time,
                 "think_s": list(plan.think), "timeout_s": args.timeout, "mix": args.mix_weights,
                 "decline_rate": args.decline_rate, "steps": plan.steps, "step_seconds": plan.step_seconds},
        "warmup": recorded.warmup,
        "sessions": {"started": started, "completed": completed, "failed": failed_sessions,
                     "unfinished_at_end": started - completed - failed_sessions,
                     "by_scenario": sessions, "pool_exhausted": meta.get("pool_exhausted", {})},
        "overall": stats.summarize(samples, t_end - t0),
        "failures": stats.failures(samples),
        "files": {"raw_turns": f"{plan.label}.turns.csv.gz", "plot": f"{plan.label}.png"},
    }
    title = f"{plan.label}: {plan.users if not plan.steps else plan.steps} users ({args.layout} layout, {config})"
    series = stats.series(samples, t0, t_end, bucket=5.0)
    if plan.steps:
        settle = min(plan.step_seconds / 3.0, 5.0 + plan.think[1] + 2.0)
        rows = []
        markers: List[Tuple[float, str]] = []
        users_line: List[Tuple[float, int]] = []
        for i, users in enumerate(plan.steps):
            start = t0 + i * plan.step_seconds
            begin, end = start + settle, min(start + plan.step_seconds, t_end)
            chosen = stats.window(samples, begin, end)
            rows.append({"users": users, "window_s": [round(begin - t0, 1), round(end - t0, 1)],
                         **stats.summarize(chosen, end - begin)})
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
        result["files"]["timeline_plot"] = f"{plan.label}-timeline.png"
        charts = Charts(f"{plan.label}-timeline.png", title, series, t0, markers, users_line, users_in_steps=True,
                        steps_file=f"{plan.label}.png", steps_title=f"{plan.label}: saturation ({args.layout} layout)",
                        steps=rows)
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
        steady_latency = result["steady"]["latency_ms"]
        result["targets"] = {
            "users": plan.users,
            "p95_ms": steady_latency["p95"], "p95_le_300ms": _le(steady_latency["p95"], 300),
            "p99_ms": steady_latency["p99"], "p99_le_1000ms": _le(steady_latency["p99"], 1000),
            "failed_turns": result["overall"]["failed"], "zero_failed_turns": result["overall"]["failed"] == 0,
        }
        charts = Charts(f"{plan.label}.png", title, series, t0,
                        [(ramp_end - t0, "all users in"), (window_start - t0, "steady state")],
                        [(0.0, 0), (ramp_end - t0, plan.users), (t_end - t0, plan.users)])
    resources = resource_summary(resource_samples, window_start, window_end, turns_in_window)
    result["resources"] = resources
    result["resources"]["window_s"] = [round(window_start - t0, 1), round(window_end - t0, 1)]
    result["machine_limit"] = machine_limit(resources, stats.window(samples, window_start, window_end))
    result["resource_samples_file"] = f"{plan.label}.resources.json.gz"
    return result, charts


def machine_limit(resources: Dict[str, Any], in_window: Sequence[stats.Sample]) -> Dict[str, Any]:
    """CPU-ms per turn over the layout's services, and the turns/s every core would serve at that cost."""
    servers = {k: v for k, v in resources["services"].items() if not k.startswith(LOAD_GENERATOR)}
    server_ms = sum(v["cpu_ms_per_turn"] or 0 for v in servers.values())
    server_cpu_s = sum(v["cpu_seconds"] for v in servers.values())
    answered = sum(1 for s in in_window if s.answered)
    cores = os.cpu_count() or 1
    return {
        "cpu_ms_per_turn_all_services": round(server_ms, 2),
        "cpu_ms_per_reply_all_services": round(1000.0 * server_cpu_s / answered, 2) if answered else None,
        "cpu_ms_per_turn_load_generator": (resources["services"].get(f"{LOAD_GENERATOR} (locust)") or {}).get(
            "cpu_ms_per_turn"),
        "cores": cores,
        "turns_per_s_if_every_core_served_turns": round(cores * 1000.0 / server_ms, 1) if server_ms else None,
        "note": "CPU-ms per successful turn summed over the layout's services (PostgreSQL is shared with the "
                "machine); the ceiling assumes the services could use every core and nothing else ran",
    }


def saturated(rows: List[Dict[str, Any]]) -> bool:
    """True once throughput stops growing with the users: a step below 80% of linear growth from the one before."""
    for previous, current in zip(rows, rows[1:], strict=False):
        before, now = previous["answered_per_s"] or 0, current["answered_per_s"] or 0
        if before and now < 0.8 * before * current["users"] / previous["users"]:
            return True
    return False


def _le(value: Optional[float], limit: float) -> Optional[bool]:
    return None if value is None else value <= limit


# ---------------------------------------------------------------- the soak's judgement


def soak_report(args: argparse.Namespace, result: Dict[str, Any]) -> Dict[str, Any]:
    """RSS growth after warm-up and p95 drift between the first and last five minutes of a soak's files."""
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
    servers = {k: v for k, v in rss.items() if not k.startswith(LOAD_GENERATOR) and k != "postgresql"}
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


# ---------------------------------------------------------------- a probe beside a full run


def headline(result: Dict[str, Any]) -> Dict[str, Any]:
    """The figures a steady-state run is compared by."""
    steady = result.get("steady") or {}
    latency = steady.get("latency_ms") or {}
    return {
        "started_at": result.get("started_at"),
        "users": (result.get("load") or {}).get("users"),
        "window_s": round(steady["window_s"][1] - steady["window_s"][0], 1) if steady.get("window_s") else None,
        "turns_per_s": steady.get("turns_per_s"),
        "p50_ms": latency.get("p50"), "p95_ms": latency.get("p95"), "p99_ms": latency.get("p99"),
        "failed_turns": (result.get("overall") or {}).get("failed"),
        "turns": (result.get("overall") or {}).get("turns"),
        "cpu_ms_per_turn": (result.get("machine_limit") or {}).get("cpu_ms_per_turn_all_services"),
        "calibration_s": (result.get("calibration") or {}).get("best_s"),
    }


def compare_with(result: Dict[str, Any], reference: Optional[Dict[str, Any]], reference_file: str) -> Dict[str, Any]:
    """A run's headline figures beside a reference run's (a full `make bench` run of the same config).

    CPU-ms per turn is also given in the reference machine's terms: scaled by the ratio of the
    two calibration times, when both runs have one (results files older than the calibration do not).
    """
    this = headline(result)
    if reference is None:
        return {"this": this, "reference": None, "reference_file": reference_file}
    other = headline(reference)
    scaled = None
    if this["cpu_ms_per_turn"] and this["calibration_s"] and other["calibration_s"]:
        scaled = round(this["cpu_ms_per_turn"] * other["calibration_s"] / this["calibration_s"], 2)
    return {"this": this, "reference": other, "reference_file": reference_file,
            "cpu_ms_per_turn_at_reference_speed": scaled,
            "note": "cpu_ms_per_turn_at_reference_speed: this run's CPU-ms per turn times the ratio of the reference's "
                    "calibration time to this run's (null when either run has no calibration)"}
