"""Two main-run results files side by side: a change measured before and after, in one session.

    .venv/bench/bin/python -m bench.compare BEFORE.json AFTER.json --title "..." --out bench/results/NAME.md

Each file is what `bench.run run` (or `all`) wrote for one config, possibly by another checkout of
this repository (the before commit). The table gives the steady-state figures, CPU-ms per turn in
all and per service, and the ratio after ÷ before; the command lines that made both files are
quoted from the files themselves.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench.report import main_run_row

FIGURES = (
    ("concurrent conversations", "users"),
    ("turns (failed)", None),
    ("successful turns/s (steady state)", "turns_per_s"),
    ("p50 turn latency, ms", "p50_ms"),
    ("p95 turn latency, ms", "p95_ms"),
    ("p99 turn latency, ms", "p99_ms"),
    ("CPU-ms per turn, all services", "cpu_ms_per_turn"),
)


def service_cpu(result: Dict[str, Any]) -> Dict[str, float]:
    return {name: figures["cpu_ms_per_turn"] for name, figures in result["resources"]["services"].items()
            if figures.get("cpu_ms_per_turn") is not None}


def ratio(after: Optional[float], before: Optional[float]) -> str:
    return f"{after / before:.2f}×" if isinstance(after, (int, float)) and before else "—"


def markdown(title: str, before: Dict[str, Any], after: Dict[str, Any]) -> str:
    rows = [main_run_row(before), main_run_row(after)]
    heads = [f"{label} ({str(r['git']['commit'])[:7]}{', dirty' if r['git'].get('dirty') else ''})"
             for label, r in zip(("before", "after"), rows, strict=True)]
    lines: List[str] = [
        f"# {title}", "",
        f"Before: {before['started_at']}; after: {after['started_at']}; "
        f"{after['machine']['cores']} cores ({after['machine']['cpu_model']}).", "",
        f"| | {heads[0]} | {heads[1]} | after ÷ before |",
        "|---|---|---|---|",
    ]
    for name, key in FIGURES:
        if key is None:
            cells = [f"{r['turns']} ({r['failed_turns']})" for r in rows]
            lines.append(f"| {name} | {cells[0]} | {cells[1]} | |")
            continue
        lines.append(f"| {name} | {rows[0][key]} | {rows[1][key]} | {ratio(rows[1][key], rows[0][key])} |")
    cpu = [service_cpu(before), service_cpu(after)]
    for service in sorted(set(cpu[0]) | set(cpu[1])):
        b, a = cpu[0].get(service), cpu[1].get(service)
        lines.append(f"| CPU-ms per turn, {service} | {b if b is not None else '—'} | "
                     f"{a if a is not None else '—'} | {ratio(a, b)} |")
    lines += ["", "Commands (from the files):", "",
              f"- before: `{before['command']}` with load `{json.dumps(before['load'])}`",
              f"- after: `{after['command']}` with load `{json.dumps(after['load'])}`", ""]
    for label, r in (("before", rows[0]), ("after", rows[1])):
        failures = r.get("top_failures") or []
        if failures:
            lines.append(f"Most frequent failures {label}: " + "; ".join(
                f"{f['count']}× `{f['step']}`: {f['reason']}" for f in failures[:3]))
            lines.append("")
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--title", default="Before and after")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    text = markdown(args.title, json.loads(args.before.read_text()), json.loads(args.after.read_text()))
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
