"""How well the trained model understands messages it never saw: `make eval-nlu`.

    python -m tools.eval_nlu [--set tests/nlu/held_out_customers.yml] [--model models/assistant.tar.gz]
                             [--dialogue] [--out docs/results/nlu-eval]

Reads an NLU file written by someone who never read the training data (tests/nlu/held_out_customers.yml,
labelled with docs/nlu-intents.md) and reports, for the model:

- **intent accuracy per intent** (a `faq/...` label counts as right when the model says `faq` and
  the response selector picks the same question), and the **macro average over the order-task and
  person intents** that issue 14 names (track_order, request_return, cancel_order,
  change_shipping_address, track_refund, return_policy, human_handoff);
- **unrelated requests starting an order flow**: of the messages labelled `faq/...` or
  `out_of_scope`, the share the model reads as an order task;
- **entity F1**: the (entity, value) pairs the whole pipeline returns against the annotations.

With `--dialogue` it also sends every unrelated message as the first message of a new conversation
to a stack it starts (commerce API, action server, Rasa) and counts the replies that ask for an
order number or the customer's identity: the order flows a customer would actually see.

Results go to `<out>.json` and `<out>.md` (the README quotes the markdown). CI asserts nothing about
them: the tests' own check (tests/e2e/test_nlu_guard.py) only guards against collapse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import yaml

from bench.machine import git_info

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT / "tests" / "nlu" / "held_out_customers.yml"
DEFAULT_OUT = ROOT / "docs" / "results" / "nlu-eval"
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\(([^)]*)\)|(\{[^}]*\}))")
# the intents that start a task flow (identity, then an order or the account's saved address)
ORDER_TASKS = {"track_order", "request_return", "cancel_order", "change_shipping_address", "track_refund",
               "change_default_address", "request_exchange", "modify_order_items", "change_payment_method"}
MACRO_INTENTS = ("track_order", "request_return", "cancel_order", "change_shipping_address", "track_refund",
                 "return_policy", "human_handoff")
# What a reply says when it starts an order flow: it asks who the customer is, or which order.
ORDER_FLOW_REPLIES = ("email address on your account", "full name and zip", "Which order is it about",
                      "order number")


def examples(path: Path) -> Iterator[Tuple[str, str, Set[Tuple[str, str]]]]:
    """(plain text, label, {(entity, value)}) for every example of an NLU file."""
    for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
        label = block.get("intent")
        if not label:
            continue
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
                    except ValueError:
                        continue
                    entities.add((data["entity"], str(data.get("value", text))))
            yield ANNOTATION.sub(lambda m: m.group(1), raw).strip(), label, entities


def predicted_label(parsed: Dict[str, Any]) -> str:
    intent = (parsed.get("intent") or {}).get("name") or "nlu_fallback"
    if intent == "faq":
        key = ((parsed.get("response_selector") or {}).get("faq") or {}).get("response", {}).get(
            "intent_response_key")
        return key or "faq"
    return intent


def is_unrelated(label: str) -> bool:
    return label.startswith("faq/") or label == "out_of_scope"


def starts_order_task(label: str) -> bool:
    return any(part in ORDER_TASKS for part in label.split("+"))


def evaluate(model: Path, rows: List[Tuple[str, str, Set[Tuple[str, str]]]]) -> Dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    per_intent: Dict[str, Counter] = defaultdict(Counter)
    confusion: Dict[str, Counter] = defaultdict(Counter)
    unrelated = unrelated_to_order = 0
    tp = predicted = expected = 0
    started = time.perf_counter()
    for text, label, gold in rows:
        parsed = asyncio.run(agent.parse_message(text))
        guess = predicted_label(parsed)
        right = guess == label
        per_intent[label]["total"] += 1
        per_intent[label]["right"] += int(right)
        if not right:
            confusion[label][guess] += 1
        if is_unrelated(label):
            unrelated += 1
            unrelated_to_order += int(starts_order_task(guess))
        found = {(e["entity"], str(e["value"])) for e in parsed.get("entities") or []}
        tp += len(found & gold)
        predicted += len(found)
        expected += len(gold)
    seconds = time.perf_counter() - started
    accuracy = {label: counts["right"] / counts["total"] for label, counts in sorted(per_intent.items())}
    precision, recall = tp / max(predicted, 1), tp / max(expected, 1)
    return {
        "messages": len(rows),
        "intent_accuracy": accuracy,
        "macro_in_scope": sum(accuracy.get(i, 0.0) for i in MACRO_INTENTS) / len(MACRO_INTENTS),
        "overall_accuracy": sum(c["right"] for c in per_intent.values()) / max(len(rows), 1),
        "unrelated_messages": unrelated,
        "unrelated_to_order_flow": unrelated_to_order / max(unrelated, 1),
        "entity_precision": precision, "entity_recall": recall,
        "entity_f1": 2 * precision * recall / max(precision + recall, 1e-9),
        "most_confused": {label: dict(c.most_common(3)) for label, c in sorted(confusion.items())},
        "parse_ms_mean": 1000 * seconds / max(len(rows), 1),
    }


def dialogue_order_flows(rows: List[Tuple[str, str, Set[Tuple[str, str]]]]) -> Dict[str, Any]:
    """Sends each unrelated message to a fresh conversation on a stack of its own; counts order flows."""
    import tempfile

    from tests import processes
    from tests.stack import Stack, started

    texts = [text for text, label, _ in rows if is_unrelated(label)]
    state = Path(tempfile.mkdtemp(prefix="eval-nlu-"))
    flows: List[str] = []
    with processes.commerce_api(f"sqlite:///{state / 'commerce.db'}", state) as api_url, \
            started(Stack, api_url, state, state) as stack:
        for n, text in enumerate(texts):
            said = "\n".join(m.get("text", "") for m in stack.send(f"eval-{n}", text))
            if any(marker in said for marker in ORDER_FLOW_REPLIES):
                flows.append(text)
    return {"unrelated_messages": len(texts), "order_flows_started": len(flows),
            "rate": len(flows) / max(len(texts), 1)}


def markdown(result: Dict[str, Any], source: str, command: str) -> str:
    lines = [
        f"NLU evaluation of `{result['model']}` on `{source}` ({result['messages']} messages), "
        f"{result['generated']} at commit {result['commit']}.",
        f"Command: `{command}`",
        "",
        "| what customers asked | understood |",
        "|---|---|",
    ]
    for intent in MACRO_INTENTS:
        lines.append(f"| {intent} | {100 * result['intent_accuracy'].get(intent, 0):.1f} % |")
    lines += [
        f"| **macro average (the intents above)** | **{result['macro_in_scope']:.3f}** |",
        "",
        f"- Unrelated requests (faq/…, out_of_scope: {result['unrelated_messages']}) read as an order task: "
        f"**{100 * result['unrelated_to_order_flow']:.1f} %**",
    ]
    if "dialogue" in result:
        dialogue = result["dialogue"]
        lines.append(f"- Unrelated requests whose reply started an order flow on the running stack: "
                     f"**{100 * dialogue['rate']:.1f} %** ({dialogue['order_flows_started']} of "
                     f"{dialogue['unrelated_messages']})")
    lines += [
        f"- Entity F1 {result['entity_f1']:.3f} (precision {result['entity_precision']:.3f}, "
        f"recall {result['entity_recall']:.3f})",
        f"- All labels: accuracy {result['overall_accuracy']:.3f}",
        "",
        "Per label:",
        "",
        "| label | accuracy |",
        "|---|---|",
    ]
    lines += [f"| {label} | {value:.2f} |" for label, value in result["intent_accuracy"].items()]
    return "\n".join(lines) + "\n"


def shown_path(path: Path) -> str:
    return str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)


def commit() -> str:
    """The checkout's commit, marked dirty when the working tree has changes (bench.machine.git_info)."""
    info = git_info(ROOT)
    return (info["commit"][:7] or "unknown") + (" (dirty)" if info["dirty"] else "")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "assistant.tar.gz")
    parser.add_argument("--dialogue", action="store_true", help="also count order flows on a running stack")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    from tools import quiet_libraries

    quiet_libraries()
    rows = list(examples(args.set))
    result = {"model": shown_path(args.model), "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "commit": commit(), **evaluate(args.model, rows)}
    if args.dialogue:
        result["dialogue"] = dialogue_order_flows(rows)
    source = shown_path(args.set)
    command = "make eval-nlu" if args.set == DEFAULT_SET and args.dialogue else " ".join(
        ["python -m tools.eval_nlu", *argv])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"set": source, **result}, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(result, source, command))
    print(markdown(result, source, command))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
