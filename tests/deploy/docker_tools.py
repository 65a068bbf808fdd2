"""Docker's own parsers for the deployment tests, run in .venv/lint (tests/deploy/conftest.py calls it).

    .venv/lint/bin/python tests/deploy/docker_tools.py parse DOCKERFILE...   instructions, as JSON
    .venv/lint/bin/python tests/deploy/docker_tools.py context ROOT          the build context, as JSON
    .venv/lint/bin/python tests/deploy/docker_tools.py ignored ROOT PATH...  .dockerignore's verdicts

`parse` is BuildKit's Dockerfile parser (the `dockerfile` package wraps the official Go parser).
`context` and `ignored` are docker-py's (Docker's Python SDK) `.dockerignore` matcher, its port
of Moby's: `context` lists what `docker build ROOT` would send, `ignored` judges paths that need
not exist (a `.env` the repository must never carry into an image). No Docker engine runs here,
so this is as close to the build itself as the tests get.
"""

from __future__ import annotations

import json
import os
import sys
from typing import List

import dockerfile
from docker.utils.build import PatternMatcher, exclude_paths


def dockerignore_patterns(root: str) -> List[str]:
    """The patterns of ROOT/.dockerignore, read the way docker-py's `APIClient.build` reads them."""
    path = os.path.join(root, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [line.strip() for line in f.read().splitlines()]
    return [line for line in lines if line != "" and line[0] != "#"]


def main(argv: List[str]) -> object:
    command, *args = argv
    if command == "parse":
        return {path: [{"cmd": c.cmd.upper(), "flags": list(c.flags), "value": list(c.value), "json": c.json}
                       for c in dockerfile.parse_file(path)] for path in args}
    if command == "context":
        (root,) = args
        return sorted(exclude_paths(root, dockerignore_patterns(root)))
    if command == "ignored":
        root, *paths = args
        matcher = PatternMatcher(dockerignore_patterns(root))
        return {path: matcher.matches(path) for path in paths}
    raise SystemExit(__doc__)


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout)
