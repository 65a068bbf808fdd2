"""Bringing the layout under test up and down: the production layout, or the single-process stack.

Standard library only. `up` returns the layout's services (services.json's shape: URLs,
the commerce database, root process ids per service), which the load run and the sampler use.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Union

from bench.common import RASA_PYTHON, ROOT, child_env, log


class ProductionLayout:
    """scripts/production.py up/down, with the benchmark's own state folder, ports and databases."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.state = args.work / "production"
        self.script = ROOT / "scripts/production.py"
        if not self.script.exists():
            raise SystemExit("scripts/production.py is missing: use --layout stack (BENCH_LAYOUT=stack)")
        help_text = subprocess.run([str(RASA_PYTHON), str(self.script), "--help"], cwd=ROOT, capture_output=True,
                                   text=True).stdout
        self.options = help_text
        self.db_prefix = "shop_bench"
        self.extra_env: Dict[str, str] = {}  # e.g. the soak's TRACKER_TTL_SECONDS
        self.command = ""

    def _common(self) -> List[str]:
        return ["--state", str(self.state)]

    def up(self, model: Path) -> Dict[str, Any]:
        self.down(quiet=True)
        # a fresh Redis (trackers, locks) and fresh databases, so every config starts alike
        shutil.rmtree(self.state / "redis", ignore_errors=True)
        extra: List[str] = []
        if "--first-service-port" in self.options:
            extra += ["--first-service-port", str(self.args.port + 10)]
        if "--redis-port" in self.options:
            extra += ["--redis-port", str(self.args.port + 1091)]
        if "--db-prefix" in self.options:
            extra += ["--db-prefix", self.db_prefix]
            for suffix in ("commerce", "ledger", "events"):
                subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres",
                                f"{self.db_prefix}_{suffix}"], capture_output=True)
        command = [str(RASA_PYTHON), str(self.script), "up", *self._common(),
                   "--rasa-replicas", str(self.args.rasa_replicas), "--action-replicas", str(self.args.action_replicas),
                   "--model", str(model), "--port", str(self.args.port), "--endpoints", self.args.endpoints, *extra]
        self.command = " ".join(shlex.quote(c) for c in command)
        log(f"layout up: {self.command}")
        result = subprocess.run(command, cwd=ROOT, env=child_env(**self.extra_env), timeout=900)
        if result.returncode != 0:
            self.down(quiet=True)
            raise SystemExit(f"production layout did not come up (exit {result.returncode}); logs in {self.state}")
        return json.loads((self.state / "services.json").read_text())

    def down(self, quiet: bool = False) -> None:
        if not (self.state / "services.json").exists():
            return
        subprocess.run([str(RASA_PYTHON), str(self.script), "down", *self._common()], cwd=ROOT, env=child_env(),
                       timeout=300, capture_output=quiet)


class StackLayout:
    """The single-process stack (scripts/stack.py), for development and smoke runs."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        port = args.port
        self.env = child_env(RASA_PORT=str(port), ACTION_SERVER_PORT=str(port + 50), COMMERCE_API_PORT=str(port + 3000),
                             WEBCHAT_PORT=str(port + 3080))
        self.command = ""

    def up(self, model: Path) -> Dict[str, Any]:
        env = dict(self.env, RASA_MODEL=str(model))
        command = [str(RASA_PYTHON), "scripts/stack.py", "up"]
        self.command = f"RASA_MODEL={model} RASA_PORT={env['RASA_PORT']} " + " ".join(command)
        log(f"layout up: {self.command}")
        result = subprocess.run(command, cwd=ROOT, env=env, timeout=900, stdout=subprocess.DEVNULL)
        if result.returncode != 0:
            raise SystemExit("scripts/stack.py up failed (see .data/logs)")
        pids = {p.stem: [int(p.read_text())] for p in (ROOT / ".data/pids").glob("*.pid")}
        return {
            "balancer_url": f"http://127.0.0.1:{env['RASA_PORT']}",
            "commerce_api_url": f"http://127.0.0.1:{env['COMMERCE_API_PORT']}",
            "commerce_api_token": env.get("COMMERCE_API_TOKEN", "demo-commerce-token"),
            "commerce_database_url": env.get("COMMERCE_DATABASE_URL", f"sqlite:///{ROOT / '.data/commerce.db'}"),
            "processes": pids,
        }

    def down(self, quiet: bool = False) -> None:
        subprocess.run([str(RASA_PYTHON), "scripts/stack.py", "down"], cwd=ROOT, env=self.env, capture_output=quiet)


Layout = Union[ProductionLayout, StackLayout]


def make_layout(args: argparse.Namespace) -> Layout:
    return ProductionLayout(args) if args.layout == "production" else StackLayout(args)


def service_processes(services: Dict[str, Any]) -> Dict[str, List[int]]:
    """Root pids per service: services.json's "processes", plus top-level pid lists (e.g. "postgresql")."""
    processes = {name: list(pids) for name, pids in (services.get("processes") or {}).items()}
    for name, value in services.items():
        if name not in processes and isinstance(value, list) and value and all(isinstance(v, int) for v in value) \
                and not name.endswith("_ports"):
            processes[name] = list(value)
    return processes


def flush_redis(services: Dict[str, Any]) -> None:
    """Empties the layout's own Redis between runs (never the system Redis on 6379)."""
    port = services.get("redis_port")
    if port and int(port) != 6379 and shutil.which("redis-cli"):
        subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True, timeout=30)
