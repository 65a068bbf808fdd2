"""Which task the dialogue starts for each order-task message of an evaluation set.

    python -m tools.eval_routing [--set tests/nlu/held_out_customers.yml] [--model models/assistant.tar.gz]

`make eval-nlu` scores the NLU's label. A customer meets what the dialogue does with it: a
multi-intent guess is narrowed to the tasks the words ask for, a fallback whose best guess the
words confirm is served anyway (`actions.dialogue.switching`). This runs that real decision,
`ActionSwitchTask`, on the model's parse of every message labelled with one order task, and
prints per task how often the task it starts is the labelled one. Prints only; CI asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

from tools.eval_nlu import DEFAULT_SET, ORDER_TASKS, ROOT, examples


async def started_form(parsed: Dict[str, Any]) -> Optional[str]:
    """The form ActionSwitchTask follows up with for this parse, as a first message (None: no task)."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.dialogue.switching import ActionSwitchTask, guessed_task_is_asked_for
    from actions.dialogue.turns import read_turn

    tracker = Tracker("eval-routing", {}, parsed, [{"event": "user", "text": parsed.get("text")}], False, None,
                      {}, "action_listen")
    if (parsed.get("intent") or {}).get("name") == "nlu_fallback" and not guessed_task_is_asked_for(
            read_turn(tracker)):
        return None  # the fallback's answer, no task
    events = await ActionSwitchTask().run(CollectingDispatcher(), tracker, {})
    return next((e["name"] for e in events if e.get("event") == "followup" and e["name"] != "action_listen"), None)


async def evaluate(model: Path, path: Path) -> Dict[str, Counter]:
    from rasa.core.agent import Agent

    from actions.dialogue.tasks import load_capabilities, task_for_intent

    load_capabilities()
    agent = Agent.load(str(model))
    counts: Dict[str, Counter] = {task: Counter() for task in sorted(ORDER_TASKS)}
    for text, label, _ in examples(path):
        if label in ORDER_TASKS:
            form = await started_form(await agent.parse_message(text))
            counts[label]["right" if form == task_for_intent(label).form else "wrong"] += 1
    return counts


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "assistant.tar.gz")
    args = parser.parse_args(argv)
    from tools import quiet_libraries

    quiet_libraries()
    counts = asyncio.run(evaluate(args.model, args.set))
    print(f"Task started for the order-task messages of {args.set} ({args.model}):\n")
    print("| labelled | right task started |\n|---|---|")
    shares = []
    for task, count in counts.items():
        total = sum(count.values())
        shares.append(count["right"] / total if total else 0.0)
        print(f"| {task} | {count['right']}/{total} ({100 * shares[-1]:.1f} %) |")
    print(f"| **macro** | **{sum(shares) / len(shares):.3f}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
