"""The Dockerfiles: hadolint clean, every COPY source in the build context, pinned official bases,
non-root at run time, and the action server image's lock a part of the tested one."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from tests.deploy.conftest import DOCKERFILES, ROOT, dockerfile_instructions, lint_tool

BASES = {
    "Dockerfile": {"rasa/rasa:3.6.21"},
    "actions.Dockerfile": {"rasa/rasa-sdk:3.6.2"},
    "commerce-api.Dockerfile": {"python:3.10.14-slim-bookworm"},
    "webchat.Dockerfile": {"node:20.15.1-bookworm-slim", "python:3.10.14-slim-bookworm"},
}


def dockerignore_patterns() -> List[tuple]:
    patterns = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                regex, index = regex + "(?:.*/)?", index + 3
            elif pattern.startswith("**", index):
                regex, index = regex + ".*", index + 2
            elif pattern[index] == "*":
                regex, index = regex + "[^/]*", index + 1
            elif pattern[index] == "?":
                regex, index = regex + "[^/]", index + 1
            else:
                regex, index = regex + re.escape(pattern[index]), index + 1
        patterns.append((re.compile(regex.rstrip("/") + r"\Z"), negated))
    return patterns


def ignored(relative: str, patterns: List[tuple]) -> bool:
    """Docker's rule: a path is left out if it or a parent folder matches (last matching pattern wins)."""
    parts = relative.split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        verdict = False
        for regex, negated in patterns:
            if regex.match(prefix):
                verdict = not negated
        if verdict:
            return True
    return False


def copy_sources(dockerfile: Path) -> List[str]:
    sources = []
    for instruction, arguments in dockerfile_instructions(dockerfile):
        if instruction not in ("COPY", "ADD") or "--from=" in arguments:
            continue
        words = [word for word in arguments.split() if not word.startswith("--")]
        sources += words[:-1]
    return sources


@pytest.fixture(scope="module")
def hadolint() -> Path:
    return lint_tool("hadolint")


