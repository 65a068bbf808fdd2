"""Exact latency statistics from every recorded turn (not Locust's bucketed percentiles).

Standard library only. A sample is one turn: when it finished (epoch seconds), its
name ("scenario/step"), its latency in milliseconds, and the failure reason (empty
for a success).
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

PERCENTILES = (50, 95, 99)
# failure reasons (bench/locustfile.py) of turns that got no HTTP 200 reply at all
NOT_ANSWERED = ("no response", "HTTP ")


@dataclass(frozen=True)
class Sample:
    end: float  # epoch seconds when the reply arrived (or the request failed)
    name: str  # "scenario/step"
    latency_ms: float
    failure: str = ""  # empty: the turn succeeded

    @property
    def ok(self) -> bool:
        return not self.failure

    @property
    def answered(self) -> bool:
        """The stack replied in time (rightly or wrongly): what its throughput is made of."""
        return not self.failure.startswith(NOT_ANSWERED)

    @property
    def start(self) -> float:
        return self.end - self.latency_ms / 1000.0

    @property
    def scenario(self) -> str:
        return self.name.split("/", 1)[0]


def percentile(values: Sequence[float], p: float) -> Optional[float]:
    """Nearest-rank percentile of `values` (already sorted or not); None for no values.

    The smallest value such that at least p% of the values are ≤ it: p99 of 100 values is
    the 99th smallest, p100 the maximum, p0 the minimum.
    """
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} outside 0..100")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(values: Sequence[float]) -> Dict[str, Optional[float]]:
    ordered = sorted(values)
    summary: Dict[str, Optional[float]] = {f"p{p}": _round(percentile(ordered, p)) for p in PERCENTILES}
    summary["max"] = _round(ordered[-1]) if ordered else None
    summary["mean"] = _round(sum(ordered) / len(ordered)) if ordered else None
    return summary


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


def summarize(samples: Sequence[Sample], seconds: float) -> Dict[str, object]:
    """Counts, throughput and latency of `samples`, which span `seconds` of wall time.

    Latency percentiles are over every turn, failed ones included (a timed-out turn
    counts with the time the customer waited); turns/s counts successful turns only,
    answered/s every turn the stack replied to in time, right or wrong.
    """
    ok = [s for s in samples if s.ok]
    answered = sum(1 for s in samples if s.answered)
    return {
        "turns": len(samples),
        "ok": len(ok),
        "failed": len(samples) - len(ok),
        "seconds": round(seconds, 1),
        "turns_per_s": round(len(ok) / seconds, 2) if seconds > 0 else None,
        "answered_per_s": round(answered / seconds, 2) if seconds > 0 else None,
        "latency_ms": latency_summary([s.latency_ms for s in samples]),
    }


def window(samples: Iterable[Sample], start: float, end: float) -> List[Sample]:
    """The turns that ended (reply, error or timeout) in [start, end) (epoch seconds).

    By completion, so a window's count is its throughput, and turns cut off when
    Locust stops (never answered, never recorded) cannot thin out the last seconds.
    """
    return [s for s in samples if start <= s.end < end]


def by_name(samples: Iterable[Sample]) -> Dict[str, Dict[str, object]]:
    groups: Dict[str, List[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.name].append(s)
    return {
        name: {"turns": len(group), "failed": sum(1 for s in group if not s.ok),
               "latency_ms": latency_summary([s.latency_ms for s in group])}
        for name, group in sorted(groups.items())
    }


def by_scenario(samples: Iterable[Sample]) -> Dict[str, Dict[str, object]]:
    groups: Dict[str, List[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.scenario].append(s)
    return {
        name: {"turns": len(group), "failed": sum(1 for s in group if not s.ok),
               "latency_ms": latency_summary([s.latency_ms for s in group])}
        for name, group in sorted(groups.items())
    }


def failures(samples: Iterable[Sample], examples: int = 50) -> Dict[str, object]:
    """Failed turns grouped by step and reason (order numbers masked, reasons shortened)."""
    counts: Counter = Counter()
    for s in samples:
        if not s.ok:
            counts[(s.name, _reason_kind(s.failure))] += 1
    return {
        "total": sum(counts.values()),
        "by_step_and_reason": [
            {"step": step, "reason": reason, "count": n} for (step, reason), n in counts.most_common(examples)
        ],
    }


def _reason_kind(reason: str) -> str:
    """A failure reason without what differs between sessions (order numbers, return ids), shortened."""
    reason = re.sub(r"RMA-[A-Z0-9]+", "RMA-…", reason)
    reason = re.sub(r"\d{4,}", "N", reason)
    return reason[:140]


def series(samples: Sequence[Sample], start: float, end: float, bucket: float = 5.0) -> List[Dict[str, object]]:
    """Per `bucket` seconds: successful and failed turns/s and p50/p95/p99 of the turns that ended then."""
    if end <= start:
        return []
    n = int(math.ceil((end - start) / bucket))
    buckets: List[List[Sample]] = [[] for _ in range(n)]
    for s in samples:
        i = int((s.end - start) // bucket)
        if 0 <= i < n:
            buckets[i].append(s)
    rows = []
    for i, group in enumerate(buckets):
        latencies = sorted(s.latency_ms for s in group)
        ok = sum(1 for s in group if s.ok)
        rows.append({
            "t": round(i * bucket, 1),
            "ok_per_s": round(ok / bucket, 2),
            "failed_per_s": round((len(group) - ok) / bucket, 2),
            **{f"p{p}": _round(percentile(latencies, p)) for p in PERCENTILES},
        })
    return rows


FIELDS = ("end", "name", "latency_ms", "failure")


def write_samples(path: Path, samples: Iterable[Sample]) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for s in samples:
            writer.writerow((f"{s.end:.6f}", s.name, f"{s.latency_ms:.3f}", s.failure))


def read_samples(path: Path) -> List[Sample]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as source:
        rows = csv.reader(source)
        header = next(rows, None)
        if header is None:
            return []
        if tuple(header) != FIELDS:
            raise ValueError(f"{path}: unexpected header {header}")
        return [Sample(float(end), name, float(latency), failure) for end, name, latency, failure in rows]
