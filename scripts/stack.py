"""Starts, watches and stops the assistant's processes on embedded defaults.

    python scripts/stack.py run     foreground; Ctrl-C stops everything
    python scripts/stack.py up      background; returns once every health check answers
    python scripts/stack.py down    stops what `up` started
    python scripts/stack.py migrate the ledger and the commerce database to their head revisions
    python scripts/stack.py shell   `rasa shell` against the running action server
    python scripts/stack.py env     the stack's settings as `export` lines

Processes: the reference commerce API, the action server and the Rasa server.
`run` and `up` migrate both databases first (`migrate`, what `make migrate` runs).
Ports and secrets come from the environment (see .env.example), then from a
`.env` file if present, then from the defaults below. Standard library only, so
it runs before any virtual environment exists.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".data"
LOGS = STATE / "logs"
PIDS = STATE / "pids"
DEFAULTS: Dict[str, str] = {
    "RASA_PORT": "5005",
    "ACTION_SERVER_PORT": "5055",
    "COMMERCE_API_PORT": "8000",
    "COMMERCE_API_HOST": "127.0.0.1",
    "COMMERCE_API_TOKEN": "demo-commerce-token",
    "COMMERCE_DATABASE_URL": "sqlite:///.data/commerce.db",
    "ACTION_LEDGER_URL": "sqlite:///.data/ledger.db",
    "TRACKER_DB_PATH": ".data/tracker.db",
    "EVENT_BROKER_DB_PATH": ".data/events.db",
    "RASA_MODEL": "models",
    "WEBCHAT_PORT": "8080",
    "RASA_SHELL_PORT": "5006",
    # The shop the stack serves: shops/<SHOP>/profile.yml, and the data `make seed SHOP=...` loads.
    "SHOP": "demo",
    # The shop backend's credential for the REST channel (a demo value; set your own).
    "REST_CHANNEL_TOKEN": "demo-rest-token",
    # Slack and Messenger stay switched off (every request refused) until real values are set.
    "SLACK_BOT_TOKEN": "not-configured",
    "SLACK_SIGNING_SECRET": "not-configured",
    "MESSENGER_VERIFY_TOKEN": "not-configured",
    "MESSENGER_APP_SECRET": "not-configured",
    "MESSENGER_PAGE_ACCESS_TOKEN": "not-configured",
}
HEALTH_TIMEOUT_SECONDS = 180
INBOX_PASSWORD_FILE = "inbox-agent.password"


@dataclass
class Service:
    name: str
    command: List[str]
    health_url: str


def local_secret(name: str) -> str:
    """A secret generated once per checkout and kept (readable by this user only) in .data/."""
    path = STATE / name
    if not path.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def load_env() -> Dict[str, str]:
    """Defaults, overridden by `.env`, overridden by the real environment."""
    env = dict(DEFAULTS)
    dotenv = ROOT / ".env"
    if dotenv.exists():
        for line in dotenv.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key and not key.startswith("#"):
                env[key.strip()] = value.strip().strip('"').strip("'")
    env.update(os.environ)
    env.setdefault("COMMERCE_API_URL", f"http://127.0.0.1:{env['COMMERCE_API_PORT']}")
    env.setdefault("ACTION_SERVER_URL", f"http://127.0.0.1:{env['ACTION_SERVER_PORT']}/webhook")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    # Rasa's telemetry and crash reports go to Rasa's servers: off unless explicitly enabled.
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    # Rasa and the action server share this secret: set it, or one is generated once
    # per checkout and kept (readable by this user only) for `make shell`.
    if not env.get("ACTION_SERVER_TOKEN"):
        env["ACTION_SERVER_TOKEN"] = local_secret("action-server.token")
    # Signs the web chat's session ids, so a client can only resume its own (shop_channels.identity).
    if not env.get("SESSION_SIGNING_SECRET"):
        env["SESSION_SIGNING_SECRET"] = local_secret("session-signing.secret")
    # The agent inbox's staff (shop_channels.staff): unset, one account `agent` whose password is
    # generated once per checkout and kept in .data/ (no password is built in).
    if not env.get("INBOX_STAFF"):
        env["INBOX_STAFF"] = demo_staff_entry()
    return env


def demo_staff_entry() -> str:
    """`agent:<hash>` for the checkout's own inbox password (.data/inbox-agent.password)."""
    password = local_secret(INBOX_PASSWORD_FILE)
    path = STATE / "inbox-staff"
    # hashed once (scrypt is slow on purpose), again only if someone replaced the password file
    if not path.exists() or path.stat().st_mtime < (STATE / INBOX_PASSWORD_FILE).stat().st_mtime:
        # the hashing is shop_channels.staff's own, loaded by path: this script runs before any venv exists
        spec = importlib.util.spec_from_file_location("inbox_staff", ROOT / "shop_channels" / "staff.py")
        staff = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = staff  # dataclasses look their module up there
        spec.loader.exec_module(staff)
        path.touch(mode=0o600)
        path.write_text(f"agent:{staff.hash_password(password)}")
    return path.read_text().strip()


