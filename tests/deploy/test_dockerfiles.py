"""The Dockerfiles: hadolint clean, every COPY source in the build context, pinned official bases,
non-root at run time, and the action server image's lock a part of the tested one.

The Dockerfiles are read by BuildKit's own parser and the build context by docker-py's
`.dockerignore` matcher (both in .venv/lint, through tests/deploy/docker_tools.py).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

from tests.deploy.conftest import DOCKERFILES, ROOT, Instruction, dockerignored, lint_tool

BASES = {
    "Dockerfile": {"rasa/rasa:3.6.21"},
    "actions.Dockerfile": {"rasa/rasa-sdk:3.6.2"},
    "commerce-api.Dockerfile": {"python:3.10.14-slim-bookworm"},
    "webchat.Dockerfile": {"node:20.15.1-bookworm-slim", "python:3.10.14-slim-bookworm"},
}


def copy_sources(instructions: List[Instruction]) -> List[str]:
    """What COPY and ADD take from the build context (not from another stage)."""
    sources = []
    for instruction in instructions:
        if instruction.cmd in ("COPY", "ADD") and not any(f.startswith("--from=") for f in instruction.flags):
            sources += instruction.value[:-1]
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
def test_every_copy_source_is_in_the_build_context(dockerfile: Path, dockerfiles: Dict[str, List[Instruction]],
                                                   build_context: Set[str]):
    sources = copy_sources(dockerfiles[dockerfile.name])
    assert sources
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"{dockerfile.name}: COPY {source} does not exist"
        assert source.rstrip("/") in build_context, f"{dockerfile.name}: .dockerignore leaves {source} out"
        if path.is_dir():
            assert any(sent.startswith(source.rstrip("/") + "/") and (ROOT / sent).is_file()
                       for sent in build_context), f"{source}: every file is ignored"


def test_dockerignore_keeps_secrets_and_local_state_out():
    left_out = (".env", ".env.production", ".git/config", ".venv/rasa/bin/python", ".data/ledger.db",
                "models/assistant.tar.gz", "webchat/node_modules/ws/index.js", "commerce_api/tests/test_x.py",
                "actions/__pycache__/gate.cpython-310.pyc")
    needed = (".env.example", "commerce_api/__main__.py", "shop_stores/lock_store.py", "webchat/static/widget.js",
              "deploy/endpoints.production.yml", "requirements/actions.lock", "domain/_shared.yml",
              "shop_server/patches.py")
    verdicts = dockerignored(*left_out, *needed)
    for path in left_out:
        assert verdicts[path], f"{path} would be sent to the Docker daemon"
    for path in needed:
        assert not verdicts[path], f"{path} is needed in the build context"


def test_the_matcher_reads_dockerignore_as_docker_does():
    """Docker's rules, not gitignore's: a pattern is anchored at the context root, `**/` matches any depth."""
    verdicts = dockerignored("models", "bench/models/x.py", "tests/x.py", "commerce_api/tests/x.py",
                             "shop_server/tests_of_mine.py", "a/b/__pycache__/c.pyc", ".env.local", ".env.example")
    assert verdicts == {"models": True, "bench/models/x.py": False, "tests/x.py": True,
                        "commerce_api/tests/x.py": True, "shop_server/tests_of_mine.py": False,
                        "a/b/__pycache__/c.pyc": True, ".env.local": True, ".env.example": False}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_base_images_are_the_pinned_official_ones(dockerfile: Path, dockerfiles: Dict[str, List[Instruction]]):
    bases = {i.value[0] for i in dockerfiles[dockerfile.name] if i.cmd == "FROM"}
    assert bases == BASES[dockerfile.name]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_the_final_stage_runs_as_a_numeric_non_root_user(dockerfile: Path, dockerfiles: Dict[str, List[Instruction]]):
    stages: List[List[Instruction]] = []
    for instruction in dockerfiles[dockerfile.name]:
        if instruction.cmd == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    users = [i.value[0] for i in stages[-1] if i.cmd == "USER"]
    assert users, f"{dockerfile.name}: the final stage never sets USER"
    assert users[-1].isdigit() and int(users[-1]) != 0, f"{dockerfile.name}: runs as {users[-1]}"


def test_the_assistant_image_starts_rasa_through_shop_server(dockerfiles: Dict[str, List[Instruction]]):
    """The guarded Rasa patches are installed by the entry point, before Rasa's CLI (shop_server)."""
    instructions = {i.cmd: i.value for i in dockerfiles["Dockerfile"]}
    assert instructions["ENTRYPOINT"] == ["python", "-m", "shop_server"]
    assert instructions["CMD"][0] == "run"
    assert "shop_server" in copy_sources(dockerfiles["Dockerfile"])


def test_the_assistant_image_carries_the_production_stores_and_endpoints(dockerfiles: Dict[str, List[Instruction]]):
    sources = copy_sources(dockerfiles["Dockerfile"])
    assert "shop_stores" in sources
    assert "deploy/endpoints.production.yml" in sources
    stores = re.findall(r"type: (shop_stores\.[\w.]+)", (ROOT / "deploy/endpoints.production.yml").read_text())
    assert stores
    for dotted in stores:
        module, _, cls = dotted.rpartition(".")
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text()
        assert f"class {cls}(" in source, dotted


@pytest.mark.parametrize("dockerfile, module", [
    ("Dockerfile", "shop_server"),
    ("deploy/actions.Dockerfile", "actions.server"),
    ("deploy/commerce-api.Dockerfile", "commerce_api"),
])
def test_entrypoint_modules_are_copied(dockerfile: str, module: str, dockerfiles: Dict[str, List[Instruction]]):
    instructions = {i.cmd: i.value for i in dockerfiles[Path(dockerfile).name]}
    entrypoint = instructions["ENTRYPOINT"]
    assert entrypoint[entrypoint.index("-m") + 1] == module
    package = module.split(".")[0]
    assert package in copy_sources(dockerfiles[Path(dockerfile).name])
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
def test_every_first_party_module_the_image_code_imports_is_copied(dockerfile: str,
                                                                  dockerfiles: Dict[str, List[Instruction]]):
    copied = set()
    for source in copy_sources(dockerfiles[Path(dockerfile).name]):
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
    """The assistant image installs nothing: what shop_channels, shop_stores, shop_server and actions/common
    import must come with rasa 3.6.21 (this venv has the same rasa, so the same dependency tree)."""
    available = dependency_closure("rasa")
    assert {"rasa-sdk", "redis", "psycopg2-binary", "slack-sdk", "fbmessenger", "sanic"} <= available
    providers = import_names_to_distributions()
    copied = [ROOT / "actions/common.py", *ROOT.glob("shop_channels/**/*.py"), *ROOT.glob("shop_stores/**/*.py"),
              *ROOT.glob("shop_server/**/*.py")]
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
