"""The guarded Rasa patches (shop_server.patches) and the server entry point that installs them.

The refusals run the real entry point (`python -m shop_server run ...`) in a subprocess whose
`-c` program first makes its Rasa look different (another version, or a replaced function with
other source), so production code carries no test hook.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import List

from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from shop_server import patches
from tests import processes

SERVER_ARGS = ["run", "--model", "models", "--port", "1", "--interface", "127.0.0.1",
               "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"]
# runs shop_server exactly as `python -m shop_server <args>` does, after the lines before it
RUN_ENTRY_POINT = f"import runpy, sys; sys.argv = ['shop_server', *{SERVER_ARGS!r}]; " \
                  "runpy.run_module('shop_server', run_name='__main__', alter_sys=True)"
CHANGED_RASA = '''\
from rasa.engine.graph import GraphSchema


def minimal_graph_schema(self, targets=None, keep_all=False):
    """A Rasa whose function changed: one more argument."""
    return self if keep_all else GraphSchema({})


GraphSchema.minimal_graph_schema = minimal_graph_schema
'''


def python(program: str, tmp_path: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = processes.base_env(PYTHONPATH=f"{tmp_path}:{processes.ROOT}")
    return subprocess.run([str(processes.RASA_BIN / "python"), "-c", program], cwd=processes.ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_refused(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    for text in ("Refusing to start", *expected, "What to do", "shop_server/patches.py", "source_sha256"):
        assert text in result.stderr, f"{text!r} not in:\n{result.stderr[-3000:]}"
    assert "Starting Rasa server" not in result.stdout + result.stderr


def test_the_server_refuses_to_start_on_another_rasa_version(tmp_path):
    result = python(f"import rasa; rasa.__version__ = '3.7.0'; {RUN_ENTRY_POINT}", tmp_path)
    assert_refused(result, *(f"{patch.name}: written for Rasa 3.6.21, found Rasa 3.7.0" for patch in patches.PATCHES))


def test_the_server_refuses_to_start_when_a_replaced_function_changed(tmp_path):
    (tmp_path / "changed_rasa.py").write_text(CHANGED_RASA)
    changed_source = CHANGED_RASA[CHANGED_RASA.index("def "):CHANGED_RASA.index("\n\n\nGraphSchema")] + "\n"
    result = python(f"import changed_rasa; {RUN_ENTRY_POINT}", tmp_path)
    declared = next(p for p in patches.PATCHES if p.name == "GraphSchema.minimal_graph_schema")
    assert_refused(result, "GraphSchema.minimal_graph_schema", str(tmp_path / "changed_rasa.py"),
                   hashlib.sha256(changed_source.encode()).hexdigest(), declared.source_sha256)
    others: List[str] = [p.name for p in patches.PATCHES if p is not declared]
    assert not any(f"{name}:" in result.stderr for name in others), "only the changed function is named"


def test_a_refusal_replaces_nothing_and_importing_channels_or_stores_replaces_nothing(tmp_path):
    program = """
import rasa
import shop_channels, shop_channels.slack, shop_channels.messenger, shop_stores.tracker_store  # noqa
from shop_server import patches
def untouched():
    return [p.name for p in patches.PATCHES if p.owner.__dict__[p.attribute] is not p.replacement]
assert len(untouched()) == len(patches.PATCHES), "an import replaced a Rasa function"
rasa.__version__ = "3.7.0"
try:
    patches.install()
except patches.PatchMismatch:
    assert len(untouched()) == len(patches.PATCHES) and not patches.installed(), "a refusal replaced something"
    print("nothing replaced")
"""
    result = python(program, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("nothing replaced")


def test_the_entry_point_hands_its_arguments_to_rasas_cli(tmp_path):
    result = python("import runpy, sys; sys.argv = ['shop_server', '--version']; "
                    "runpy.run_module('shop_server', run_name='__main__', alter_sys=True)", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Rasa Version      :         3.6.21" in result.stdout


def test_installing_applies_every_patch_once_and_each_hash_is_this_rasas():
    patches.install()
    patches.install()  # a second time: nothing changes
    assert patches.installed() and not patches.mismatches()
    names = [patch.name for patch in patches.PATCHES]
    assert names == ["RemoteAction._validate_action_result", "EndpointConfig.request",
                     "GraphSchema.minimal_graph_schema", "Event.resolve_by_type", "Agent._create_tracker_store"]
    for patch in patches.PATCHES:
        assert patch.owner.__dict__[patch.attribute] is patch.replacement, patch.name
        rasas = patches.original(patch.name)
        assert rasas.__module__.startswith("rasa."), f"{patch.name}: the original is not Rasa's own"
        assert patches.source_sha256(rasas) == patch.source_sha256, patch.name
        assert patch.rasa_version == "3.6.21" and patch.why and patch.gain, patch.name


def test_the_tracker_store_patch_wraps_only_stock_stores():
    patches.install()
    domain = Domain.empty()

    class FailClosedStore(InMemoryTrackerStore):
        fail_closed = True

    closed = FailClosedStore(domain)
    assert Agent._create_tracker_store(closed, domain) is closed
    assert isinstance(Agent._create_tracker_store(InMemoryTrackerStore(domain), domain), FailSafeTrackerStore)
    assert isinstance(Agent._create_tracker_store(None, domain), FailSafeTrackerStore)