def test_hadolint_passes_on_every_dockerfile(hadolint: Path):
    assert len(DOCKERFILES) == 4
    result = subprocess.run([str(hadolint), "--no-color", *map(str, DOCKERFILES)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_really_lints(hadolint: Path, tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nCMD python app.py\n")
    result = subprocess.run([str(hadolint), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3025"):  # latest tag, unpinned apt, shell-form CMD
        assert rule in result.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_every_copy_source_is_in_the_build_context(dockerfile: Path):
    patterns = dockerignore_patterns()
    sources = copy_sources(dockerfile)
    assert sources
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"{dockerfile.name}: COPY {source} does not exist"
        assert not ignored(source, patterns), f"{dockerfile.name}: .dockerignore leaves {source} out"
        if path.is_dir():
            files = [p.relative_to(ROOT).as_posix() for p in path.rglob("*") if p.is_file()]
            assert any(not ignored(f, patterns) for f in files), f"{source}: every file is ignored"


def test_dockerignore_keeps_secrets_and_local_state_out():
    patterns = dockerignore_patterns()
    for path in (".env", ".env.production", ".git/config", ".venv/rasa/bin/python", ".data/ledger.db",
                 "models/assistant.tar.gz", "webchat/node_modules/ws/index.js", "commerce_api/tests/test_x.py",
                 "actions/__pycache__/gate.cpython-310.pyc"):
        assert ignored(path, patterns), f"{path} would be sent to the Docker daemon"
    for path in (".env.example", "commerce_api/__main__.py", "shop_stores/lock_store.py", "webchat/static/widget.js",
                 "deploy/endpoints.production.yml", "requirements/actions.lock", "domain/_shared.yml"):
        assert not ignored(path, patterns), f"{path} is needed in the build context"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_base_images_are_the_pinned_official_ones(dockerfile: Path):
    bases = {arguments.split()[0] for instruction, arguments in dockerfile_instructions(dockerfile)
             if instruction == "FROM"}
    assert bases == BASES[dockerfile.name]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_the_final_stage_runs_as_a_numeric_non_root_user(dockerfile: Path):
    stages: List[List[tuple]] = []
    for instruction, arguments in dockerfile_instructions(dockerfile):
        if instruction == "FROM":
            stages.append([])
        stages[-1].append((instruction, arguments))
    users = [arguments for instruction, arguments in stages[-1] if instruction == "USER"]
    assert users, f"{dockerfile.name}: the final stage never sets USER"
    assert users[-1].isdigit() and int(users[-1]) != 0, f"{dockerfile.name}: runs as {users[-1]}"


def test_the_assistant_image_carries_the_production_stores_and_endpoints():
    sources = copy_sources(ROOT / "Dockerfile")
    assert "shop_stores" in sources
    assert "deploy/endpoints.production.yml" in sources
    stores = re.findall(r"type: (shop_stores\.[\w.]+)", (ROOT / "deploy/endpoints.production.yml").read_text())
    assert stores
    for dotted in stores:
        module, _, cls = dotted.rpartition(".")
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text()
        assert f"class {cls}(" in source, dotted


@pytest.mark.parametrize("dockerfile, module", [
    ("deploy/actions.Dockerfile", "actions.server"),
    ("deploy/commerce-api.Dockerfile", "commerce_api"),
])
def test_entrypoint_modules_are_copied(dockerfile: str, module: str):
    instructions = dict(dockerfile_instructions(ROOT / dockerfile))
    assert f'"-m", "{module}"' in instructions["ENTRYPOINT"]
    package = module.split(".")[0]
    assert package in copy_sources(ROOT / dockerfile)
    path = ROOT / module.replace(".", "/")
    assert path.with_suffix(".py").exists() or (path / "__main__.py").exists()


FIRST_PARTY = {path.parent.name for path in ROOT.glob("*/__init__.py")}


def imported_modules(path: Path) -> set:
    """Absolute dotted names of the first-party modules a file imports (relative imports resolved)."""
    package = path.relative_to(ROOT).parent.as_posix().replace("/", ".")
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in names if name.split(".")[0] in FIRST_PARTY}


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "deploy/actions.Dockerfile", "deploy/commerce-api.Dockerfile"])
def test_every_first_party_module_the_image_code_imports_is_copied(dockerfile: str):
    copied = set()
    for source in copy_sources(ROOT / dockerfile):
        path = ROOT / source
        copied |= {p for p in path.rglob("*.py") if "tests" not in p.parts} if path.is_dir() else {path}
    for file in sorted(p for p in copied if p.suffix == ".py" and p.parent != ROOT / "scripts"):
        for module in imported_modules(file):
            candidates = [ROOT / (module.replace(".", "/") + ".py"), ROOT / module.replace(".", "/") / "__init__.py"]
            existing = [c for c in candidates if c.exists()]
            if not existing:
                continue  # a name imported from a module (from x import y), not a module itself
            assert any(c in copied for c in existing), \
                f"{dockerfile}: {file.relative_to(ROOT)} imports {module}, which the image does not contain"
            parts = module.split(".")
            for depth in range(1, len(parts)):  # and the packages above it
                init = ROOT.joinpath(*parts[:depth], "__init__.py")
                assert init in copied, f"{dockerfile}: {init.relative_to(ROOT)} is needed to import {module}"


def dependency_closure(root: str) -> set:
    """Normalised names of `root` and every distribution it requires, transitively (no extras)."""
    seen, todo = set(), [root]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" not in requirement:
                todo.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    return seen


def test_the_assistant_image_code_needs_nothing_beyond_rasa_and_its_dependencies():
    """The assistant image installs nothing: what shop_channels, shop_stores and actions/common import
    must come with rasa 3.6.21 (this venv has the same rasa, so the same dependency tree)."""
    available = dependency_closure("rasa")
    assert {"rasa-sdk", "redis", "psycopg2-binary", "slack-sdk", "fbmessenger", "sanic"} <= available
    providers = import_names_to_distributions()
    copied = [ROOT / "actions/common.py", *ROOT.glob("shop_channels/**/*.py"), *ROOT.glob("shop_stores/**/*.py")]
    for file in copied:
        for node in ast.walk(ast.parse(file.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in (n.split(".")[0] for n in names):
                if name in sys.stdlib_module_names or name in FIRST_PARTY or name == "__future__":
                    continue
                distributions = {d.lower().replace("_", "-") for d in providers.get(name, [])}
                assert distributions & available, f"{file.relative_to(ROOT)} imports {name}, not in the rasa image"


def requirement_lines(path: Path) -> set:
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def test_the_action_server_lock_is_part_of_the_tested_lock():
    actions = requirement_lines(ROOT / "requirements/actions.lock")
    assistant = requirement_lines(ROOT / "requirements/assistant.lock")
    assert "rasa-sdk==3.6.2" in actions
    # the ledger's postgresql:// URL (docker-compose.yml) uses SQLAlchemy's default driver, psycopg2
    assert any(line.startswith("psycopg2-binary==") for line in actions)
    assert actions <= assistant, f"not as in assistant.lock: {sorted(actions - assistant)}"


def import_names_to_distributions() -> dict:
    """Top-level import name -> distributions providing it (packages_distributions() of Python 3.10
    reads only top_level.txt, which wheels such as RapidFuzz's do not have: read RECORD too)."""
    providers: dict = {}
    for dist in importlib.metadata.distributions():
        names = set((dist.read_text("top_level.txt") or "").split())
        for file in dist.files or []:
            top = file.parts[0]
            if not top.endswith((".dist-info", ".data", ".pth")) and top not in ("__pycache__", ".."):
                names.add(top[:-3] if top.endswith(".py") else top)
        for name in names:
            providers.setdefault(name, set()).add(dist.metadata["Name"])
    return providers


def test_the_action_server_lock_provides_every_third_party_import_of_actions():
    locked = {re.split("==", line)[0].lower().replace("_", "-")
              for line in requirement_lines(ROOT / "requirements/actions.lock")}
    providers = import_names_to_distributions()
    imported = set()
    for path in (ROOT / "actions").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported
                   if name not in sys.stdlib_module_names and name not in ("actions", "__future__")}
    assert {"rasa_sdk", "sqlalchemy", "requests", "rapidfuzz", "jwt"} <= third_party
    for name in third_party:
        distributions = {d.lower().replace("_", "-") for d in providers.get(name, [])}
        assert distributions & locked, f"actions import {name}, which requirements/actions.lock does not install"
