"""Conversation analytics from Rasa's event broker: flows, form funnels, fallback, handoff, the gate.

    python -m tools.analytics_report [--endpoints endpoints.yml | --db-url URL] [--senders a,b]
                                     [--out-dir .data/reports]
    make report

Reads the `events` table the SQL event broker writes (endpoints.yml `event_broker`, type
SQL), prints the numbers, and writes `analytics.json` and `analytics.png` to --out-dir.
No personal data is read into the report: only intents, actions and slot names/flags.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from tools import ROOT, configure_environment, quiet_libraries

# The intent that starts each flow, and the form it runs (policy and handoff have none).
FLOW_INTENTS = {
    "track_order": "track_order",
    "request_return": "return",
    "cancel_order": "cancel",
    "change_shipping_address": "address",
    "change_default_address": "saved_address",
    "track_refund": "refund",
    "return_policy": "policy",
    "human_handoff": "handoff",
}
FORM_FLOWS = {
    "track_order_form": "track_order",
    "return_form": "return",
    "cancel_order_form": "cancel",
    "address_form": "address",
    "default_address_form": "saved_address",
    "refund_status_form": "refund",
}
FLOWS = ["track_order", "return", "cancel", "address", "saved_address", "refund", "policy", "handoff"]
# How a form run ended (see FormRun.outcome).
OUTCOMES = ["completed", "nevermind", "handoff", "ended_by_assistant", "left_mid_form"]


@dataclass
class FormRun:
    form: str
    slots_reached: List[str] = field(default_factory=list)
    #: the latest value of each slot set while the form was active
    slot_values: Dict[str, Any] = field(default_factory=dict)
    outcome: Optional[str] = None


@dataclass
class Conversation:
    sender_id: str
    user_messages: int = 0
    fallbacks: int = 0
    flows: set = field(default_factory=set)
    handoff: bool = False
    runs: List[FormRun] = field(default_factory=list)
    confirmations: int = 0
    declines: int = 0


def broker_db_url(endpoints: str) -> str:
    """The SQL event broker's database URL, built the way Rasa builds it."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(endpoints, "event_broker")
    # Rasa's SQL broker, or shop_stores' batching one (same table)
    if config is None or (config.type or "").lower() not in ("sql", "shop_stores.event_broker.batchingsqleventbroker"):
        raise SystemExit(f"{endpoints} has no SQL event_broker; pass --db-url")
    kwargs = {k: v for k, v in config.kwargs.items() if k in ("dialect", "port", "db", "username", "password")}
    return str(SQLTrackerStore.get_db_url(host=config.url, **kwargs))