def rasa_http_api_flags(env: Dict[str, str]) -> List[str]:
    """Rasa's HTTP API (trackers, trigger_intent, ...) stays off unless a secret guards it.

    There is no default token: `--enable-api` is passed only with RASA_API_TOKEN
    (shared token) or RASA_JWT_SECRET (signed JWTs) set.
    """
    flags = []
    if env.get("RASA_API_TOKEN"):
        flags += ["--auth-token", env["RASA_API_TOKEN"]]
    if env.get("RASA_JWT_SECRET"):
        flags += ["--jwt-secret", env["RASA_JWT_SECRET"], "--jwt-method", env.get("RASA_JWT_METHOD", "HS256")]
    return ["--enable-api", *flags] if flags else []


def services(env: Dict[str, str]) -> List[Service]:
    rasa_bin = str(ROOT / ".venv/rasa/bin")
    api_python = str(ROOT / ".venv/api/bin/python")
    return [
        Service(
            "commerce-api",
            [api_python, "-m", "commerce_api"],
            f"http://127.0.0.1:{env['COMMERCE_API_PORT']}/health",
        ),
        Service(
            "action-server",
            [f"{rasa_bin}/python", "-m", "actions.server"],
            f"http://127.0.0.1:{env['ACTION_SERVER_PORT']}/health",
        ),
        Service(
            "rasa",
            # Rasa's CLI after the guarded patches (shop_server.patches)
            [f"{rasa_bin}/python", "-m", "shop_server", "run", "--model", env["RASA_MODEL"],
             "--port", env["RASA_PORT"], "--interface", "127.0.0.1", "--credentials", "credentials.yml",
             "--endpoints", "endpoints.yml", "--cors", "*", *rasa_http_api_flags(env)],
            f"http://127.0.0.1:{env['RASA_PORT']}/",
        ),
        Service(
            "webchat",
            [f"{rasa_bin}/python", "webchat/serve.py"],
            f"http://127.0.0.1:{env['WEBCHAT_PORT']}/healthz",
        ),
    ]


def migrations() -> List[Tuple[str, List[str]]]:
    """The schema steps run before any service starts, each in its own venv, on the environment's
    ACTION_LEDGER_URL and COMMERCE_DATABASE_URL. Safe beside running replicas: each takes a lock."""
    return [
        ("action ledger", [str(ROOT / ".venv/rasa/bin/python"), "-m", "actions.migrations", "upgrade"]),
        ("commerce database", [str(ROOT / ".venv/api/bin/python"), "-m", "commerce_api.migrations", "upgrade"]),
    ]


def migrate(env: Dict[str, str]) -> bool:
    """Brings the ledger and the commerce database to their head revisions; False (said why) if one failed."""
    for name, command in migrations():
        if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
            print(f"✗ migrating the {name} failed (see above); nothing was started")
            return False
    return True


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def wait_healthy(procs: Dict[str, subprocess.Popen], all_services: List[Service]) -> bool:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    pending = {s.name: s for s in all_services}
    while pending and time.monotonic() < deadline:
        for name, service in list(pending.items()):
            if procs[name].poll() is not None:
                print(f"✗ {name} exited with code {procs[name].returncode} (see {LOGS / name}.log)")
                return False
            if healthy(service.health_url):
                print(f"✓ {name} is up ({service.health_url})")
                del pending[name]
        time.sleep(0.5)
    for name in pending:
        print(f"✗ {name} did not answer {pending[name].health_url} in time (see {LOGS / name}.log)")
    return not pending


