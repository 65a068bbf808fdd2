"""`rasa test` on tests/test_stories.yml: every flow predicted exactly, with real text."""

from __future__ import annotations

import subprocess

from tests import processes


def test_test_stories_pass_with_no_prediction_errors(stack, reseed, tmp_path) -> None:
    reseed()
    env = dict(stack.env, TRACKER_DB_PATH=str(tmp_path / "tracker.db"))
    result = subprocess.run(
        [
            str(processes.RASA_BIN / "rasa"), "test", "core", "--model", "models",
            "--stories", "tests/test_stories.yml", "--endpoints", "endpoints.yml",
            "--fail-on-prediction-errors", "--out", str(tmp_path / "results"),
        ],
        cwd=processes.ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    failed = tmp_path / "results" / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{details}"