def read_events(db_url: str, senders: Optional[Iterable[str]] = None) -> Dict[str, List[Dict[str, Any]]]:
    """Every event of the broker's `events` table, grouped by conversation in publishing order."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url)
    if not inspect(engine).has_table("events"):
        engine.dispose()
        raise SystemExit(f"No events table at {db_url}: has Rasa run with the event broker configured?")
    wanted = set(senders) if senders else None
    events: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
    with engine.connect() as connection:
        for sender_id, data in connection.execute(text("SELECT sender_id, data FROM events ORDER BY id")):
            if wanted is None or sender_id in wanted:
                events[sender_id].append(json.loads(data))
    engine.dispose()
    return events


def analyse_conversation(sender_id: str, events: List[Dict[str, Any]]) -> Conversation:
    conversation = Conversation(sender_id)
    run: Optional[FormRun] = None
    last_action: Optional[str] = None
    run_handoff = False
    gate_answer: Optional[bool] = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            conversation.user_messages += 1
            if intent == "nlu_fallback":
                conversation.fallbacks += 1
            if intent in FLOW_INTENTS:
                conversation.flows.add(FLOW_INTENTS[intent])
        elif kind == "action":
            last_action = event.get("name")
            if last_action == "action_handoff_to_human":
                conversation.handoff = run_handoff = True
            elif last_action == "action_resolve_gate":
                # one decision per resolution (the slot event itself is repeated by the form)
                conversation.confirmations += gate_answer is True
                conversation.declines += gate_answer is False
        elif kind == "slot":
            name, value = event.get("name"), event.get("value")
            if name == "handoff_reference" and value:
                conversation.handoff = run_handoff = True
            elif name == "gate_confirmation":
                gate_answer = value
            elif name == "requested_slot" and value and run is not None and value not in run.slots_reached:
                run.slots_reached.append(value)
            if run is not None and name != "requested_slot":
                run.slot_values[name] = value
        elif kind == "active_loop":
            name = event.get("name")
            if name and (run is None or run.form != name):
                if run is not None and run.outcome is None:
                    run.outcome = "left_mid_form"
                run, run_handoff = FormRun(name), False
                conversation.runs.append(run)
                conversation.flows.add(FORM_FLOWS.get(name, name))
            elif name is None and run is not None:
                if run_handoff:
                    run.outcome = "handoff"
                elif last_action == "action_leave_form":
                    run.outcome = "nevermind"
                else:
                    # the form deactivated itself: completed unless a validator halted it
                    run.outcome = "completed_candidate" if last_action == run.form else "ended_by_assistant"
                run = None
    if run is not None and run.outcome is None:
        run.outcome = "left_mid_form"
    return conversation


def build_report(conversations: List[Conversation], form_slots: Dict[str, List[str]]) -> Dict[str, Any]:
    for conversation in conversations:
        for run in conversation.runs:
            if run.outcome == "completed_candidate":
                # the validators set form_halted when they end a form early (verification
                # locked, order not eligible, ...); the verified email itself is never kept
                done = not run.slot_values.get("form_halted")
                run.outcome = "completed" if done else "ended_by_assistant"
    talked = [c for c in conversations if c.user_messages]
    user_messages = sum(c.user_messages for c in talked)
    fallbacks = sum(c.fallbacks for c in talked)
    handoffs = sum(1 for c in talked if c.handoff)
    confirmations = sum(c.confirmations for c in talked)
    declines = sum(c.declines for c in talked)

    funnels: Dict[str, Any] = {}
    for form in sorted({run.form for c in talked for run in c.runs}):
        runs = [run for c in talked for run in c.runs if run.form == form]
        slots = list(form_slots.get(form) or [])
        slots += [s for run in runs for s in run.slots_reached if s not in slots]
        steps = []
        for index, slot in enumerate(slots):
            # reached = got to this question or beyond (several answers in one message skip questions)
            reached = sum(
                1 for run in runs
                if run.outcome == "completed"
                or any(slots.index(s) >= index for s in run.slots_reached)
            )
            steps.append({"slot": slot, "reached": reached})
        outcomes = Counter(run.outcome for run in runs)
        funnels[form] = {"started": len(runs), "steps": steps,
                         **{outcome: outcomes.get(outcome, 0) for outcome in OUTCOMES}}

    def rate(part: int, whole: int) -> Optional[float]:
        return round(part / whole, 4) if whole else None

    return {
        "conversations": len(talked),
        "user_messages": user_messages,
        "conversations_per_flow": {flow: sum(1 for c in talked if flow in c.flows) for flow in FLOWS},
        "forms": funnels,
        "fallback": {"nlu_fallback_messages": fallbacks, "rate": rate(fallbacks, user_messages)},
        "handoff": {"conversations": handoffs, "rate": rate(handoffs, len(talked))},
        "gate": {"confirmed": confirmations, "declined": declines,
                 "confirm_rate": rate(confirmations, confirmations + declines)},
    }


def render_text(report: Dict[str, Any]) -> str:
    def pct(value: Optional[float]) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    lines = [f"Conversations: {report['conversations']}   user messages: {report['user_messages']}", "",
             "Conversations per flow"]
    lines += [f"  {flow:<12} {count}" for flow, count in report["conversations_per_flow"].items()]
    lines += ["", "Form funnels (runs that reached each question, then how they ended)"]
    for form, funnel in report["forms"].items():
        lines.append(f"  {form}: {funnel['started']} started")
        lines += [f"    {step['slot']:<22} {step['reached']}" for step in funnel["steps"]]
        lines.append("    " + "  ".join(f"{outcome} {funnel[outcome]}" for outcome in OUTCOMES))
    fallback, handoff, gate = report["fallback"], report["handoff"], report["gate"]
    lines += [
        "",
        f"Fallback rate: {pct(fallback['rate'])} ({fallback['nlu_fallback_messages']} of "
        f"{report['user_messages']} user messages were nlu_fallback)",
        f"Handoff rate:  {pct(handoff['rate'])} ({handoff['conversations']} of "
        f"{report['conversations']} conversations)",
        f"Gate:          {gate['confirmed']} confirmed, {gate['declined']} declined "
        f"(confirm rate {pct(gate['confirm_rate'])})",
    ]
    return "\n".join(lines)


def draw_chart(report: Dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    forms = list(report["forms"].items())
    panels = len(forms) + 2
    columns = 2
    rows = (panels + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(12, 3.6 * rows), squeeze=False)
    cells = [axis for row in axes for axis in row]

    flows = report["conversations_per_flow"]
    axis = cells[0]
    axis.bar(list(flows), list(flows.values()), color="#4C72B0")
    axis.set_title(f"Conversations per flow ({report['conversations']} conversations)")
    axis.tick_params(axis="x", rotation=30)

    axis = cells[1]
    rates = {"fallback\n(of messages)": report["fallback"]["rate"],
             "handoff\n(of conversations)": report["handoff"]["rate"],
             "gate confirmed\n(of answers)": report["gate"]["confirm_rate"]}
    values = [100 * (value or 0) for value in rates.values()]
    bars = axis.bar(list(rates), values, color=["#C44E52", "#DD8452", "#55A868"])
    for bar, value in zip(bars, rates.values(), strict=True):
        axis.annotate("n/a" if value is None else f"{value:.0%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                      ha="center", va="bottom")
    axis.set_ylim(0, 110)
    axis.set_ylabel("%")
    axis.set_title("Rates")

    for axis, (form, funnel) in zip(cells[2:2 + len(forms)], forms, strict=True):
        labels = ["started"] + [step["slot"] for step in funnel["steps"]] + ["completed"]
        counts = [funnel["started"]] + [step["reached"] for step in funnel["steps"]] + [funnel["completed"]]
        axis.barh(labels[::-1], counts[::-1], color="#8172B3")
        axis.set_title(f"{form}: nevermind {funnel['nevermind']}, handoff {funnel['handoff']}, "
                       f"ended by assistant {funnel['ended_by_assistant']}, left {funnel['left_mid_form']}",
                       fontsize=9)
        axis.set_xlabel("form runs")
    for axis in cells[panels:]:
        axis.axis("off")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def form_required_slots() -> Dict[str, List[str]]:
    from rasa.shared.core.domain import Domain

    domain = Domain.load(str(ROOT / "domain"))
    return {name: list(spec.get("required_slots") or []) for name, spec in domain.forms.items()}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", default=str(ROOT / "endpoints.yml"))
    parser.add_argument("--db-url", help="the event broker's database (default: from --endpoints)")
    parser.add_argument("--senders", help="comma-separated conversation ids to report on (default: all)")
    parser.add_argument("--out-dir", default=".data/reports")
    args = parser.parse_args(argv)
    quiet_libraries()
    configure_environment()

    db_url = args.db_url or broker_db_url(args.endpoints)
    senders = [s for s in (args.senders or "").split(",") if s] or None
    events = read_events(db_url, senders)
    conversations = [analyse_conversation(sender, evs) for sender, evs in events.items()]
    report = build_report(conversations, form_required_slots())

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "analytics.json").write_text(json.dumps(report, indent=2) + "\n")
    draw_chart(report, out_dir / "analytics.png")
    print(render_text(report))
    print(f"\nWritten: {out_dir / 'analytics.json'}, {out_dir / 'analytics.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