def start(env: Dict[str, str], foreground: bool) -> Dict[str, subprocess.Popen]:
    LOGS.mkdir(parents=True, exist_ok=True)
    PIDS.mkdir(parents=True, exist_ok=True)
    procs = {}
    for service in services(env):
        log = None if foreground else open(LOGS / f"{service.name}.log", "ab")
        procs[service.name] = subprocess.Popen(
            service.command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT if log else None,
            start_new_session=not foreground,
        )
        (PIDS / f"{service.name}.pid").write_text(str(procs[service.name].pid))
    return procs


def stop(procs: Dict[str, subprocess.Popen]) -> None:
    for proc in reversed(list(procs.values())):
        if proc.poll() is None:
            proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def print_where_to_chat(env: Dict[str, str]) -> None:
    port = env["RASA_PORT"]
    print(
        "\nThe assistant is ready.\n"
        f"  Web chat:    http://127.0.0.1:{env['WEBCHAT_PORT']}/   (the shop page with the support widget)\n"
        f"  REST:        curl -s localhost:{port}/webhooks/rest/webhook -H 'Authorization: Bearer "
        f"{env['REST_CHANNEL_TOKEN']}' -d '{{\"sender\":\"me\",\"message\":\"hi\"}}'\n"
        "  Terminal:    make shell   (rasa shell against the running action server)\n"
        f"  Socket.IO:   ws://127.0.0.1:{port}/socket.io (any Rasa web chat widget)\n"
        f"  Agent inbox: http://127.0.0.1:{port}/webhooks/inbox/   (staff: agent, password in "
        f".data/{INBOX_PASSWORD_FILE} unless INBOX_STAFF is set)\n"
        "  Demo customers: jane.doe@example.com (orders 4521-4523), sam.lee@example.com (4524-4526); see README\n"
    )


def command_run() -> int:
    env = load_env()
    if not migrate(env):
        return 1
    procs = start(env, foreground=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if not wait_healthy(procs, services(env)):
            return 1
        print_where_to_chat(env)
        while all(p.poll() is None for p in procs.values()):
            time.sleep(1)
        print("a service stopped; shutting the others down")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(procs)


def command_up() -> int:
    command_down(quiet=True)
    env = load_env()
    if not migrate(env):
        return 1
    procs = start(env, foreground=False)
    if not wait_healthy(procs, services(env)):
        stop(procs)
        return 1
    print_where_to_chat(env)
    return 0


def command_shell() -> int:
    """`rasa shell` with the same environment as the running stack (secrets, stores, token)."""
    env = load_env()
    python = str(ROOT / ".venv/rasa/bin/python")
    os.chdir(ROOT)
    # rasa shell runs a server of its own: on loopback, beside the stack's Rasa on RASA_PORT, and
    # like every Rasa server here through shop_server (the guarded patches, then Rasa's CLI).
    os.execve(python, [python, "-m", "shop_server", "shell", "--model", env["RASA_MODEL"],
                       "--endpoints", "endpoints.yml", "--credentials", "credentials.yml", "--interface", "127.0.0.1",
                       # the console sends it as ?token= to the REST channel, which requires the backend's credential
                       "--auth-token", env["REST_CHANNEL_TOKEN"],
                       "--port", env["RASA_SHELL_PORT"]], env)


def command_env() -> int:
    """Prints the stack's settings as `export` lines, for other rasa commands (see README)."""
    env = load_env()
    for key in sorted(set(env) - set(os.environ)):
        print(f"export {key}={shlex.quote(env[key])}")
    return 0


def command_migrate() -> int:
    return 0 if migrate(load_env()) else 1


def command_down(quiet: bool = False) -> int:
    for pid_file in sorted(PIDS.glob("*.pid")) if PIDS.exists() else []:
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
            if not quiet:
                print(f"stopped {pid_file.stem}")
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    commands = {"run": command_run, "up": command_up, "down": command_down, "shell": command_shell,
                "env": command_env, "migrate": command_migrate}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]]())
