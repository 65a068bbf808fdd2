"""The plot of one benchmark run: latency percentiles, turns/s, CPU and RSS per service over time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the non-interactive backend


def plot_run(path: Path, title: str, series: Sequence[Dict[str, object]], samples: Sequence[Dict[str, object]],
             t0: float, markers: Sequence[Tuple[float, str]] = (), users: Sequence[Tuple[float, int]] = (),
             users_in_steps: bool = False) -> None:
    """`series`: bench.stats.series rows (t relative to t0); `samples`: bench.sampler samples (epoch t).

    `users`: (seconds, users) points, joined by straight lines (a ramp) or, with `users_in_steps`, as steps.
    """
    fig, axes = plt.subplots(4, 1, figsize=(11, 13), sharex=True)
    t = [row["t"] for row in series]

    ax = axes[0]
    for key, style in (("p50", "-"), ("p95", "-"), ("p99", "--")):
        ax.plot(t, [row[key] if row[key] is not None else float("nan") for row in series], style, label=key)
    ax.set_ylabel("turn latency (ms)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left")
    ax.set_title(title)

    ax = axes[1]
    ax.plot(t, [row["ok_per_s"] for row in series], label="successful turns/s")
    ax.plot(t, [row["failed_per_s"] for row in series], label="failed turns/s", color="tab:red")
    ax.set_ylabel("turns/s")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    if users:
        twin = ax.twinx()
        if users_in_steps:
            twin.step([u[0] for u in users], [u[1] for u in users], where="post", color="grey", alpha=0.5)
        else:
            twin.plot([u[0] for u in users], [u[1] for u in users], color="grey", alpha=0.5)
        twin.set_ylabel("users (grey)")

    names = sorted({name for s in samples for name in s["services"]})
    ts = [s["t"] - t0 for s in samples]
    ax = axes[2]
    for name in names:
        ax.plot(ts, [s["services"].get(name, {}).get("cpu_percent", float("nan")) for s in samples], label=name)
    cores = float(os.cpu_count() or 1)
    ax.plot(ts, [s["machine_cpu_percent"] * cores for s in samples], color="black", alpha=0.4,
            label="whole machine")
    ax.set_ylabel("CPU % (100 = one core)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small", ncol=2)

    ax = axes[3]
    for name in names:
        ax.plot(ts, [s["services"].get(name, {}).get("rss_mb", float("nan")) for s in samples], label=name)
    ax.set_ylabel("RSS (MB)")
    ax.set_xlabel("seconds since start")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small", ncol=2)

    for ax in axes:
        for when, _label in markers:
            ax.axvline(when, color="grey", linestyle=":", linewidth=1)
    for when, label in markers:
        axes[0].annotate(label, (when, 1), xycoords=("data", "axes fraction"), fontsize="small",
                         rotation=90, va="top", ha="right", color="grey")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_steps(path: Path, title: str, steps: List[Dict[str, object]]) -> None:
    """Saturation curve of a stepped run: successful turns/s and p95/p99 against users."""
    fig, ax = plt.subplots(figsize=(8, 5))
    users = [s["users"] for s in steps]
    ax.plot(users, [s["turns_per_s"] or 0 for s in steps], "o-", label="successful turns/s")
    ax.set_xlabel("concurrent users (conversations)")
    ax.set_ylabel("turns/s")
    ax.grid(True, alpha=0.3)
    twin = ax.twinx()
    for key, style in (("p95", "s--"), ("p99", "^:")):
        twin.plot(users, [s["latency_ms"][key] or float("nan") for s in steps], style, color="tab:red", label=key)
    twin.set_ylabel("turn latency (ms)")
    twin.set_yscale("log")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
