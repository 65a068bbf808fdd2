"""The production layout on one machine: replicas behind nginx, sharing Redis and PostgreSQL.

    python scripts/production.py up   [--rasa-replicas 2] [--action-replicas 2] [--port 5100] ...
    python scripts/production.py down [--state .data/production]
    python scripts/production.py stop|kill|start SERVICE INDEX   (fault drills, e.g. `kill rasa 0`)

`up` migrates the ledger and the commerce database (as `make migrate`), then starts,
on 127.0.0.1: a Redis server of the layout's own (append-only file in
the state folder, so a restart keeps every conversation), the commerce API on
PostgreSQL, N action servers and M Rasa replicas (deploy/endpoints.production.yml:
Redis tracker and lock stores, PostgreSQL ledger and event log), and nginx
balancing the Rasa replicas on --port and the action servers on --port + 1. It
waits until every service answers, then writes <state>/services.json (URLs and
process ids, read by `make bench` and tests/production). docker-compose.yml is the
same layout in containers. Standard library only; PostgreSQL must be running
(127.0.0.1:5432, see docs/architecture.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, healthy, load_env, migrate  # noqa: E402 - standard-library script beside stack.py

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
HEALTH_TIMEOUT_SECONDS = 240

NGINX_CONF = """\
{user}worker_processes 1;
pid {state}/nginx.pid;
error_log {state}/logs/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {state}/nginx/body;
  proxy_temp_path {state}/nginx/proxy;
  fastcgi_temp_path {state}/nginx/fastcgi;
  uwsgi_temp_path {state}/nginx/uwsgi;
  scgi_temp_path {state}/nginx/scgi;
  # keep-alive to the upstreams unless the client asks for a WebSocket
  map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}

  # Any replica can serve any conversation: history and locks are in Redis. A
  # replica that refuses connections is skipped (the request was never sent).
  upstream rasa {{
    least_conn;
{rasa_servers}
    keepalive 64;
    # idle kept connections go before Sanic closes them (5 s), never while a request is sent
    keepalive_timeout 4s;
  }}
  upstream actions {{
    least_conn;
{action_servers}
    keepalive 64;
    keepalive_timeout 4s;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 64k;
    client_body_buffer_size 64k;
    proxy_http_version 1.1;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Host $host;
    proxy_read_timeout 120s;
    proxy_next_upstream error timeout http_502;
    # which replica answered (loopback layout only: tests and `make bench` read it)
    add_header X-Upstream $upstream_addr always;
    location / {{ proxy_pass http://rasa; }}
    # Socket.IO long-polling needs every request of a session on one replica
    location /socket.io/ {{ proxy_pass http://rasa_sticky; }}
  }}
  upstream rasa_sticky {{
    hash $remote_addr$http_user_agent consistent;
{rasa_servers}
  }}
  server {{
    listen 127.0.0.1:{actions_port};
    client_max_body_size 1m;
    # Rasa sends the whole conversation with every action call: keep the body in memory
    # (the 16k default wrote most of them to a temporary file first).
    client_body_buffer_size 1m;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_read_timeout 120s;
    # an action call is never repeated on another server once sent
    proxy_next_upstream error;
    location / {{ proxy_pass http://actions; }}
  }}
}}
"""


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "stop", "kill", "start"])
    parser.add_argument("service", nargs="?", choices=["redis", "commerce-api", "action-server", "rasa", "nginx"],
                        help="stop (SIGTERM), kill (SIGKILL) or start again one process of the running layout")
    parser.add_argument("index", nargs="?", type=int, default=0)
    parser.add_argument("--state", default=str(ROOT / ".data/production"), help="folder for logs, pids, Redis data")
    parser.add_argument("--rasa-replicas", type=int, default=2)
    parser.add_argument("--action-replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=5100, help="the balancer (Rasa); the action balancer is +1")
    parser.add_argument("--first-service-port", type=int, default=5110,
                        help="Rasa replicas, action servers and the API take consecutive ports from here")
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--model", default="models/assistant.tar.gz")
    parser.add_argument("--endpoints", default="deploy/endpoints.production.yml")
    parser.add_argument("--db-prefix", default="shop_production",
                        help="PostgreSQL databases <prefix>_commerce, _ledger, _events")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432",
                        help="server URL without database")
    return parser.parse_args(argv)


def create_database(server_url: str, name: str) -> None:
    result = subprocess.run(["createdb", "--maintenance-db", f"{server_url}/postgres", name],
                            capture_output=True, text=True)
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise SystemExit(f"createdb {name} failed: {result.stderr.strip()}")


def layout(args: argparse.Namespace) -> Dict[str, object]:
    """Ports, URLs and databases of every service."""
    port = args.first_service_port
    rasa_ports = list(range(port, port + args.rasa_replicas))
    action_ports = list(range(port + args.rasa_replicas, port + args.rasa_replicas + args.action_replicas))
    api_port = port + args.rasa_replicas + args.action_replicas
    return {
        "balancer_url": f"http://127.0.0.1:{args.port}",
        "action_balancer_url": f"http://127.0.0.1:{args.port + 1}",
        "rasa_ports": rasa_ports,
        "action_ports": action_ports,
        "commerce_api_url": f"http://127.0.0.1:{api_port}",
        "commerce_api_port": api_port,
        "redis_port": args.redis_port,
        "commerce_database_url": f"{args.postgres}/{args.db_prefix}_commerce",
        "ledger_database_url": f"{args.postgres}/{args.db_prefix}_ledger",
        "events_database": f"{args.db_prefix}_events",
    }


def service_env(args: argparse.Namespace, plan: Dict[str, object]) -> Dict[str, str]:
    env = load_env()
    env.update({
        "ACTION_SERVER_URL": f"{plan['action_balancer_url']}/webhook",
        "ACTION_LEDGER_URL": str(plan["ledger_database_url"]).replace("postgresql://", "postgresql+psycopg2://"),
        "COMMERCE_API_URL": str(plan["commerce_api_url"]),
        "COMMERCE_DATABASE_URL": str(plan["commerce_database_url"]).replace("postgresql://",
                                                                             "postgresql+psycopg://"),
        "COMMERCE_SEED_ON_START": env.get("COMMERCE_SEED_ON_START", "if_empty"),
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(plan["redis_port"]),
        "REDIS_PASSWORD": env.get("REDIS_PASSWORD", ""),
        "TRACKER_TTL_SECONDS": env.get("TRACKER_TTL_SECONDS", "3600"),
        "LOCK_LIFETIME_SECONDS": env.get("LOCK_LIFETIME_SECONDS", "60"),
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "5432",
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": env.get("POSTGRES_PASSWORD", ""),
        "EVENT_BROKER_DB": str(plan["events_database"]),
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # one TensorFlow thread per replica: replicas, not threads, use the cores
        "TF_INTRA_OP_PARALLELISM_THREADS": env.get("TF_INTRA_OP_PARALLELISM_THREADS", "1"),
        "TF_INTER_OP_PARALLELISM_THREADS": env.get("TF_INTER_OP_PARALLELISM_THREADS", "1"),
        "LOG_LEVEL_LIBRARIES": "ERROR",
    })
    return env


def commands(args: argparse.Namespace, plan: Dict[str, object], state: Path) -> Dict[str, List[List[str]]]:
    rasa_bin = ROOT / ".venv/rasa/bin"
    redis_dir = state / "redis"
    return {
        "redis": [[REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(plan["redis_port"]), "--dir", str(redis_dir),
                   "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "yes"]],
        "commerce-api": [[str(ROOT / ".venv/api/bin/python"), "-m", "commerce_api"]],
        "action-server": [[str(rasa_bin / "python"), "-m", "actions.server"] for _ in plan["action_ports"]],
        # Rasa's CLI after the guarded patches (shop_server.patches)
        "rasa": [[str(rasa_bin / "python"), "-m", "shop_server", "run", "--model", args.model, "--port", str(p),
                  "--interface", "127.0.0.1", "--credentials", "credentials.yml", "--endpoints", args.endpoints]
                 for p in plan["rasa_ports"]],
        "nginx": [[NGINX, "-p", str(state), "-c", str(state / "nginx.conf"), "-g", "daemon off;"]],
    }


def health_urls(plan: Dict[str, object]) -> Dict[str, List[str]]:
    return {
        "redis": [],
        "commerce-api": [f"{plan['commerce_api_url']}/health"],
        "action-server": [f"http://127.0.0.1:{p}/health" for p in plan["action_ports"]],
        "rasa": [f"http://127.0.0.1:{p}/" for p in plan["rasa_ports"]],
        "nginx": [f"{plan['balancer_url']}/", f"{plan['action_balancer_url']}/health"],
    }


def write_nginx_conf(plan: Dict[str, object], state: Path, port: int) -> None:
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (state / "nginx" / folder).mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in plan["rasa_ports"])
    actions = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in plan["action_ports"])
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (state / "nginx.conf").write_text(NGINX_CONF.format(
        user=user, state=state, port=port, actions_port=port + 1, rasa_servers=servers, action_servers=actions))


def start_one(name: str, index: int, command: List[str], env: Dict[str, str], state: Path,
              plan: Dict[str, object]) -> subprocess.Popen:
    env = dict(env)
    if name == "action-server":
        env["ACTION_SERVER_PORT"] = str(plan["action_ports"][index])
    if name == "commerce-api":
        env["COMMERCE_API_PORT"] = str(plan["commerce_api_port"])
    log = open(state / "logs" / f"{name}-{index}.log", "ab")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(urls: List[str], procs: List[subprocess.Popen], what: str) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    pending = list(urls)
    while pending:
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"{what} exited (see the logs in the state folder)")
        pending = [url for url in pending if not healthy(url)]
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"{what} did not answer {pending} in time")
        time.sleep(0.5)


def wait_for_redis(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("Redis did not start (see the logs in the state folder)")
        time.sleep(0.2)


def command_up(args: argparse.Namespace) -> int:
    state = Path(args.state).resolve()
    command_down(args, quiet=True)
    (state / "logs").mkdir(parents=True, exist_ok=True)
    (state / "redis").mkdir(parents=True, exist_ok=True)
    plan = layout(args)
    for suffix in ("commerce", "ledger", "events"):
        create_database(args.postgres, f"{args.db_prefix}_{suffix}")
    write_nginx_conf(plan, state, args.port)
    env = service_env(args, plan)
    # the ledger and the commerce database at their head revisions before anything serves
    if not migrate(env):
        raise SystemExit("migrating the databases failed (see above)")
    started: Dict[str, List[subprocess.Popen]] = {}
    all_commands = commands(args, plan, state)
    urls = health_urls(plan)
    # in dependency order: stores, the API, actions, Rasa, then the balancer in front
    for name in ("redis", "commerce-api", "action-server", "rasa", "nginx"):
        # The first replica starts alone and the others once it answers: Rasa's SQL event broker
        # still creates its tables on first use (concurrent CREATE TABLEs collide in PostgreSQL's
        # catalog). The ledger and the commerce database are migrated above, under a lock anyway.
        first, *others = all_commands[name]
        started[name] = [start_one(name, 0, first, env, state, plan)]
        save_services(state, plan, started, env, args)
        if name == "redis":
            wait_for_redis(int(plan["redis_port"]), started[name][0])
        else:
            wait_for(urls[name][:1] if others else urls[name], started[name], name)
        started[name] += [start_one(name, i, cmd, env, state, plan) for i, cmd in enumerate(others, start=1)]
        save_services(state, plan, started, env, args)
    wait_for(urls["action-server"] + urls["rasa"], started["action-server"] + started["rasa"], "a replica")
    print(f"production layout up: {plan['balancer_url']} (state: {state})")
    return 0


def save_services(state: Path, plan: Dict[str, object], started: Dict[str, List[subprocess.Popen]],
                  env: Dict[str, str], args: argparse.Namespace) -> None:
    services = dict(plan)
    services["commerce_api_token"] = env["COMMERCE_API_TOKEN"]
    services["action_server_token_file"] = str(ROOT / ".data/action-server.token")
    services["processes"] = {name: [p.pid for p in procs] for name, procs in started.items()}
    services["args"] = {k: v for k, v in vars(args).items() if k not in ("command", "service", "index")}
    services["postgresql"] = postgres_pids()
    (state / "services.json").write_text(json.dumps(services, indent=2))


def postgres_pids() -> List[int]:
    """The PostgreSQL server's main process (shared with everything else on the machine)."""
    found = subprocess.run(["pgrep", "-o", "-x", "postgres"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def command_down(args: argparse.Namespace, quiet: bool = False) -> int:
    path = Path(args.state).resolve() / "services.json"
    if not path.exists():
        return 0
    processes = json.loads(path.read_text()).get("processes", {})
    # the balancer first, the stores last
    for name in ("nginx", "rasa", "action-server", "commerce-api", "redis"):
        for pid in processes.get(name, []):
            try:
                os.killpg(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                continue
            if not exited(pid, within_seconds=10):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    path.unlink()
    if not quiet:
        print("production layout stopped")
    return 0


def exited(pid: int, within_seconds: float) -> bool:
    """Waits for a process to end; False if it is still running after `within_seconds`."""
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def signal_one(args: argparse.Namespace, sig: int) -> int:
    """Stops one process of the running layout (its log says what it did on the way out)."""
    state = Path(args.state).resolve()
    services = json.loads((state / "services.json").read_text())
    pid = services["processes"][args.service][args.index]
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return 0
    exited(pid, within_seconds=30)
    print(f"{args.service} {args.index} (pid {pid}) stopped")
    return 0


def command_start(args: argparse.Namespace) -> int:
    """Starts one process of the running layout again, with the settings `up` used."""
    state = Path(args.state).resolve()
    path = state / "services.json"
    services = json.loads(path.read_text())
    saved = argparse.Namespace(**services["args"])
    plan = layout(saved)
    env = service_env(saved, plan)
    proc = start_one(args.service, args.index, commands(saved, plan, state)[args.service][args.index], env, state, plan)
    if args.service == "redis":
        wait_for_redis(int(plan["redis_port"]), proc)
    else:
        wait_for(health_urls(plan)[args.service][args.index:args.index + 1], [proc], args.service)
    services["processes"][args.service][args.index] = proc.pid
    path.write_text(json.dumps(services, indent=2))
    print(f"{args.service} {args.index} started (pid {proc.pid})")
    return 0


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    if args.command in ("stop", "kill", "start") and not args.service:
        raise SystemExit(f"usage: production.py {args.command} SERVICE INDEX")
    if args.command == "stop":
        return signal_one(args, signal.SIGTERM)
    if args.command == "kill":
        return signal_one(args, signal.SIGKILL)
    if args.command == "start":
        return command_start(args)
    return command_up(args) if args.command == "up" else command_down(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
