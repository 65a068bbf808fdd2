"""NLU quality on the held-out set that training never sees.

Intents are scored by `rasa test nlu`. Entities are scored the way the slots see
them: the (entity, value) pairs the whole pipeline returns for a message (regex
extractor, DIET and synonym mapping together), against the annotated pairs.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Set, Tuple

import yaml

from tests import processes

HELD_OUT = processes.ROOT / "tests" / "nlu" / "held_out.yml"
# Regression guards; the measured figures are in the README.
MIN_INTENT_F1 = 0.85
MIN_ENTITY_F1 = 0.80
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\(([^)]*)\)|(\{[^}]*\}))")


def parse_examples(path: Path):
    """(plain text, intent, {(entity, value)}) for every example in an NLU file."""
    for block in yaml.safe_load(path.read_text()).get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            if not line.strip().startswith("- "):
                continue
            raw = line.strip()[2:]
            entities = set()
            for text, name, spec in ANNOTATION.findall(raw):
                if name:
                    entities.add((name, text))
                else:
                    try:
                        data = json.loads(spec)
                    except ValueError:  # not an entity annotation, e.g. literal braces in text
                        continue
                    entities.add((data["entity"], data.get("value", text)))
            plain = ANNOTATION.sub(lambda m: m.group(1), raw).strip()
            yield plain, block.get("intent"), entities


def test_the_held_out_set_shares_no_example_with_the_training_data() -> None:
    training = {
        text.lower() for path in (processes.ROOT / "data" / "nlu").glob("*.yml")
        for text, _, _ in parse_examples(path)
    }
    held_out = {text.lower() for text, _, _ in parse_examples(HELD_OUT)}
    assert held_out & training == set()


def test_intents_on_the_held_out_set(tmp_path) -> None:
    out = tmp_path / "nlu"
    subprocess.run(
        [str(processes.RASA_BIN / "rasa"), "test", "nlu", "--nlu", str(HELD_OUT), "--model", "models",
         "--out", str(out)],
        cwd=processes.ROOT, env=processes.base_env(), check=True, capture_output=True, timeout=600,
    )
    intent_f1 = json.loads((out / "intent_report.json").read_text())["weighted avg"]["f1-score"]
    print(f"held-out intent F1 (weighted): {intent_f1:.3f}")
    assert intent_f1 >= MIN_INTENT_F1


def test_entities_on_the_held_out_set() -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(str(processes.ROOT / "models" / "assistant.tar.gz"))
    true_positives = predicted = expected = 0
    for text, _, gold in parse_examples(HELD_OUT):
        parsed = asyncio.run(agent.parse_message(text))
        found: Set[Tuple[str, str]] = {(e["entity"], str(e["value"])) for e in parsed["entities"]}
        true_positives += len(found & gold)
        predicted += len(found)
        expected += len(gold)
    precision, recall = true_positives / max(predicted, 1), true_positives / max(expected, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    print(f"held-out entity precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f}")
    assert f1 >= MIN_ENTITY_F1
