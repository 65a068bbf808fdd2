"""The documentation's commands work, and the names it gives exist.

Checked in README.md and docs/*.md:

1. **Marked shell blocks run against a live stack.** A block is marked by its fence's info string:

       ```sh docs-test
       curl -s localhost:5005/webhooks/rest/webhook -H 'Authorization: Bearer demo-rest-token' ...
       ```

       Expected output: `email address on your account`, `is on its way with UPS`.

   Each marked block runs with `bash -e -o pipefail` in the repository root against the test stack
   (the `stack` fixture of tests/conftest.py: commerce API, action server and Rasa on free loopback
   ports). The defaults written in the block are replaced by the stack's: `localhost:5005` and
   `127.0.0.1:5005` by its Rasa server, `127.0.0.1:8000` by its commerce API, `127.0.0.1:5055` by
   its action server, `demo-rest-token` by its REST credential; the environment is the stack's (its
   ledger, tracker store, event broker and commerce database). The block must exit 0. When the
   paragraph right after it starts with "Expected output:", every inline code span of that
   paragraph must appear in what the block printed (stdout and stderr).

   Mark only what is quick and leaves the demo data as it was: curl against the REST channel and the
   commerce API, `make seed`, `make review`, `make inspect ...`, `make lint-deploy`, `python -m` tools.
   Never `make run`, `make test`, `make bench` or anything that trains (a test below refuses them).

2. **Every `make <target>`** in inline code or a code block is a target of the Makefile, and the
   README's commands table names every target of the Makefile's `.PHONY` list.

3. **Every repository path in backticks** (it contains a `/` and ends with `/` or a file
   extension; no spaces, placeholders or globs) exists: from the repository root, or as the end of
   a real path when the text names it relative to a folder (`routers/` for `commerce_api/routers/`).
   Generated paths (`.venv/`, `.data/`, `models/`, `docs/results/`, ...) are exempt. Relative
   Markdown links and images resolve.

4. **The layers of `actions/`** that docs/architecture.md describes hold: a module imports only
   from its own layer or below, and no capability imports another.

`pytest tests/docs -k "not stack"` runs everything but the marked blocks (no model or stack needed).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple
from urllib.parse import urlsplit

import pytest

from tests import processes

ROOT = processes.ROOT
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = "docs-test"
EXPECTED = "Expected output:"
BLOCK_TIMEOUT_SECONDS = 120
# Commands a marked block may never run: long, or they train, or they start or stop a stack of their own.
FORBIDDEN = re.compile(
    r"\bmake\s+(run|up|down|test|test-assistant|test-api|train|bench|bench-soak|bench-probe|soak-faults|"
    r"up-production|down-production|eval-nlu|fuzz-dialogue|install|clean|lock\S*|prune)\b|\brasa\s+train\b"
)
# Written by a command, so absent from a fresh checkout (and from git).
GENERATED = (".venv/", ".data/", "models/", "docs/results/", "test-artifacts/", "webchat/node_modules/",
             "bench/results/probe.json")
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".data", "models", ".ruff_cache", ".rasa"}

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
MAKE_TARGET = re.compile(r"(?:^|[\s;&|(])make\s+(?:-\S+\s+)*([A-Za-z][\w-]*)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    info: str
    text: str
    expected: Tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def marked(self) -> bool:
        return MARKER in self.info.split()


@dataclass(frozen=True)
class Doc:
    path: Path
    blocks: Tuple[Block, ...]
    prose: str  # the text outside fenced blocks


def read_doc(path: Path) -> Doc:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: List[Block] = []
    prose: List[str] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            prose.append(lines[i])
            i += 1
            continue
        fence, info, start = opening.group(1), opening.group(2).strip(), i + 1
        i += 1
        body: List[str] = []
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        blocks.append(Block(path, start, info, "\n".join(body), expected_after(lines, i)))
    return Doc(path, tuple(blocks), "\n".join(prose))


def expected_after(lines: List[str], i: int) -> Tuple[str, ...]:
    """The code spans of an "Expected output:" paragraph starting at line `i` (blank lines skipped)."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not lines[i].startswith(EXPECTED):
        return ()
    paragraph = []
    while i < len(lines) and lines[i].strip():
        paragraph.append(lines[i])
        i += 1
    return tuple(CODE_SPAN.findall(" ".join(paragraph)))


ALL_DOCS = [read_doc(path) for path in DOCS]
MARKED = [block for doc in ALL_DOCS for block in doc.blocks if block.marked]


