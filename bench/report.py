"""Report writing: a run's files in bench/results/, its console lines, summary.md/json, the probe's summary.

Per run (label = config + BENCH_LABEL_SUFFIX, "-steps" for the stepped run, "soak", "probe"):
<label>.json (the results document), <label>.turns.csv.gz (every turn),
<label>.resources.json.gz (every resource sample) and the plots (bench.plot, matplotlib:
imported only when a plot is drawn). summary.json/.md set the configs side by side.
"""

from __future__ import annotations

import argparse
import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench import stats
from bench.analysis import Charts
from bench.common import log
from bench.configs import CONFIGS
from bench.machine import machine_info

PROBE_TITLE = "PROBE — a short run of the assistant only, not the benchmark"


def write_run(results: Path, result: Dict[str, Any], charts: Charts, samples: List[stats.Sample],
              resource_samples: List[Dict[str, Any]]) -> None:
    """Writes a run's raw files, plots and results document (<label>.json last: it names the others)."""
    from bench.plot import plot_run, plot_steps

    results.mkdir(parents=True, exist_ok=True)
    stats.write_samples(results / result["files"]["raw_turns"], samples)
    if charts.steps_file:
        plot_steps(results / charts.steps_file, charts.steps_title, charts.steps)
    with gzip.open(results / result["resource_samples_file"], "wt") as out:
        json.dump(resource_samples, out)
    plot_run(results / charts.timeline_file, charts.title, charts.series, resource_samples, charts.t0,
             charts.markers, charts.users, users_in_steps=charts.users_in_steps)
    write_json(results / f"{result['label']}.json", result)


def write_json(path: Path, document: Dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=1))


def print_result(result: Dict[str, Any]) -> None:
    label = result["label"]
    calibration = result.get("calibration") or {}
    if calibration:
        log(f"{label}: CPU calibration {calibration.get('best_s')}s ({calibration.get('workload')}, "
            f"best of {calibration.get('repeats')})")
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


# ---------------------------------------------------------------- summary.md / summary.json


def main_run_row(r: Dict[str, Any]) -> Dict[str, Any]:
    """The figures of one main-run results file that the summaries compare."""
    return {
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
    }


def summary(args: argparse.Namespace) -> Optional[Dict[str, Any]]:
    """summary<suffix>.json/.md from the configs' results files; printed too."""
    rows: Dict[str, Dict[str, Any]] = {}
    for config in CONFIGS:
        label = config + args.label_suffix
        main_path, steps_path = args.results / f"{label}.json", args.results / f"{label}-steps.json"
        if not main_path.exists() and not steps_path.exists():
            continue
        row: Dict[str, Any] = {"label": label, "calibration_s": {}}
        if main_path.exists():
            r = json.loads(main_path.read_text())
            row.update(main_run_row(r))
            row["calibration_s"]["run"] = (r.get("calibration") or {}).get("best_s")
        if steps_path.exists():
            s = json.loads(steps_path.read_text())
            row["saturation_turns_per_s"] = s["saturation"]["turns_per_s"]
            row["saturation_at_users"] = s["saturation"]["at_users"]
            row["saturation_answered_per_s"] = s["saturation"]["answered_per_s"]
            row["saturated"] = s["saturation"].get("saturated")
            row["steps"] = [{"users": x["users"], "turns_per_s": x["turns_per_s"],
                             "answered_per_s": x["answered_per_s"], "p95_ms": x["latency_ms"]["p95"],
                             "failed": x["failed"]} for x in s["steps"]]
            row["calibration_s"]["steps"] = (s.get("calibration") or {}).get("best_s")
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
    write_json(args.results / f"summary{suffix}.json", document)
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


def _calibration_cell(row: Dict[str, Any]) -> str:
    times = {k: v for k, v in (row.get("calibration_s") or {}).items() if v is not None}
    return " / ".join(f"{v} s ({k})" for k, v in times.items()) or "—"


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
        "| CPU calibration (10 M Python additions, best of 3; lower is a faster machine) | "
        + " | ".join(_calibration_cell(rows[c]) for c in configs) + " | |",
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


# ---------------------------------------------------------------- the probe


def probe_markdown(result: Dict[str, Any]) -> str:
    """The summary `make bench-probe` prints: the probe's figures, labelled as a probe, beside the last full run."""
    comparison = result["probe"]["comparison"]
    this, ref = comparison["this"], comparison["reference"]
    calibration = result.get("calibration") or {}

    def value(row: Optional[Dict[str, Any]], key: str, unit: str = "") -> str:
        if row is None or row.get(key) is None:
            return "—"
        return f"{row[key]}{unit}"

    reference_name = comparison["reference_file"]
    reference_head = f"last full run (`{reference_name}`{', ' + ref['started_at'] if ref else ''})"
    figures = [
        ("concurrent conversations", "users", ""),
        ("measured steady state", "window_s", " s"),
        ("turns (failed)", None, ""),
        ("successful turns/s", "turns_per_s", ""),
        ("p50 / p95 / p99 turn latency", None, ""),
        ("CPU-ms per turn, all services", "cpu_ms_per_turn", ""),
        ("CPU calibration (best of 3)", "calibration_s", " s"),
    ]
    lines = [
        f"## {PROBE_TITLE}",
        "",
        f"Label `{result['label']}`, {result['started_at']}, commit {str(result['git']['commit'])[:10]}"
        f"{' (uncommitted changes)' if result['git'].get('dirty') else ''}, {result['layout']['kind']} layout, "
        f"load average {result['machine']['load_average_at_start']} at the start. "
        f"Results: `bench/results/{result['label']}.json`.",
        "",
        f"| | this probe | {reference_head} |",
        "|---|---|---|",
    ]
    for title, key, unit in figures:
        if key is None and title.startswith("turns"):
            cells = [f"{row['turns']} ({row['failed_turns']})" if row else "—" for row in (this, ref)]
        elif key is None:
            cells = [f"{row['p50_ms']} / {row['p95_ms']} / {row['p99_ms']} ms" if row else "—" for row in (this, ref)]
        else:
            cells = [value(this, key, unit), value(ref, key, unit)]
        lines.append(f"| {title} | {cells[0]} | {cells[1]} |")
    scaled = comparison.get("cpu_ms_per_turn_at_reference_speed")
    lines.append("")
    if scaled is not None:
        lines.append(f"At the full run's calibration speed this probe's CPU-ms per turn would be {scaled}.")
    if calibration.get("cpu_share") is not None and calibration["cpu_share"] < 0.9:
        lines.append(f"The calibration had {calibration['cpu_share']:.0%} of a core while it ran: the machine was "
                     "busy, read the figures with that in mind.")
    failures = result["failures"]["by_step_and_reason"][:5]
    if failures:
        lines.append("Most frequent failures: " + "; ".join(f"{f['count']}× `{f['step']}`: {f['reason']}"
                                                            for f in failures))
    lines.append(f"A probe measures {this['window_s']} s instead of the benchmark's 300: p99 and CPU-ms per turn "
                 "are noisier. It confirms a change quickly; `make bench` is what the README reports.")
    return "\n".join(lines) + "\n"
