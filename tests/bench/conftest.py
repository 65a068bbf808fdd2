"""Fixtures of the benchmark's tests: a seeded commerce database, the runner's options, one recorded run."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
import requests

from bench import stats
from bench.load import Recorded
from bench.options import parse_args
from tests import processes

SEED_COUNTS = {"track": 5, "return": 6, "cancel": 4, "address": 3, "refund": 2}


def seed_database(folder: Path) -> Tuple[str, Dict[str, Any]]:
    """bench/seed.py run the way the runner runs it, into a fresh SQLite database: (url, pool)."""
    database_url = f"sqlite:///{folder / 'commerce.db'}"
    pool_path = folder / "pool.json"
    subprocess.run(
        [str(processes.API_PYTHON), "-m", "bench.seed", "--database-url", database_url, "--pool", str(pool_path),
         "--counts", ",".join(f"{k}={v}" for k, v in SEED_COUNTS.items())],
        cwd=processes.ROOT, env=processes.base_env(), check=True, capture_output=True,
    )
    return database_url, json.loads(pool_path.read_text())


@contextmanager
def commerce_api(database_url: str, folder: Path) -> Iterator[Tuple[str, requests.Session]]:
    """The real commerce API on `database_url` (never reseeded): (base URL, authorized session)."""
    port = processes.free_port()
    env = processes.base_env(COMMERCE_API_PORT=str(port), COMMERCE_DATABASE_URL=database_url,
                             COMMERCE_API_TOKEN=processes.DEMO_TOKEN, COMMERCE_SEED_ON_START="never")
    url = f"http://127.0.0.1:{port}"
    with processes.running([str(processes.API_PYTHON), "-m", "commerce_api"], env, f"{url}/health",
                           folder / "commerce-api.log"), requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {processes.DEMO_TOKEN}"
        yield url, session


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory):
    """A seeded database the tests only read: (url, pool, folder)."""
    folder = tmp_path_factory.mktemp("bench-seed")
    database_url, pool = seed_database(folder)
    return database_url, pool, folder


@pytest.fixture(scope="module")
def api(seeded):
    """The commerce API on the read-only seeded database."""
    database_url, _, folder = seeded
    with commerce_api(database_url, folder) as served:
        yield served


@pytest.fixture
def bench_args(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The runner's options with every BENCH_* knob at its default, results and work under tmp_path."""
    for name in [n for n in os.environ if n.startswith("BENCH_")]:
        monkeypatch.delenv(name)

    def parse(*argv: str):
        return parse_args([*argv, "--results", str(tmp_path / "results"), "--work", str(tmp_path / "work")])

    return parse


@pytest.fixture
def recorded() -> Recorded:
    """What a 200-second run at 10 users recorded: one successful turn a second, every tenth one failed."""
    t0 = 1_700_000_000.0
    samples = [stats.Sample(t0 + i + 0.5, "track/open" if i % 2 else "return/verify", 100.0 + i,
                            "" if i % 10 else "expected /x/, got: 'y'") for i in range(200)]
    resources = [{"t": t0 + i, "machine_cpu_percent": 40.0,
                  "services": {"rasa": {"rss_mb": 2400.0, "cpu_percent": 50.0, "cpu_s": 0.5, "processes": 2},
                               "load-generator (locust)": {"rss_mb": 80.0, "cpu_percent": 5.0, "cpu_s": 0.05,
                                                           "processes": 1}}}
                 for i in range(201)]
    meta = {"test_start": t0, "test_stop": t0 + 200.0, "spawning_complete": [{"t": t0 + 10.0, "users": 10}],
            "sessions": {"started": {"track": 60}, "completed": {"track": 40}, "failed": {"track": 20}},
            "pool_exhausted": {}}
    calibration = {"workload": "10,000,000 integer additions in a pure-Python loop, one thread",
                   "additions": 10_000_000, "repeats": 3, "best_s": 0.5, "cpu_share": 0.99}
    return Recorded(meta=meta, samples=samples, resource_samples=resources,
                    warmup={"conversations": 0, "failed": 0, "failures": [], "seconds": 0.0},
                    calibration=calibration, locust_command="locust …")