# -- 2. make targets --------------------------------------------------------------------------

def makefile_targets() -> Tuple[Set[str], List[str]]:
    """(every rule target, the .PHONY list in its order)."""
    text = (ROOT / "Makefile").read_text()
    phony = next(line for line in text.splitlines() if line.startswith(".PHONY:")).split(":", 1)[1].split()
    rules = set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.MULTILINE))
    return rules | set(phony), phony


def make_targets_named(doc: Doc) -> Iterator[Tuple[str, str]]:
    """(target, where) for every `make <target>` in inline code or a code block."""
    for span in CODE_SPAN.findall(doc.prose):
        for target in MAKE_TARGET.findall(span):
            yield target, f"{doc.path.name}: `{span}`"
    for block in doc.blocks:
        for target in MAKE_TARGET.findall(block.text):
            yield target, block.name


def test_every_make_target_the_docs_name_exists() -> None:
    targets, _ = makefile_targets()
    unknown = [(target, where) for doc in ALL_DOCS for target, where in make_targets_named(doc)
               if target not in targets]
    assert unknown == [], f"make targets the Makefile does not have: {unknown}"


def test_the_readme_names_every_make_target() -> None:
    _, phony = makefile_targets()
    readme = next(doc for doc in ALL_DOCS if doc.path.name == "README.md")
    named = {target for target, _ in make_targets_named(readme)}
    assert [target for target in phony if target not in named] == []


# -- 3. paths and links ------------------------------------------------------------------------

def repository_paths() -> Set[str]:
    """Every file and folder of the checkout (folders with a trailing /), relative to the root."""
    found: Set[str] = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_DIRS]
        relative = Path(folder).relative_to(ROOT)
        if relative != Path("."):
            found.add(f"{relative.as_posix()}/")
        found.update((relative / name).as_posix() for name in files)
    return found


def looks_like_a_path(span: str) -> bool:
    if "/" not in span or any(ch.isspace() for ch in span) or span.startswith(("/", "~", "-")):
        return False
    if any(ch in span for ch in ":<>{}*$…=?%@'\"|,()[]") or ".." in span:
        return False
    return span.endswith("/") or bool(EXTENSION.search(span.rsplit("/", 1)[-1]))


def path_exists(span: str, paths: Set[str]) -> bool:
    if span.startswith(GENERATED):
        return True
    target = ROOT / span
    if target.is_dir() if span.endswith("/") else target.exists():
        return True
    return any(path.endswith("/" + span) for path in paths)


def test_every_repository_path_the_docs_name_exists() -> None:
    paths = repository_paths()
    missing = [(doc.path.name, span) for doc in ALL_DOCS for span in CODE_SPAN.findall(doc.prose)
               if looks_like_a_path(span) and not path_exists(span, paths)]
    assert missing == [], f"paths in backticks that do not exist: {missing}"


def test_every_relative_link_resolves() -> None:
    broken = []
    for doc in ALL_DOCS:
        for target in LINK.findall(CODE_SPAN.sub("", doc.prose)):  # `[text](entity)` is an example, not a link
            if urlsplit(target).scheme or target.startswith("#"):
                continue
            if not (doc.path.parent / target.split("#", 1)[0]).exists():
                broken.append((doc.path.name, target))
    assert broken == []


