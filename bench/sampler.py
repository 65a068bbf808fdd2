"""Measurement: samples RSS and CPU of every service of the layout once a second (psutil, children included).

A service is a list of root process ids (services.json's "processes"); each sample
sums the service's roots and all their descendants, found again at every sample so
workers started later are counted. CPU is measured from each process's cumulative
CPU time (user + system), so nothing is lost between samples; 100% = one core.
RSS is summed over the processes (pages shared between them are counted in each).
bench.analysis.resource_summary turns the samples into per-service figures.
"""

from __future__ import annotations

import threading
import time
from typing import Dict, List, Optional

import psutil


class Sampler(threading.Thread):
    def __init__(self, services: Dict[str, List[int]], interval: float = 1.0) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.services = {name: [int(p) for p in pids] for name, pids in services.items() if pids}
        self.interval = interval
        self.samples: List[Dict[str, object]] = []  # {"t", "machine_cpu", "services": {name: {rss, cpu}}}
        self._stop_event = threading.Event()
        self._cpu_seen: Dict[int, float] = {}  # pid -> cumulative cpu seconds at the previous sample
        self._procs: Dict[int, psutil.Process] = {}
        self.cpu_seconds: Dict[str, float] = {name: 0.0 for name in self.services}

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def _tree(self, root: int) -> List[psutil.Process]:
        try:
            proc = self._procs.get(root) or psutil.Process(root)
            self._procs[root] = proc
            return [proc, *proc.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return []

    def _measure(self, name: str) -> Dict[str, float]:
        rss = 0
        cpu = 0.0
        count = 0
        for root in self.services[name]:
            for proc in self._tree(root):
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        total = times.user + times.system
                        rss += proc.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                count += 1
                previous = self._cpu_seen.get(proc.pid)
                # a process seen for the first time counts from this sample on
                cpu += max(0.0, total - previous) if previous is not None else 0.0
                self._cpu_seen[proc.pid] = total
        self.cpu_seconds[name] += cpu
        return {"rss_mb": round(rss / 2**20, 1), "cpu_s": cpu, "processes": count}

    def sample_once(self, previous_t: Optional[float]) -> float:
        now = time.time()
        machine = psutil.cpu_percent(interval=None)  # since the previous call, all cores, 100 = whole machine
        services = {name: self._measure(name) for name in self.services}
        if previous_t is not None:
            elapsed = max(now - previous_t, 1e-6)
            self.samples.append({
                "t": now,
                "machine_cpu_percent": machine,
                "services": {
                    name: {"rss_mb": m["rss_mb"], "cpu_percent": round(100.0 * m["cpu_s"] / elapsed, 1),
                           "cpu_s": round(m["cpu_s"], 4), "processes": m["processes"]}
                    for name, m in services.items()
                },
            })
        return now

    def run(self) -> None:
        psutil.cpu_percent(interval=None)
        previous = self.sample_once(None)
        while not self._stop_event.wait(self.interval):
            previous = self.sample_once(previous)
        self.sample_once(previous)

