"""Training files that repeat what is said once elsewhere are generated, and must not drift."""

from __future__ import annotations

import subprocess

from tests import processes


def test_the_task_rules_and_the_faq_domain_match_their_sources() -> None:
    result = subprocess.run([str(processes.RASA_BIN / "python"), "-m", "scripts.generate_sources", "--check"],
                            cwd=processes.ROOT, env=processes.base_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_every_task_has_its_generated_rules() -> None:
    import yaml

    from actions.dialogue.tasks import load_capabilities, tasks

    load_capabilities()
    rules = yaml.safe_load((processes.ROOT / "data" / "rules" / "tasks.yml").read_text())["rules"]
    names = {rule["rule"] for rule in rules}
    for task in tasks():
        assert f"{task.form} done" in names
        for intent in task.intents:
            assert f"{intent} starts {task.form}" in names