def defined_tests() -> Dict[str, Set[str]]:
    """Test file (relative path) → the test functions it defines."""
    found: Dict[str, Set[str]] = {}
    for folder in ("tests", "commerce_api/tests"):
        for path in (ROOT / folder).rglob("test_*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found[path.relative_to(ROOT).as_posix()] = {
                node.name for node in ast.walk(tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")}
    return found


def test_every_test_the_docs_cite_exists() -> None:
    """`tests/x.py::test_y` and bare `test_y` spans name tests that exist."""
    tests = defined_tests()
    every = set().union(*tests.values())
    missing = []
    for doc in ALL_DOCS:
        for span in CODE_SPAN.findall(doc.prose):
            cited = re.fullmatch(r"((?:commerce_api/)?tests/\S+\.py)::(test_\w+)", span)
            if cited and cited.group(2) not in tests.get(cited.group(1), set()):
                missing.append((doc.path.name, span))
            elif re.fullmatch(r"test_\w+", span) and span not in every:
                missing.append((doc.path.name, span))
    assert missing == []


# -- 4. the layers of actions/ ------------------------------------------------------------------

# docs/architecture.md "The layers of actions/": each top-level part of the package, and what it may import.
BASE = {"common", "config", "telemetry", "logs"}
MAY_IMPORT: Dict[str, Set[str]] = {
    **{part: BASE for part in BASE},
    "api": BASE | {"api"},
    **{part: BASE | {"api", "ledger", "gate", "handoffs", "notices"} for part in ("ledger", "gate", "handoffs",
                                                                                   "notices")},
    "shop": BASE | {"api", "shop"},
    "identity": BASE | {"api", "shop", "identity"},
    "dialogue": BASE | {"api", "ledger", "gate", "handoffs", "notices", "shop", "identity", "dialogue"},
    "capabilities": BASE | {"api", "ledger", "gate", "handoffs", "notices", "shop", "identity", "dialogue",
                            "capabilities"},
    "server": BASE | {"api", "ledger", "gate", "handoffs", "notices", "shop"},
    "migrations": BASE | {"ledger"},
}


def actions_imports(path: Path) -> Iterator[List[str]]:
    """The `actions...` modules a file imports, each split into its parts (`["actions", "api", ...]`)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "actions":
            for alias in node.names:  # `from actions import gate` imports actions.gate
                yield f"{node.module}.{alias.name}".split(".")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "actions":
                    yield alias.name.split(".")


def test_the_layers_architecture_md_describes_hold() -> None:
    wrong = []
    for path in sorted((ROOT / "actions").rglob("*.py")):
        parts = path.relative_to(ROOT / "actions").with_suffix("").parts
        if parts == ("__init__",):
            continue
        layer = parts[0]
        assert layer in MAY_IMPORT, f"actions/{layer} is in no layer of docs/architecture.md"
        for imported in actions_imports(path):
            if len(imported) < 2 or imported[1] not in MAY_IMPORT:
                continue
            sibling = layer == imported[1] == "capabilities" and imported[2:3] != parts[1:2]
            if imported[1] not in MAY_IMPORT[layer] or sibling:
                wrong.append(f"{path.relative_to(ROOT)} imports {'.'.join(imported)}")
    assert wrong == []


# -- 1. marked blocks ---------------------------------------------------------------------------

def test_marked_blocks_are_quick_and_safe() -> None:
    assert len(MARKED) >= 5, "the docs lost their tested commands"
    for block in MARKED:
        assert block.info.split()[0] in ("sh", "bash", "shell"), block.name
        assert block.text.strip(), f"{block.name} is empty"
        assert not FORBIDDEN.search(block.text), f"{block.name} runs a long or state-changing command"


def stack_script(block: Block, stack) -> str:
    """The block with the documented defaults replaced by the test stack's addresses and credential."""
    rasa = urlsplit(stack.rasa_url).netloc
    api = urlsplit(stack.commerce_api_url).netloc
    actions = urlsplit(stack.env["ACTION_SERVER_URL"]).netloc
    script = block.text
    for default, actual in (("localhost:5005", rasa), ("127.0.0.1:5005", rasa), ("localhost:8000", api),
                            ("127.0.0.1:8000", api), ("localhost:5055", actions), ("127.0.0.1:5055", actions),
                            ("demo-rest-token", processes.REST_CHANNEL_TOKEN),
                            ("demo-commerce-token", processes.DEMO_TOKEN)):
        script = script.replace(default, actual)
    return script


@pytest.fixture(scope="module")
def docs_stack(stack, commerce_db_url: str):
    """The session's stack on fresh demo data (earlier tests' verification failures would count)."""
    processes.seed(commerce_db_url)
    yield stack
    processes.seed(commerce_db_url)


@pytest.mark.parametrize("block", MARKED, ids=[block.name for block in MARKED])
def test_marked_block_runs_on_the_stack(block: Block, docs_stack, commerce_db_url: str) -> None:
    env = dict(docs_stack.env, COMMERCE_DATABASE_URL=commerce_db_url)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # a make of its own, not a sub-make of `make test`
        env.pop(name, None)
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", stack_script(block, docs_stack)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_SECONDS)
    printed = result.stdout + result.stderr
    assert result.returncode == 0, f"{block.name} exited {result.returncode}:\n{printed[-3000:]}"
    missing = [text for text in block.expected if text not in printed]
    assert missing == [], f"{block.name} did not print {missing}:\n{printed[-3000:]}"
