"""Where and on what a run was measured: the machine, its CPU speed at that moment, the commit.

Standard library only (psutil, when present, adds physical cores and memory). The CPU
calibration is a fixed single-thread pure-Python workload (CALIBRATION_ADDITIONS integer
additions in a loop) timed in the same run as the load, just before it: on a shared or
throttled machine the same code runs slower, and the calibration says by how much, so
CPU-ms per turn of runs on different days or machines can be compared (scaled by the
ratio of their calibration times). Its CPU time against its wall time says whether the
process had a core to itself while it ran.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

CALIBRATION_ADDITIONS = 10_000_000
CALIBRATION_REPEATS = 3


def _add(count: int) -> int:
    total = 0
    for i in range(count):
        total += i
    return total


def cpu_calibration(additions: int = CALIBRATION_ADDITIONS, repeats: int = CALIBRATION_REPEATS) -> Dict[str, Any]:
    """Times `additions` additions in a Python loop `repeats` times; the best wall time is the figure."""
    wall, cpu = [], []
    for _ in range(repeats):
        began_wall, began_cpu = time.perf_counter(), time.process_time()
        _add(additions)
        wall.append(time.perf_counter() - began_wall)
        cpu.append(time.process_time() - began_cpu)
    best = min(wall)
    return {
        "workload": f"{additions:,} integer additions in a pure-Python loop, one thread",
        "additions": additions,
        "repeats": repeats,
        "best_s": round(best, 4),
        "median_s": round(statistics.median(wall), 4),
        "wall_s": [round(w, 4) for w in wall],
        "cpu_s": [round(c, 4) for c in cpu],
        # below 1: the process waited for a core while it was timed (the machine was busy)
        "cpu_share": round(sum(cpu) / sum(wall), 3) if sum(wall) else None,
        "million_additions_per_s": round(additions / best / 1e6, 2) if best else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def machine_info() -> Dict[str, Any]:
    info: Dict[str, Any] = {"cores": os.cpu_count(), "cpu_model": _cpu_model(), "platform": platform.platform(),
                            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        import psutil  # .venv/bench
    except ImportError:
        return info
    info.update(physical_cores=psutil.cpu_count(logical=False),
                memory_gb=round(psutil.virtual_memory().total / 2**30, 1))
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def git_info(root: Path) -> Dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
