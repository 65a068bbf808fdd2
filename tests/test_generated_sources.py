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


def test_every_gated_form_lets_a_yes_or_no_answer_its_prompt() -> None:
    """The gate's answer is mapped from affirm/deny only while a gated form asks it: a gated form
    missing from those conditions could never hear its "yes" (found when exchanges were added)."""
    import yaml

    from actions.dialogue.tasks import load_capabilities
    from actions.gate import gated_forms

    load_capabilities()
    slot = yaml.safe_load((processes.ROOT / "domain" / "_shared.yml").read_text())["slots"]["gate_confirmation"]
    for mapping in slot["mappings"]:
        forms = {condition["active_loop"] for condition in mapping["conditions"]
                 if condition.get("requested_slot") == "gate_confirmation"}
        assert forms == set(gated_forms()), (mapping["intent"], sorted(set(gated_forms()) ^ forms))
